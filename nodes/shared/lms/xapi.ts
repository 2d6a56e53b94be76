import { HttpError } from '../transport/errors';
import { HttpClient, type HttpRequest } from '../transport/http';
import { sharedBucket } from '../transport/rateLimit';
import type {
	AssetSnapshot,
	AssigneeRef,
	AssignmentRequest,
	AssignResult,
	FinalAsset,
	LmsAdapter,
	PlaceholderAsset,
	PushResult,
	RecordingRef,
	TargetAssignment,
} from './types';
import { finalVisibility, isQuarantined, RETRACTED_STATUS, staleFinal, staleRetraction, type StaleReason } from './assetRules';
import {
	actorFor,
	assetStateProfileId,
	buildAssignmentStatement,
	buildFinalStatement,
	buildPlaceholderStatement,
	buildVoidingStatement,
	COMPLETED_VERBS,
	extensionIri,
	finalStatusFor,
	moduleActivityId,
	moduleIdOf,
	recordingActivityId,
	retractedDefinition,
	STARTED_VERBS,
	VERB_ASSIGNED,
	VERB_VOIDED,
	type XapiOutgoingStatement,
	type XapiStatementOptions,
	type XapiStoredStatement,
} from './xapiStatements';

import validateStatement from 'xapi-validation';

export interface XapiCredentials {
	endpoint: string;
	key: string;
	secret: string;
	version: '1.0.3' | '2.0.0';
	requestsPerMinute?: number;
}

/** A statement the validator refused; nothing was sent. */
export class InvalidStatementError extends Error {
	constructor(readonly problems: string[]) {
		super(`The xAPI statement is not valid: ${problems.join('; ')}`);
		this.name = 'InvalidStatementError';
	}
}

export function statementProblems(statement: unknown): string[] {
	return validateStatement(statement).map(
		(warning) => `${(warning.path ?? []).join('.')} (${warning.constructor.name})`,
	);
}

/** Throws InvalidStatementError unless xapi-validation accepts the statement. */
export function assertValid(statement: unknown): void {
	const problems = statementProblems(statement);
	if (problems.length) throw new InvalidStatementError(problems);
}

/** Filters of `GET /statements` (xAPI Communication §2.1.3); `agent` is sent as its JSON. */
export interface StatementQuery {
	agent?: Record<string, unknown>;
	verb?: string;
	activity?: string;
	registration?: string;
	relatedActivities?: boolean;
	relatedAgents?: boolean;
	/** Exclusive, on `stored`. */
	since?: string;
	/** Inclusive, on `stored`. */
	until?: string;
	/** 0 (or none) lets the LRS choose. */
	limit?: number;
	ascending?: boolean;
	format?: 'ids' | 'exact' | 'canonical';
}

export interface StatementPage {
	statements: XapiStoredStatement[];
	more: string;
	consistentThrough?: string;
	/** The LRS had more, but the page budget is spent. */
	truncated: boolean;
}

export interface AssetStateDocument {
	stage: 'placeholder' | 'final' | 'quarantined';
	status: string;
	visibility: 'private' | 'public';
	source: string;
	conversationId: string;
	recordingId: string;
	statementIds: string[];
	object?: unknown;
	mediaUrl?: string;
	mediaUrlExpiresAt?: string;
	updatedAt: string;
	/** Set by stage 2: the evaluation the asset shows and its revision (kept after a retraction). */
	evaluationId?: string;
	revision?: string;
	/** The live final statement; voided ones move to `voidedStatementIds`. */
	finalStatementId?: string;
	voidedStatementIds?: string[];
	score?: number;
	scaled?: number;
	failedCriteria?: string[];
	tags?: string[];
	category?: string;
	assetType?: string;
	courseId?: string;
	[key: string]: unknown;
}

const STAGE_RANK: Record<AssetStateDocument['stage'], number> = { placeholder: 0, final: 1, quarantined: 1 };

/** xAPI 1.0.3 / 2.0 client over the shared transport (statements and Activity Profile documents). */
export class XapiClient {
	private readonly http: HttpClient;
	private readonly base: string;

