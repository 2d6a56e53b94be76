import { assertSafeId, isSafeId } from '../../ids';
import type { EvaluationCriterion, RecordingRef } from '../../recordingRef';
import type { GenesysClient } from './client';
import { EventPayloadError } from './events';

/**
 * Genesys Cloud Quality: evaluations and evaluation forms (purecloud-platform-client-v2 QualityApi;
 * models and enums from the Python SDK). Plain module: no n8n types.
 */
export type EvaluationStatus = 'PENDING' | 'INPROGRESS' | 'FINISHED' | 'INREVIEW' | 'RETRACTED';

export interface EvaluationUser {
	id: string;
	name?: string;
	email?: string;
	username?: string;
	selfUri?: string;
}

export interface EvaluationQuestionScore {
	questionId: string;
	answerId?: string;
	/** Unweighted score of the chosen answer (an int in the SDK). */
	score?: number;
	markedNA?: boolean;
	/** Only on kill ("fatal") questions: the answer chosen was not the highest available. */
	failedKillQuestion?: boolean;
	comments?: string;
}

export interface EvaluationQuestionGroupScore {
	questionGroupId: string;
	totalScore?: number;
	maxTotalScore?: number;
	markedNA?: boolean;
	systemMarkedNA?: boolean;
	totalCriticalScore?: number;
	maxTotalCriticalScore?: number;
	totalNonCriticalScore?: number;
	maxTotalNonCriticalScore?: number;
	totalScoreUnweighted?: number;
	maxTotalScoreUnweighted?: number;
	questionScores?: EvaluationQuestionScore[];
}

/** `EvaluationScoringSet`: the REST API sends floats here (the notification topic sends ints). */
export interface EvaluationScoringSet {
	totalScore?: number;
	totalCriticalScore?: number;
	totalNonCriticalScore?: number;
	maxTotalRawScore?: number;
	maxTotalRawCriticalScore?: number;
	anyFailedKillQuestions?: boolean;
	comments?: string;
	privateComments?: string;
	agentComments?: string;
	questionGroupScores?: EvaluationQuestionGroupScore[];
}

export interface EvaluationAnswerOption {
	id: string;
	contextId?: string;
	text?: string;
	value?: number;
}

// The SDK models list these fields without documenting which question types carry answerOptions
// besides multiple choice, nor whether isKill/isCritical apply to other types: both are read defensively.
export interface EvaluationQuestion {
	id: string;
	contextId?: string;
	text?: string;
	helpText?: string;
	type?: string;
	naEnabled?: boolean;
	commentsRequired?: boolean;
	answerOptions?: EvaluationAnswerOption[];
	isKill?: boolean;
	isCritical?: boolean;
}

export interface EvaluationQuestionGroup {
	id: string;
	contextId?: string;
	name?: string;
	type?: string;
	naEnabled?: boolean;
	weight?: number;
	manualWeight?: boolean;
	questions?: EvaluationQuestion[];
}

/** `GET /api/v2/quality/forms/evaluations/{formId}` (one published version of a form). */
export interface EvaluationForm {
	id: string;
	name?: string;
	contextId?: string;
	modifiedDate?: string;
	published?: boolean;
	questionGroups?: EvaluationQuestionGroup[];
	selfUri?: string;
}

export interface EvaluationResponse {
	id: string;
	name?: string;
	conversation?: { id: string; selfUri?: string };
	evaluationForm?: EvaluationForm;
	evaluator?: EvaluationUser;
	agent?: EvaluationUser;
	assignee?: EvaluationUser;
	status?: EvaluationStatus | string;
	answers?: EvaluationScoringSet;
	agentHasRead?: boolean;
	releaseDate?: string;
	assignedDate?: string;
	createdDate?: string;
	changedDate?: string;
	submittedDate?: string;
	conversationDate?: string;
	conversationEndDate?: string;
	neverRelease?: boolean;
	assigned?: boolean;
	rescore?: boolean;
	/** True when the requester lacks permission to see the evaluation's content. */
	redacted?: boolean;
	mediaType?: string[];
	selfUri?: string;
}

export interface EvaluationEntityListing {
	entities?: EvaluationResponse[];
	pageSize?: number;
	pageNumber?: number;
	total?: number;
	pageCount?: number;
	firstUri?: string;
	nextUri?: string;
	previousUri?: string;
	lastUri?: string;
	selfUri?: string;
}

/** The `evaluation` section of a RecordingRef (DESIGN.md §2). */
export type NormalisedEvaluation = NonNullable<RecordingRef['evaluation']>;