	constructor(private readonly credentials: XapiCredentials, http?: HttpClient) {
		if (!credentials.endpoint) throw new Error('xAPI LRS credential: Endpoint is empty');
		this.base = credentials.endpoint.endsWith('/') ? credentials.endpoint : `${credentials.endpoint}/`;
		this.http =
			http ?? new HttpClient({ bucket: sharedBucket(`xapi|${this.base}|${credentials.key}`, credentials.requestsPerMinute ?? 600) });
	}

	private headers(extra: Record<string, string> = {}): Record<string, string> {
		const basic = Buffer.from(`${this.credentials.key}:${this.credentials.secret}`).toString('base64');
		return { authorization: `Basic ${basic}`, 'x-experience-api-version': this.credentials.version, ...extra };
	}

	async about(): Promise<{ version: string[] }> {
		const response = await this.http.request<{ version: string[] }>({ method: 'GET', url: `${this.base}about`, headers: this.headers() });
		return response.body;
	}

	/**
	 * `PUT /statements?statementId=` with our deterministic id: 204 when stored, and the LRS must leave an
	 * identical statement alone. A 409 means a statement with this id but other content is already stored.
	 */
	async putStatement(statement: XapiOutgoingStatement, signal?: AbortSignal): Promise<'stored' | 'conflict'> {
		assertValid(statement);
		const response = await this.http.request({
			method: 'PUT',
			url: `${this.base}statements`,
			query: { statementId: statement.id },
			headers: this.headers(),
			body: statement,
			acceptStatus: [409],
			responseType: 'text',
			signal,
		});
		return response.status === 409 ? 'conflict' : 'stored';
	}

	/**
	 * `POST /statements` with a batch (each with its id set, as ADL recommends): 200 with the ids in order.
	 * The LRS stores all or nothing; a 409 means one id is already held with other content.
	 */
	async postStatements(statements: XapiOutgoingStatement[], signal?: AbortSignal): Promise<{ ids: string[]; conflict: boolean }> {
		if (statements.length === 0) return { ids: [], conflict: false };
		const problems = statements.flatMap((statement, i) => statementProblems(statement).map((problem) => `[${i}] ${problem}`));
		if (problems.length) throw new InvalidStatementError(problems);
		const response = await this.http.request<string[]>({
			method: 'POST',
			url: `${this.base}statements`,
			headers: this.headers(),
			body: statements,
			acceptStatus: [409],
			signal,
		});
		if (response.status === 409) return { ids: [], conflict: true };
		return { ids: Array.isArray(response.body) ? response.body : [], conflict: false };
	}

	/** One statement by id; undefined when absent or voided (a voided one is only served by `getVoidedStatement`). */
	async getStatement(statementId: string, signal?: AbortSignal): Promise<XapiStoredStatement | undefined> {
		return this.getSingle({ statementId }, signal);
	}

	/** A voided statement by its id (`?voidedStatementId=`); undefined when absent or not voided. */
	async getVoidedStatement(statementId: string, signal?: AbortSignal): Promise<XapiStoredStatement | undefined> {
		return this.getSingle({ voidedStatementId: statementId }, signal);
	}

	private async getSingle(query: Record<string, string>, signal?: AbortSignal): Promise<XapiStoredStatement | undefined> {
		const response = await this.http.request<XapiStoredStatement>({
			method: 'GET',
			url: `${this.base}statements`,
			query,
			headers: this.headers(),
			acceptStatus: [404],
			signal,
		});
		return response.status === 404 ? undefined : response.body;
	}

	/**
	 * `GET /statements` with filters, one page at a time, following `more` (a relative IRL resolved against
	 * the endpoint) until it is empty or `maxPages` pages were read. Stop early by breaking out of the loop.
	 */
	async *statementPages(query: StatementQuery, options: { maxPages?: number; signal?: AbortSignal } = {}): AsyncGenerator<StatementPage> {
		const maxPages = options.maxPages ?? 20;
		let url = `${this.base}statements`;
		let params: HttpRequest['query'] = {
			agent: query.agent ? JSON.stringify(query.agent) : undefined,
			verb: query.verb,
			activity: query.activity,
			registration: query.registration,
			related_activities: query.relatedActivities ? 'true' : undefined,
			related_agents: query.relatedAgents ? 'true' : undefined,
			since: query.since,
			until: query.until,
			limit: query.limit,
			ascending: query.ascending ? 'true' : undefined,
			format: query.format,
		};
		for (let page = 1; ; page++) {
			const response = await this.http.request<{ statements?: XapiStoredStatement[]; more?: string }>({
				method: 'GET',
				url,
				query: params,
				headers: this.headers(),
				signal: options.signal,
			});
			const more = typeof response.body?.more === 'string' ? response.body.more : '';
			const truncated = more !== '' && page >= maxPages;
			yield {
				statements: Array.isArray(response.body?.statements) ? response.body.statements : [],
				more,
				consistentThrough: response.headers.get('x-experience-api-consistent-through') ?? undefined,
				truncated,
			};
			if (more === '' || truncated) return;
			url = this.resolveMore(more);
			params = undefined;
		}
	}

	/** Every statement of a query (all pages up to `maxPages`); `truncated` when more were left unread. */
	async queryStatements(
		query: StatementQuery,
		options: { maxPages?: number; signal?: AbortSignal } = {},
	): Promise<{ statements: XapiStoredStatement[]; truncated: boolean; pages: number; consistentThrough?: string }> {
		const statements: XapiStoredStatement[] = [];
		let truncated = false;
		let pages = 0;
		let consistentThrough: string | undefined;
		for await (const page of this.statementPages(query, options)) {
			pages++;
			statements.push(...page.statements);
			truncated = page.truncated;
			consistentThrough ??= page.consistentThrough;
		}
		return { statements, truncated, pages, consistentThrough };
	}

	/**
	 * `more` is an IRL relative to the LRS (usually an absolute path such as `/xAPI/statements?cursor=…`).
	 * It must stay on the endpoint's origin: the client sends its credentials with it.
	 */
	private resolveMore(more: string): string {
		const resolved = new URL(more, this.base);
		if (resolved.origin !== new URL(this.base).origin) {
			throw new Error(`The LRS returned a "more" link to another origin (${resolved.origin}); not following it`);
		}
		return resolved.toString();
	}

	async getActivityProfile<T>(activityId: string, profileId: string, signal?: AbortSignal): Promise<{ document: T; etag: string } | undefined> {
		const response = await this.http.request<T>({
			method: 'GET',
			url: `${this.base}activities/profile`,
			query: { activityId, profileId },
			headers: this.headers(),
			acceptStatus: [404],
			signal,
		});
		if (response.status === 404) return undefined;
		return { document: response.body, etag: response.headers.get('etag') ?? '' };
	}

	/** PUT with `If-Match: <etag>` or, for a new document, `If-None-Match: *`; false on 412 (someone else wrote first). */
	async putActivityProfile(activityId: string, profileId: string, document: unknown, etag: string | undefined, signal?: AbortSignal): Promise<boolean> {
		const response = await this.http.request({
			method: 'PUT',
			url: `${this.base}activities/profile`,
			query: { activityId, profileId },
			headers: this.headers(etag ? { 'if-match': etag } : { 'if-none-match': '*' }),
			body: document,
			acceptStatus: [412],
			responseType: 'text',
			signal,
		});
		return response.status !== 412;
	}

	/**
	 * Read-modify-write of an Activity Profile document, retried when a concurrent writer wins.
	 * `change` returning the very document it was given means "leave it": nothing is written.
	 * `firstRead` is the caller's own fresh read (`current` undefined when absent): the first attempt uses it
	 * instead of reading again; its etag still guards the write.
	 */
	async updateActivityProfile<T>(
		activityId: string,
		profileId: string,
		change: (current: T | undefined) => T,
		maxAttempts = 5,
		signal?: AbortSignal,
		firstRead?: { current: { document: T; etag: string } | undefined },
	): Promise<T> {
		for (let attempt = 1; attempt <= maxAttempts; attempt++) {
			const current = attempt === 1 && firstRead ? firstRead.current : await this.getActivityProfile<T>(activityId, profileId, signal);
			const next = change(current?.document);
			if (current && next === current.document) return next;
			if (await this.putActivityProfile(activityId, profileId, next, current?.etag, signal)) return next;
		}
		throw new HttpError(412, 'PUT', `${this.base}activities/profile`, undefined, `The asset state document of ${activityId} kept changing under ${maxAttempts} attempts`);
	}
}