export interface EvaluationQuery {
	conversationId?: string;
	agentUserId?: string;
	/** ISO 8601. */
	startTime?: string;
	endTime?: string;
	evaluationState?: EvaluationStatus[];
}

export interface QueryEvaluationsOptions {
	/** Genesys' default page size is 25. */
	pageSize?: number;
	/** Refuse to read more pages than this rather than loop on a listing that never ends. */
	maxPages?: number;
	signal?: AbortSignal;
}

const QUERY_PATH = '/api/v2/quality/evaluations/query';
const DEFAULT_MAX_PAGES = 400;

/** `GET /api/v2/quality/conversations/{cid}/evaluations/{eid}?expand=agent,evaluationForm`. */
export async function getEvaluation(
	client: GenesysClient,
	conversationId: string,
	evaluationId: string,
	signal?: AbortSignal,
): Promise<EvaluationResponse> {
	const cid = assertSafeId('conversationId', conversationId);
	const eid = assertSafeId('evaluationId', evaluationId);
	const { body } = await client.api<EvaluationResponse>({
		method: 'GET',
		path: `/api/v2/quality/conversations/${encodeURIComponent(cid)}/evaluations/${encodeURIComponent(eid)}`,
		query: { expand: 'agent,evaluationForm' },
		signal,
	});
	return body;
}

/**
 * Reads every page of `GET /api/v2/quality/evaluations/query` (answers expanded). Genesys says `total` and
 * `pageCount` may be inaccurate for large results and `nextUri` marks further pages, so both are followed.
 */
export async function queryEvaluations(
	client: GenesysClient,
	query: EvaluationQuery,
	options: QueryEvaluationsOptions = {},
): Promise<EvaluationResponse[]> {
	if (!query.conversationId && !query.agentUserId) {
		throw new Error('An evaluation query needs a Conversation ID or an Agent User ID');
	}
	let params = new URLSearchParams();
	if (query.conversationId) params.set('conversationId', assertSafeId('conversationId', query.conversationId));
	if (query.agentUserId) params.set('agentUserId', assertSafeId('agentUserId', query.agentUserId));
	if (query.startTime) params.set('startTime', query.startTime);
	if (query.endTime) params.set('endTime', query.endTime);
	// evaluationState is a "multi" collection parameter: one repetition per value.
	for (const state of query.evaluationState ?? []) params.append('evaluationState', state);
	params.set('expandAnswerTotalScores', 'true');
	params.set('pageSize', String(options.pageSize ?? 25));
	params.set('pageNumber', '1');

	const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
	const seen = new Set<string>();
	const evaluations: EvaluationResponse[] = [];
	for (let page = 1; ; page++) {
		const { body } = await client.api<EvaluationEntityListing>({
			method: 'GET',
			path: `${QUERY_PATH}?${params.toString()}`,
			signal: options.signal,
		});
		const entities = Array.isArray(body?.entities) ? body.entities : [];
		for (const evaluation of entities) {
			// Pages are sorted by assigned or release date: an evaluation created mid-paging shifts the rest by one.
			if (!evaluation?.id || seen.has(evaluation.id)) continue;
			seen.add(evaluation.id);
			evaluations.push(evaluation);
		}
		const next = nextPageParams(body, params);
		if (!next || entities.length === 0) return evaluations;
		if (page >= maxPages) {
			throw new Error(`The evaluation query has more than ${maxPages} pages; narrow it with a start and end time`);
		}
		params = next;
	}
}

/** The query of the next page, or undefined on the last one. */
function nextPageParams(listing: EvaluationEntityListing | undefined, current: URLSearchParams): URLSearchParams | undefined {
	if (listing?.nextUri) {
		// Only the query string of nextUri is used: the request always goes to the credential's own API host.
		const next = new URL(listing.nextUri, 'https://api.invalid').searchParams;
		// Keep filters nextUri leaves out (answers, states), never override what it says.
		for (const key of new Set(current.keys())) {
			if (!next.has(key)) for (const value of current.getAll(key)) next.append(key, value);
		}
		// A nextUri without a page number or token would ask for the same page again.
		if (next.get('pageNumber') === current.get('pageNumber') && !next.has('nextPage')) {
			next.set('pageNumber', String(Number(current.get('pageNumber')) + 1));
		}
		return next;
	}
	const pageNumber = Number(listing?.pageNumber ?? current.get('pageNumber'));
	const pageCount = Number(listing?.pageCount ?? 0);
	if (!(pageNumber < pageCount)) return undefined;
	const next = new URLSearchParams(current);
	next.set('pageNumber', String(pageNumber + 1));
	return next;
}