/** Pages of history read per module when deciding whether the agent started or completed it. */
const HISTORY_MAX_PAGES = 10;
/** Pages of assignments read by listAssignments; a longer history fails rather than under-count. */
const ASSIGNMENT_MAX_PAGES = 50;
/** Distinct modules whose progress listAssignments looks up. */
const MAX_MODULES = 100;

const STATE_RANK: Record<TargetAssignment['state'], number> = { unknown: 0, assigned: 1, started: 2, completed: 3 };

export class XapiLmsAdapter implements LmsAdapter {
	readonly target = 'xapi';

	constructor(
		private readonly client: XapiClient,
		private readonly options: XapiStatementOptions,
	) {}

	private profileId(): string {
		return assetStateProfileId(this.options.iriBase);
	}

	async pushPlaceholder(asset: PlaceholderAsset, signal?: AbortSignal): Promise<PushResult> {
		const statement = buildPlaceholderStatement(asset, this.options);
		assertValid(statement);
		const activityId = recordingActivityId(this.options.iriBase, asset);
		// Look first so the result can say whether this push created the asset or found it (a redelivery).
		const existing = await this.client.getStatement(statement.id, signal);
		let outcome: 'existing' | 'stored' | 'conflict' = 'existing';
		let firstRead: { current: { document: AssetStateDocument; etag: string } | undefined } | undefined;
		if (!existing) {
			// The LRS keeps the newest definition of an activity. When the evaluation half got here first, the
			// late stage-1 statement goes without one, so the final definition stays (definitions are not part of
			// a statement's identity, so a retry with the definition is still the same statement).
			firstRead = { current: await this.client.getActivityProfile<AssetStateDocument>(activityId, this.profileId(), signal) };
			const completed = firstRead.current && STAGE_RANK[firstRead.current.document.stage] > STAGE_RANK.placeholder;
			const sent = completed ? { ...statement, object: { objectType: statement.object.objectType, id: statement.object.id } } : statement;
			outcome = await this.client.putStatement(sent, signal);
		}
		const { ref } = asset;
		const document = await this.client.updateActivityProfile<AssetStateDocument>(
			activityId,
			this.profileId(),
			(current) => {
				const statementIds = [...new Set([...(current?.statementIds ?? []), statement.id])];
				// The evaluation half may have completed the asset already: a late stage-1 retry never downgrades it.
				if (current && STAGE_RANK[current.stage] > STAGE_RANK.placeholder) {
					if (current.statementIds?.includes(statement.id)) return current;
					return { ...current, statementIds, updatedAt: new Date().toISOString() };
				}
				return {
					...current,
					stage: 'placeholder',
					// A retraction that arrived first stays visible as such.
					status: current?.status === RETRACTED_STATUS ? RETRACTED_STATUS : 'pending_review',
					visibility: 'private',
					source: ref.source,
					conversationId: ref.conversationId,
					recordingId: ref.recordingId,
					statementIds,
					object: ref.object,
					mediaUrl: asset.mediaLink?.url,
					mediaUrlExpiresAt: asset.mediaLink?.expiresAt,
					updatedAt: new Date().toISOString(),
				};
			},
			5,
			signal,
			firstRead,
		);
		return {
			target: this.target,
			assetId: activityId,
			statementIds: [statement.id],
			created: outcome === 'stored',
			stage: document.stage,
			details: { statementOutcome: outcome, assetState: { stage: document.stage, status: document.status, visibility: document.visibility } },
		};
	}

	/**
	 * Stage 2. The final statement carries the score; the asset state document moves to `final`. A revision at
	 * or below the stored one changes nothing. A higher one (a rescore, or another evaluation replacing the
	 * first) voids the final statement it replaces, so queries only ever see the current score.
	 */
	async pushFinal(asset: FinalAsset, signal?: AbortSignal): Promise<PushResult> {
		const activityId = recordingActivityId(this.options.iriBase, asset);
		let visibility = finalVisibility(asset);
		let statement = buildFinalStatement(asset, visibility, this.options);
		assertValid(statement); // a bad statement fails before any request

		const read = await this.client.getActivityProfile<AssetStateDocument>(activityId, this.profileId(), signal);
		const before = read?.document;
		const early = before && staleFinal(before, asset.revision);
		if (early) return this.staleResult(activityId, before, early, asset.revision);

		if (before?.stage === 'quarantined' && visibility === 'public') {
			visibility = 'private';
			statement = buildFinalStatement(asset, visibility, this.options);
		}
		const existing = await this.client.getStatement(statement.id, signal);
		const outcome = existing ? 'existing' : await this.client.putStatement(statement, signal);

		const voided: string[] = [];
		// Void what the asset showed before: the previous final statement stops counting in every query.
		const previous = before?.finalStatementId;
		if (previous && previous !== statement.id) {
			await this.voidStatement(asset.ref.stateKey, previous, undefined, signal);
			voided.push(previous);
		}

		let lost: { document: AssetStateDocument; reason: StaleReason } | undefined;
		let lateReplaced: string | undefined;
		const { ref, evaluation } = asset;
		const document = await this.client.updateActivityProfile<AssetStateDocument>(
			activityId,
			this.profileId(),
			(current) => {
				lost = undefined;
				lateReplaced = undefined;
				const stale = current && staleFinal(current, asset.revision);
				if (stale) {
					lost = { document: current, reason: stale };
					return current;
				}
				if (current?.finalStatementId && current.finalStatementId !== statement.id && !voided.includes(current.finalStatementId)) {
					lateReplaced = current.finalStatementId;
				}
				const stage = current?.stage === 'quarantined' || isQuarantined(ref) ? 'quarantined' : 'final';
				const effective = stage === 'quarantined' ? 'private' : visibility;
				const replaced = [previous, lateReplaced].filter((id): id is string => !!id && id !== statement.id);
				const next: AssetStateDocument = {
					...current,
					stage,
					status: finalStatusFor(effective),
					visibility: effective,
					source: ref.source,
					conversationId: ref.conversationId,
					recordingId: ref.recordingId,
					statementIds: [...new Set([...(current?.statementIds ?? []).filter((id) => !replaced.includes(id)), statement.id])],
					voidedStatementIds: [...new Set([...(current?.voidedStatementIds ?? []), ...replaced])],
					finalStatementId: statement.id,
					evaluationId: evaluation.id,
					revision: asset.revision,
					score: evaluation.totalScore,
					scaled: statement.result?.score?.scaled,
					failedCriteria: evaluation.criteria.filter((criterion) => criterion.failed).map((criterion) => criterion.id),
					tags: asset.tags,
					category: asset.category,
					assetType: asset.assetType,
					courseId: asset.courseId,
					updatedAt: new Date().toISOString(),
				};
				if (!current) {
					next.object = ref.object;
					next.mediaUrl = asset.mediaLink?.url;
					next.mediaUrlExpiresAt = asset.mediaLink?.expiresAt;
				}
				return dropUndefined(next);
			},
			5,
			signal,
			{ current: read },
		);

		if (lost) {
			// A higher revision was written while this one was on its way: this statement is superseded too.
			if (lost.document.finalStatementId !== statement.id) {
				await this.voidStatement(ref.stateKey, statement.id, undefined, signal);
			}
			return this.staleResult(activityId, lost.document, lost.reason, asset.revision, [statement.id]);
		}
		if (lateReplaced) {
			await this.voidStatement(ref.stateKey, lateReplaced, undefined, signal);
			voided.push(lateReplaced);
		}
		return {
			target: this.target,
			assetId: activityId,
			statementIds: [statement.id],
			created: outcome === 'stored',
			stage: document.stage,
			details: dropUndefined<Record<string, unknown>>({
				statementOutcome: outcome,
				revision: asset.revision,
				previousRevision: before?.revision,
				rescored: voided.length > 0 || undefined,
				voidedStatementIds: voided.length ? voided : undefined,
				assetState: { stage: document.stage, status: document.status, visibility: document.visibility },
			}),
		};
	}