interface CachedForm {
	form: EvaluationForm;
	fetchedAt: number;
}

/** Forms change rarely and a page of evaluations names the same few: shared by every execution in this process. */
const FORM_TTL_MS = 10 * 60_000;
const FORM_CACHE_LIMIT = 500;
const formCache = new Map<string, CachedForm>();
const pendingForms = new Map<string, Promise<EvaluationForm>>();

/** `GET /api/v2/quality/forms/evaluations/{formId}`, cached per API base and form id for 10 minutes. */
export async function getEvaluationForm(
	client: GenesysClient,
	formId: string,
	options: { maxAgeMs?: number } = {},
): Promise<EvaluationForm> {
	const id = assertSafeId('evaluationFormId', formId);
	const key = `${client.endpoints.apiBaseUrl}|${id}`;
	const cached = formCache.get(key);
	if (cached && Date.now() - cached.fetchedAt < (options.maxAgeMs ?? FORM_TTL_MS)) return cached.form;
	let pending = pendingForms.get(key);
	if (!pending) {
		// No abort signal: concurrent callers share this request, and one cancelled execution must not fail the others.
		pending = client
			.api<EvaluationForm>({ method: 'GET', path: `/api/v2/quality/forms/evaluations/${encodeURIComponent(id)}` })
			.then(({ body }) => {
				formCache.delete(key);
				if (formCache.size >= FORM_CACHE_LIMIT) formCache.delete(formCache.keys().next().value as string);
				formCache.set(key, { form: body, fetchedAt: Date.now() });
				return body;
			})
			.finally(() => pendingForms.delete(key));
		pendingForms.set(key, pending);
	}
	return pending;
}

/** For tests: forget cached forms. */
export function clearEvaluationFormCache(): void {
	formCache.clear();
}

/**
 * The form an evaluation was scored with: the expanded `evaluationForm` when it carries questions
 * (whether `expand=evaluationForm` always includes them is not documented), else the cached form by id.
 */
export async function evaluationFormFor(
	client: GenesysClient,
	evaluation: EvaluationResponse,
): Promise<EvaluationForm | undefined> {
	const expanded = evaluation.evaluationForm;
	if (expanded?.questionGroups?.some((group) => (group.questions ?? []).length > 0)) return expanded;
	if (!expanded?.id || !isSafeId(expanded.id)) return undefined;
	return getEvaluationForm(client, expanded.id);
}

export interface NormaliseOptions {
	/** A criterion (question group) scoring below this percentage of its maximum is failed. Default 70. */
	criterionThresholdPct?: number;
}

/** Maps a REST evaluation (and its form) onto the RecordingRef `evaluation` section. */
export function normaliseEvaluation(
	evaluation: EvaluationResponse,
	form: EvaluationForm | undefined,
	options: NormaliseOptions = {},
): NormalisedEvaluation {
	const threshold = options.criterionThresholdPct ?? 70;
	if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
		throw new Error(`Criterion failure threshold must be between 0 and 100; got ${threshold}`);
	}
	const groups = new Map((form?.questionGroups ?? []).map((group) => [group.id, group]));
	const scores = evaluation.answers?.questionGroupScores ?? [];
	// Criteria follow the form's order; groups the form does not list come last.
	const order = [...groups.keys()];
	const sorted = [...scores].sort((a, b) => rank(order, a.questionGroupId) - rank(order, b.questionGroupId));
	const criteria: EvaluationCriterion[] = sorted
		.filter((groupScore) => typeof groupScore?.questionGroupId === 'string')
		.map((groupScore) => criterion(groupScore, groups.get(groupScore.questionGroupId), threshold));
	return {
		id: evaluation.id,
		totalScore: clamp(round2(Number(evaluation.answers?.totalScore ?? 0)), 0, 100),
		status: String(evaluation.status ?? '').toUpperCase(),
		released: isReleased(evaluation),
		criteria,
		revision: evaluation.changedDate ?? evaluation.submittedDate ?? evaluation.releaseDate ?? evaluation.createdDate,
		evaluatedAt: evaluation.submittedDate ?? evaluation.releaseDate ?? evaluation.changedDate,
		failedCritical: Boolean(evaluation.answers?.anyFailedKillQuestions) || criteria.some((item) => item.critical),
		formName: form?.name ?? evaluation.evaluationForm?.name,
	};
}