	/**
	 * Withdraws the score: voids the final statement of `evaluationId` (the voiding statement also redefines
	 * the activity as private), and the document goes back to `placeholder`, private, unscored. A retraction
	 * of another evaluation, or older than the stored revision, changes nothing; a repeated one neither.
	 */
	async retractEvaluation(asset: PlaceholderAsset, evaluationId: string, revision: string, signal?: AbortSignal): Promise<PushResult> {
		const activityId = recordingActivityId(this.options.iriBase, asset);
		const { ref } = asset;
		const definition = retractedDefinition(asset, this.options);
		const read = await this.client.getActivityProfile<AssetStateDocument>(activityId, this.profileId(), signal);
		const before = read?.document;
		const early = before && staleRetraction(before, evaluationId, revision);
		if (early) return this.staleResult(activityId, before, early, revision);

		const voided: string[] = [];
		const target = before?.finalStatementId;
		if (target) {
			await this.voidStatement(ref.stateKey, target, { id: activityId, definition }, signal);
			voided.push(target);
		}
		let lost: { document: AssetStateDocument; reason: StaleReason } | undefined;
		let lateTarget: string | undefined;
		const document = await this.client.updateActivityProfile<AssetStateDocument>(
			activityId,
			this.profileId(),
			(current) => {
				lost = undefined;
				lateTarget = undefined;
				const stale = current && staleRetraction(current, evaluationId, revision);
				if (stale) {
					lost = { document: current, reason: stale };
					return current;
				}
				if (current?.finalStatementId && !voided.includes(current.finalStatementId)) lateTarget = current.finalStatementId;
				const withdrawn = [target, lateTarget].filter((id): id is string => !!id);
				const next: AssetStateDocument = {
					...current,
					stage: current?.stage === 'quarantined' ? 'quarantined' : 'placeholder',
					status: RETRACTED_STATUS,
					visibility: 'private',
					source: ref.source,
					conversationId: ref.conversationId,
					recordingId: ref.recordingId,
					statementIds: (current?.statementIds ?? []).filter((id) => !withdrawn.includes(id)),
					voidedStatementIds: [...new Set([...(current?.voidedStatementIds ?? []), ...withdrawn])],
					evaluationId,
					revision,
					tags: asset.tags,
					updatedAt: new Date().toISOString(),
				};
				// The score and what was derived from it go; the revision stays so a late push of it is refused.
				for (const key of ['finalStatementId', 'score', 'scaled', 'failedCriteria', 'assetType'] as const) delete next[key];
				return next;
			},
			5,
			signal,
			{ current: read },
		);
		if (lost) return this.staleResult(activityId, lost.document, lost.reason, revision);
		if (lateTarget) {
			await this.voidStatement(ref.stateKey, lateTarget, { id: activityId, definition }, signal);
			voided.push(lateTarget);
		}
		return {
			target: this.target,
			assetId: activityId,
			statementIds: voided,
			created: before === undefined,
			stage: document.stage,
			details: dropUndefined<Record<string, unknown>>({
				retracted: true,
				evaluationId,
				revision,
				voidedStatementIds: voided,
				assetState: { stage: document.stage, status: document.status, visibility: document.visibility },
			}),
		};
	}

	async findAsset(ref: RecordingRef, signal?: AbortSignal): Promise<AssetSnapshot | undefined> {
		const activityId = recordingActivityId(this.options.iriBase, { ref });
		const found = await this.client.getActivityProfile<AssetStateDocument>(activityId, this.profileId(), signal);
		if (!found || typeof found.document !== 'object' || found.document === null) return undefined;
		const document = found.document;
		return dropUndefined<AssetSnapshot>({
			assetId: activityId,
			stage: document.stage === 'final' || document.stage === 'quarantined' ? document.stage : 'placeholder',
			revision: document.revision,
			evaluationId: document.evaluationId,
			visibility: document.visibility === 'public' ? 'public' : 'private',
			statementIds: Array.isArray(document.statementIds) ? document.statementIds : [],
		});
	}

	/**
	 * The assignment is a statement whose id is the request's assignment id: a retry finds it (GET by id) and
	 * creates nothing. A module the agent has started or completed (by the agent's own statements) is never
	 * assigned again.
	 */
	async assign(request: AssignmentRequest, signal?: AbortSignal): Promise<AssignResult> {
		const statement = buildAssignmentStatement(request, this.options);
		assertValid(statement); // a bad statement fails before any request
		const moduleActivity = statement.object.id;
		const existing = await this.client.getStatement(statement.id, signal);
		const progress = await this.moduleProgress(statement.actor, moduleActivity, signal);
		if (existing) {
			return this.assignResult(request, false, progress.state === 'none' ? 'assigned' : progress.state, {
				existing: true,
				assignedAt: existing.timestamp ?? existing.stored,
				...(progress.statementId ? { progressStatementId: progress.statementId } : {}),
			});
		}
		if (progress.state === 'started' || progress.state === 'completed') {
			return this.assignResult(request, false, progress.state, {
				reason: `module_${progress.state}`,
				detail: `The agent's statement ${progress.statementId} (${progress.verb}) shows ${request.moduleId} as ${progress.state}; it is never assigned again`,
				progressStatementId: progress.statementId,
			});
		}
		const outcome = await this.client.putStatement(statement, signal);
		if (outcome === 'conflict') {
			// Another statement (or a voided earlier one with other content) holds this id: nothing was created.
			return this.assignResult(request, false, 'unknown', { conflict: true });
		}
		return this.assignResult(request, true, 'assigned', { statementId: statement.id });
	}

	private assignResult(request: AssignmentRequest, created: boolean, state: TargetAssignment['state'], details: Record<string, unknown>): AssignResult {
		return {
			target: this.target,
			assignmentId: request.assignmentId,
			created,
			state,
			details: { moduleId: request.moduleId, activityId: moduleActivityId(this.options.iriBase, request.moduleId), ...details },
		};
	}

	/**
	 * The agent's assignments stored since `sinceIso` (the `assigned` verb, all `more` pages), each with the
	 * state the agent's own statements about that module show. Fails rather than return a partial history.
	 */
	async listAssignments(agent: AssigneeRef, sinceIso: string, signal?: AbortSignal): Promise<TargetAssignment[]> {
		const actor = actorFor(agent, this.options);
		const since = new Date(sinceIso);
		if (Number.isNaN(since.getTime())) throw new Error(`listAssignments: "${sinceIso}" is not a timestamp`);
		const result = await this.client.queryStatements(
			{ agent: ifiOnly(actor), verb: VERB_ASSIGNED.id, since: since.toISOString() },
			{ maxPages: ASSIGNMENT_MAX_PAGES, signal },
		);
		if (result.truncated) {
			throw new Error(`The LRS holds more than ${ASSIGNMENT_MAX_PAGES} pages of assignments for agent ${agent.id} since ${sinceIso}; narrow the window`);
		}
		const assignments = result.statements.filter(
			(statement) => statement.verb?.id === VERB_ASSIGNED.id && (statement.object?.objectType ?? 'Activity') === 'Activity' && typeof statement.object?.id === 'string',
		);
		const modules = [...new Set(assignments.map((statement) => statement.object!.id!))];
		if (modules.length > MAX_MODULES) {
			throw new Error(`Agent ${agent.id} has assignments of ${modules.length} modules since ${sinceIso}, more than the ${MAX_MODULES} whose progress can be checked`);
		}
		const progress = new Map<string, TargetAssignment['state']>();
		for (const activity of modules) {
			const found = await this.moduleProgress(actor, activity, signal);
			progress.set(activity, found.state === 'none' ? 'assigned' : found.state);
		}
		const dueExtension = extensionIri(this.options.iriBase, 'due-date');
		return assignments.map((statement) => {
			const activity = statement.object!.id!;
			const due = statement.context?.extensions?.[dueExtension] as { date?: unknown } | string | undefined;
			const dueDate = typeof due === 'string' ? due : typeof due?.date === 'string' ? due.date : undefined;
			return dropUndefined<TargetAssignment>({
				assignmentId: statement.id,
				moduleId: moduleIdOf(this.options.iriBase, activity) ?? activity,
				assignedAt: statement.timestamp ?? statement.stored ?? '',
				state: progress.get(activity) ?? 'unknown',
				dueDate,
			});
		});
	}