function criterion(
	groupScore: EvaluationQuestionGroupScore,
	group: EvaluationQuestionGroup | undefined,
	thresholdPct: number,
): EvaluationCriterion {
	const score = round2(Number(groupScore.totalScore ?? 0));
	const maxScore = round2(Number(groupScore.maxTotalScore ?? 0));
	const questions = new Map((group?.questions ?? []).map((question) => [question.id, question]));
	let failed = false;
	let critical = false;
	if (!groupScore.markedNA) {
		for (const questionScore of groupScore.questionScores ?? []) {
			if (questionScore.markedNA) continue;
			const question = questions.get(questionScore.questionId);
			const best = bestAnswerValue(question);
			const belowBest = best !== undefined && Number(questionScore.score ?? 0) < best;
			if (questionScore.failedKillQuestion || (question?.isKill && belowBest)) failed = critical = true;
			if (question?.isCritical && belowBest) failed = critical = true;
		}
		if (maxScore > 0 && (score / maxScore) * 100 < thresholdPct) failed = true;
	}
	return { id: groupScore.questionGroupId, name: group?.name ?? groupScore.questionGroupId, score, maxScore, failed, ...(critical ? { critical } : {}) };
}

function bestAnswerValue(question: EvaluationQuestion | undefined): number | undefined {
	const values = (question?.answerOptions ?? []).map((option) => Number(option.value)).filter(Number.isFinite);
	return values.length > 0 ? Math.max(...values) : undefined;
}

/** Released = has a release date and is not set to "Never Release". */
export function isReleased(evaluation: Pick<EvaluationResponse, 'releaseDate' | 'neverRelease'>): boolean {
	return Boolean(evaluation.releaseDate) && !evaluation.neverRelease;
}

export interface TrainingDecision {
	drivesTraining: boolean;
	/** Why not, when it does not. */
	reason?: 'retracted' | 'not-finished' | 'unreleased' | 'redacted';
	/** A rescored evaluation replaces an earlier score: assets built from the old one should be revisited. */
	rescore: boolean;
	/** A retracted evaluation must withdraw whatever it caused. */
	retracted: boolean;
}

export function trainingDecision(
	evaluation: EvaluationResponse,
	options: { includeUnreleased?: boolean } = {},
): TrainingDecision {
	const status = String(evaluation.status ?? '').toUpperCase();
	const retracted = status === 'RETRACTED';
	const rescore = Boolean(evaluation.rescore);
	const no = (reason: TrainingDecision['reason']): TrainingDecision => ({ drivesTraining: false, reason, rescore, retracted });
	if (retracted) return no('retracted');
	if (status !== 'FINISHED') return no('not-finished');
	if (!options.includeUnreleased && !isReleased(evaluation)) return no('unreleased');
	// Without permission the scores are hidden, so they cannot pick training.
	if (evaluation.redacted) return no('redacted');
	return { drivesTraining: true, rescore, retracted };
}

/** False for retracted, unfinished, redacted and (unless asked) unreleased evaluations. */
export function drivesTraining(evaluation: EvaluationResponse, options: { includeUnreleased?: boolean } = {}): boolean {
	return trainingDecision(evaluation, options).drivesTraining;
}

/** The EvaluationItem of the evaluation half (recordingRef.ts), as the Genesys Cloud node outputs it. */
export interface EvaluationSummary {
	source: 'genesys-cloud';
	evaluation: NormalisedEvaluation;
	conversationId?: string;
	agentId?: string;
	agent?: { id: string; name?: string };
	training: TrainingDecision;
}

export function summariseEvaluation(
	evaluation: EvaluationResponse,
	form: EvaluationForm | undefined,
	options: NormaliseOptions & { includeUnreleased?: boolean } = {},
): EvaluationSummary {
	return {
		source: 'genesys-cloud',
		evaluation: normaliseEvaluation(evaluation, form, options),
		conversationId: evaluation.conversation?.id,
		agentId: evaluation.agent?.id,
		...(evaluation.agent?.id ? { agent: { id: evaluation.agent.id, ...(evaluation.agent.name ? { name: evaluation.agent.name } : {}) } } : {}),
		training: trainingDecision(evaluation, options),
	};
}

/**
 * Reads a `v2.quality.evaluations` notification (bare body, `{topicName, eventBody}` or the EventBridge
 * `detail.eventBody`) into the REST shape. Partial: the topic carries only total scores, no group scores,
 * and no `neverRelease`.
 */