	/**
	 * How far the agent got with a module, from the agent's statements about it (or about its parts, through
	 * context activities). completed/passed/mastered/satisfied on the module itself, or a result with
	 * completion, mean completed; attempted/launched/initialized/progressed/resumed/failed mean started.
	 */
	private async moduleProgress(
		actor: Record<string, unknown>,
		activity: string,
		signal?: AbortSignal,
	): Promise<{ state: 'none' | 'started' | 'completed'; statementId?: string; verb?: string }> {
		let best: { state: 'none' | 'started' | 'completed'; statementId?: string; verb?: string } = { state: 'none' };
		const rank = (state: 'none' | 'started' | 'completed') => (state === 'none' ? 0 : STATE_RANK[state]);
		for await (const page of this.client.statementPages(
			{ agent: ifiOnly(actor), activity, relatedActivities: true },
			{ maxPages: HISTORY_MAX_PAGES, signal },
		)) {
			for (const statement of page.statements) {
				const verb = statement.verb?.id ?? '';
				if (verb === VERB_ASSIGNED.id || verb === VERB_VOIDED.id) continue;
				const direct = statement.object?.id === activity;
				let state: 'none' | 'started' | 'completed' = 'none';
				if (direct && (COMPLETED_VERBS.has(verb) || statement.result?.completion === true)) state = 'completed';
				else if (COMPLETED_VERBS.has(verb) || STARTED_VERBS.has(verb) || statement.result?.completion === true) state = 'started';
				if (rank(state) > rank(best.state)) best = { state, statementId: statement.id, verb };
			}
			if (best.state === 'completed') break;
		}
		return best;
	}

	/** Voids `targetId` unless it is voided already; the voiding statement has a deterministic id. */
	private async voidStatement(
		stateKey: string,
		targetId: string,
		activity: { id: string; definition: Record<string, unknown> } | undefined,
		signal?: AbortSignal,
	): Promise<'voided' | 'already_voided'> {
		if (await this.client.getVoidedStatement(targetId, signal)) return 'already_voided';
		const statement = buildVoidingStatement(stateKey, targetId, this.options, activity);
		const { conflict } = await this.client.postStatements([statement], signal);
		if (conflict) {
			// Our voiding id already holds a voiding statement with other context: the target is voided all the same.
			return 'already_voided';
		}
		return 'voided';
	}

	private staleResult(
		activityId: string,
		document: AssetStateDocument,
		reason: StaleReason,
		revision: string,
		supersededStatementIds?: string[],
	): PushResult {
		return {
			target: this.target,
			assetId: activityId,
			statementIds: document.finalStatementId ? [document.finalStatementId] : [],
			created: false,
			stage: document.stage,
			details: dropUndefined<Record<string, unknown>>({
				stale: true,
				reason,
				revision,
				storedRevision: document.revision,
				storedEvaluationId: document.evaluationId,
				supersededStatementIds,
				assetState: { stage: document.stage, status: document.status, visibility: document.visibility },
			}),
		};
	}
}

/** The agent as a query parameter: its identifier only. */
function ifiOnly(actor: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(actor).filter(([key]) => key !== 'name'));
}

function dropUndefined<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