export function normaliseQualityEvent(payload: unknown): EvaluationResponse {
	const body = eventBodyOf(payload);
	const id = str(body.id);
	if (!id) throw new Error('The quality evaluation event has no id');
	const conversationId = str(body.conversationId);
	const formId = str(body.evaluationFormId);
	const scoringSet = isRecord(body.scoringSet) ? body.scoringSet : undefined;
	const rescore = typeof body.rescore === 'boolean' ? body.rescore : undefined;
	return dropUndefined({
		id,
		conversation: conversationId ? { id: conversationId } : undefined,
		agent: topicUser(body.agent),
		evaluator: topicUser(body.evaluator),
		evaluationForm: formId ? dropUndefined({ id: formId, name: str(body.formName), contextId: str(body.contextId) }) : undefined,
		// The topic spells statuses in Pascal case (`InProgress`); the REST API in capitals (`INPROGRESS`).
		status: str(body.status)?.toUpperCase(),
		answers: scoringSet
			? dropUndefined({ totalScore: num(scoringSet.totalScore), totalCriticalScore: num(scoringSet.totalCriticalScore) })
			: undefined,
		agentHasRead: typeof body.agentHasRead === 'boolean' ? body.agentHasRead : undefined,
		releaseDate: isoDate(body.releaseDate),
		assignedDate: isoDate(body.assignedDate),
		changedDate: isoDate(body.changedDate),
		conversationDate: isoDate(body.conversationDate),
		rescore,
		mediaType: Array.isArray(body.mediaType) ? body.mediaType.map(String) : undefined,
	}) as EvaluationResponse;
}

function eventBodyOf(payload: unknown): Record<string, unknown> {
	if (!isRecord(payload)) throw new Error('The quality evaluation event is not a JSON object');
	if (isRecord(payload.detail) && isRecord(payload.detail.eventBody)) return payload.detail.eventBody;
	if (isRecord(payload.eventBody)) return payload.eventBody;
	return payload;
}

function topicUser(value: unknown): EvaluationUser | undefined {
	if (!isRecord(value) || !str(value.id)) return undefined;
	return dropUndefined({ id: str(value.id) as string, name: str(value.displayName) ?? str(value.name) });
}

function isoDate(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString();
	return str(value);
}

function num(value: unknown): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const n = Number(value);
	return Number.isFinite(n) ? n : undefined;
}

function str(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropUndefined<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function rank(order: string[], id: string): number {
	const at = order.indexOf(id);
	return at === -1 ? order.length : at;
}

function round2(value: number): number {
	return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}

/** One `v2.quality.evaluations` event as the trigger emits it: the REST-like evaluation plus handy ids. */
export interface QualityEventItem {
	source: 'genesys-cloud';
	kind: 'evaluation';
	evaluationId: string;
	conversationId: string;
	agentId?: string;
	status?: string;
	totalScore?: number;
	released: boolean;
	rescore: boolean;
	retracted: boolean;
	evaluation: EvaluationResponse;
}

/**
 * Reads `v2.quality.evaluations` events from the same transports as conversation events (EventBridge envelope,
 * notification message, bare body; an array gives one item each). Problems name the field, for a 400.
 */
export function parseQualityEvents(payload: unknown): QualityEventItem[] {
	const list = Array.isArray(payload) ? payload : [payload];
	if (list.length === 0) throw new EventPayloadError('body', 'The body is an empty array: no event to process');
	return list.map((entry, index) => {
		const prefix = Array.isArray(payload) ? `[${index}].` : '';
		const path = isRecord(entry) && isRecord(entry.detail) ? 'detail.eventBody.' : isRecord(entry) && isRecord(entry.eventBody) ? 'eventBody.' : '';
		let evaluation: EvaluationResponse;
		try {
			evaluation = normaliseQualityEvent(entry);
		} catch (error) {
			throw new EventPayloadError(`${prefix}${path}id`, (error as Error).message);
		}
		const conversationId = evaluation.conversation?.id;
		if (!isSafeId(conversationId)) {
			throw new EventPayloadError(`${prefix}${path}conversationId`, `${prefix}${path}conversationId is missing or not a safe id`);
		}
		if (!isSafeId(evaluation.id)) throw new EventPayloadError(`${prefix}${path}id`, `${prefix}${path}id is not a safe id`);
		return {
			source: 'genesys-cloud',
			kind: 'evaluation',
			evaluationId: evaluation.id,
			conversationId,
			agentId: evaluation.agent?.id,
			status: evaluation.status,
			totalScore: evaluation.answers?.totalScore,
			released: Boolean(evaluation.releaseDate) && evaluation.neverRelease !== true,
			rescore: evaluation.rescore === true,
			retracted: evaluation.status === 'RETRACTED',
			evaluation,
		};
	});
}
