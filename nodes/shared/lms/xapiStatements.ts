import { CX_TRAINING_NAMESPACE, uuidV5 } from '../ids';
import type { AssignmentRequest, FinalAsset, PlaceholderAsset } from './types';

export const VIDEO_ACTIVITY_TYPE = 'https://w3id.org/xapi/video/activity-type/video';
export const VIDEO_LENGTH_EXTENSION = 'https://w3id.org/xapi/video/extensions/length';
/** ADL verb; lms-apis.md §1 uses "experienced" for a recording entering the LRS. */
export const VERB_EXPERIENCED = {
	id: 'http://adlnet.gov/expapi/verbs/experienced',
	display: { 'en-US': 'experienced' },
};

/** ADL verb for the stage-2 statement: the agent's recording received its QA score. */
export const VERB_SCORED = {
	id: 'http://adlnet.gov/expapi/verbs/scored',
	display: { 'en-US': 'scored' },
};
/** ADL verb of a voiding statement (xAPI Data §2.3.2). */
export const VERB_VOIDED = {
	id: 'http://adlnet.gov/expapi/verbs/voided',
	display: { 'en-US': 'voided' },
};
/**
 * There is no ADL "assigned" verb. This is the published one of the DoD Instructional Systems Design
 * profile (`https://w3id.org/xapi/dod-isd`): "Designate or set something or someone aside for a specific
 * purpose". The actor is the agent the module is assigned to, so the agent's own query finds it.
 */
export const VERB_ASSIGNED = {
	id: 'https://w3id.org/xapi/dod-isd/verbs/assigned',
	display: { 'en-US': 'assigned' },
};

/** Statements about a module that show the agent has completed it: never assign it again. */
export const COMPLETED_VERBS = new Set([
	'http://adlnet.gov/expapi/verbs/completed',
	'http://adlnet.gov/expapi/verbs/passed',
	'http://adlnet.gov/expapi/verbs/mastered',
	'https://w3id.org/xapi/adl/verbs/satisfied',
]);
/** Statements about a module that show the agent has started it: never assign it again. */
export const STARTED_VERBS = new Set([
	'http://adlnet.gov/expapi/verbs/attempted',
	'http://adlnet.gov/expapi/verbs/launched',
	'http://adlnet.gov/expapi/verbs/initialized',
	'http://adlnet.gov/expapi/verbs/progressed',
	'http://adlnet.gov/expapi/verbs/resumed',
	'http://adlnet.gov/expapi/verbs/failed',
]);

export interface XapiStatementOptions {
	/** Base IRI of this organisation's activities and extensions, without a trailing slash. */
	iriBase: string;
	/** `account.homePage` of agents (the contact-center platform). */
	actorHomePage: string;
	/** Identify the agent by e-mail (mbox) instead of the platform account; off by default (no PII). */
	actorByEmail: boolean;
	language: string;
}

export interface XapiStatement {
	id: string;
	actor: Record<string, unknown>;
	verb: { id: string; display: Record<string, string> };
	object: {
		objectType: 'Activity';
		id: string;
		definition: {
			type: string;
			name: Record<string, string>;
			description: Record<string, string>;
			moreInfo?: string;
			extensions: Record<string, unknown>;
		};
	};
	result?: XapiResult;
	context?: Record<string, unknown>;
	timestamp?: string;
}

export interface XapiResult {
	score?: { scaled?: number; raw?: number; min?: number; max?: number };
	success?: boolean;
	completion?: boolean;
	extensions?: Record<string, unknown>;
}

/** A statement that voids another one; its object is a StatementRef (xAPI Data §2.3.2). */
export interface XapiVoidingStatement {
	id: string;
	actor: Record<string, unknown>;
	verb: { id: string; display: Record<string, string> };
	object: { objectType: 'StatementRef'; id: string };
	context?: Record<string, unknown>;
}

/** An assignment: the object is a module activity whose definition the LMS owns. */
export interface XapiAssignmentStatement extends Omit<XapiStatement, 'object'> {
	object: { objectType: 'Activity'; id: string };
}

/** Any statement this package sends. */
export type XapiOutgoingStatement = XapiStatement | XapiVoidingStatement | XapiAssignmentStatement;

/** A statement as an LRS returns it (our own shapes plus whatever other providers wrote). */
export interface XapiStoredStatement {
	id: string;
	actor?: Record<string, unknown>;
	verb?: { id: string; display?: Record<string, string> };
	object?: { objectType?: string; id?: string; definition?: Record<string, unknown> };
	result?: XapiResult;
	context?: { extensions?: Record<string, unknown>; contextActivities?: Record<string, unknown>; [key: string]: unknown };
	timestamp?: string;
	stored?: string;
	[key: string]: unknown;
}

export function extensionIri(iriBase: string, name: string): string {
	return `${iriBase}/xapi/extensions/${name}`;
}

export function assetStateProfileId(iriBase: string): string {
	return `${iriBase}/xapi/profiles/asset-state`;
}

export function recordingActivityId(iriBase: string, asset: Pick<PlaceholderAsset, 'ref'>): string {
	const { source, conversationId, recordingId } = asset.ref;
	return `${iriBase}/recordings/${source}/${conversationId}/${recordingId}`;
}

/** Same recording + stage → same id, so a retried push is a no-op at the LRS. */
export function statementIdFor(stateKey: string, stage: string): string {
	return uuidV5(`${stateKey}:${stage}`, CX_TRAINING_NAMESPACE);
}

/**
 * The stage-1 statement: the agent's recording as a private video activity, `pending_review`.
 * Everything in it derives from the recording, so a retry sends byte-identical content.
 */
export function buildPlaceholderStatement(asset: PlaceholderAsset, options: XapiStatementOptions): XapiStatement {
	const { ref } = asset;
	const lang = options.language;
	const activityId = recordingActivityId(options.iriBase, asset);
	const extensions: Record<string, unknown> = {
		[extensionIri(options.iriBase, 'status')]: 'pending_review',
		[extensionIri(options.iriBase, 'visibility')]: 'private',
		[extensionIri(options.iriBase, 'tags')]: asset.tags,
		[extensionIri(options.iriBase, 'source-ids')]: compact({
			source: ref.source,
			conversationId: ref.conversationId,
			recordingId: ref.recordingId,
			queueId: ref.queue?.id,
			stateKey: ref.stateKey,
		}),
	};
	if (ref.durationSec !== undefined) extensions[VIDEO_LENGTH_EXTENSION] = ref.durationSec;
	const statement: XapiStatement = {
		id: statementIdFor(ref.stateKey, 'placeholder'),
		actor: actorFor(ref.agent, options),
		verb: VERB_EXPERIENCED,
		object: {
			objectType: 'Activity',
			id: activityId,
			definition: {
				type: VIDEO_ACTIVITY_TYPE,
				name: { [lang]: asset.title },
				description: { [lang]: asset.description },
				moreInfo: asset.moreInfoUrl || activityId,
				extensions,
			},
		},
		context: compact({
			platform: platformName(ref.source),
			language: lang,
		}),
	};
	if (ref.startTime) statement.timestamp = ref.startTime;
	return statement;
}

/** Statement id of the final (stage-2) statement of one revision of one evaluation. */
export function finalStatementId(stateKey: string, evaluationId: string, revision: string): string {
	return statementIdFor(stateKey, `final:${evaluationId}:${revision}`);
}

/** One voiding statement per voided statement: a retried void is a no-op at the LRS. */
export function voidingStatementId(stateKey: string, targetId: string): string {
	return statementIdFor(stateKey, `voided:${targetId.toLowerCase()}`);
}

export function moduleActivityId(iriBase: string, moduleId: string): string {
	return `${iriBase}/modules/${encodeURIComponent(moduleId)}`;
}

/** The module id of a module activity IRI we made, undefined for any other activity. */
export function moduleIdOf(iriBase: string, activityId: string | undefined): string | undefined {
	const prefix = `${iriBase}/modules/`;
	if (!activityId || !activityId.startsWith(prefix)) return undefined;
	try {
		return decodeURIComponent(activityId.slice(prefix.length));
	} catch {
		return undefined;
	}
}

/** Who voids statements: this package's pipeline, identified as an account on the activities' base IRI. */
export function pipelineActor(options: XapiStatementOptions): Record<string, unknown> {
	return { objectType: 'Agent', name: 'CX training pipeline', account: { homePage: options.iriBase, name: 'cx-training-pipeline' } };
}

export type FinalStatus = 'published' | 'private_reviewed';

/** Status shown on the activity for a final asset: published when public, reviewed but private otherwise. */
export function finalStatusFor(visibility: 'private' | 'public'): FinalStatus {
	return visibility === 'public' ? 'published' : 'private_reviewed';
}

/**
 * The stage-2 statement: the agent `scored` on the recording, with the QA score as result and the
 * recording's activity definition updated (the LRS keeps the newest definition of an activity).
 * `visibility` is the visibility the asset actually gets (the adapter may hold a requested `public` back).
 * Everything derives from the recording, the evaluation and the revision, so a retry is identical.
 */
export function buildFinalStatement(
	asset: FinalAsset,
	visibility: 'private' | 'public',
	options: XapiStatementOptions,
): XapiStatement {
	const { ref, evaluation } = asset;
	const lang = options.language;
	const activityId = recordingActivityId(options.iriBase, asset);
	const ext = (name: string) => extensionIri(options.iriBase, name);
	const extensions: Record<string, unknown> = {
		[ext('status')]: finalStatusFor(visibility),
		[ext('visibility')]: visibility,
		[ext('tags')]: asset.tags,
		[ext('qa-score')]: evaluation.totalScore,
		[ext('source-ids')]: compact({
			source: ref.source,
			conversationId: ref.conversationId,
			recordingId: ref.recordingId,
			queueId: ref.queue?.id,
			stateKey: ref.stateKey,
		}),
	};
	if (asset.category !== undefined) extensions[ext('category')] = asset.category;
	if (asset.assetType !== undefined) extensions[ext('asset-type')] = asset.assetType;
	if (asset.courseId !== undefined) extensions[ext('course-id')] = asset.courseId;
	if (ref.durationSec !== undefined) extensions[VIDEO_LENGTH_EXTENSION] = ref.durationSec;

	const criteria = evaluation.criteria.map((criterion) =>
		compact({
			id: criterion.id,
			name: criterion.name,
			score: criterion.score,
			maxScore: criterion.maxScore,
			failed: criterion.failed,
			critical: criterion.critical,
		}),
	);
	const failed = evaluation.criteria.filter((criterion) => criterion.failed).map((criterion) => criterion.id);
	const statement: XapiStatement = {
		id: finalStatementId(ref.stateKey, evaluation.id, asset.revision),
		actor: actorFor(ref.agent, options),
		verb: VERB_SCORED,
		object: {
			objectType: 'Activity',
			id: activityId,
			definition: {
				type: VIDEO_ACTIVITY_TYPE,
				name: { [lang]: asset.title },
				description: { [lang]: asset.description },
				moreInfo: asset.moreInfoUrl || activityId,
				extensions,
			},
		},
		result: {
			score: { scaled: round(evaluation.totalScore / 100, 4), raw: evaluation.totalScore, min: 0, max: 100 },
			extensions: {
				[ext('criteria')]: criteria,
				[ext('failed-criteria')]: failed,
			},
		},
		context: compact({
			platform: platformName(ref.source),
			language: lang,
			contextActivities: asset.courseId
				? { grouping: [{ objectType: 'Activity', id: `${options.iriBase}/courses/${encodeURIComponent(asset.courseId)}` }] }
				: undefined,
			extensions: compact({
				[ext('evaluation-id')]: evaluation.id,
				[ext('evaluation-revision')]: asset.revision,
				[ext('evaluation-status')]: evaluation.status,
				[ext('evaluation-form')]: evaluation.formName,
			}),
		}),
	};
	const when = evaluation.evaluatedAt ?? (isIsoInstant(asset.revision) ? asset.revision : undefined);
	if (when) statement.timestamp = when;
	return statement;
}

/**
 * Voids `targetId`. With `activity` the voiding statement also carries the recording activity with its
 * new definition (e.g. private after a retraction): the LRS keeps the newest definition it saw, and a
 * voided statement does not take its definition back.
 */
export function buildVoidingStatement(
	stateKey: string,
	targetId: string,
	options: XapiStatementOptions,
	activity?: { id: string; definition: Record<string, unknown> },
): XapiVoidingStatement {
	const statement: XapiVoidingStatement = {
		id: voidingStatementId(stateKey, targetId),
		actor: pipelineActor(options),
		verb: VERB_VOIDED,
		object: { objectType: 'StatementRef', id: targetId.toLowerCase() },
	};
	if (activity) {
		statement.context = { contextActivities: { other: [{ objectType: 'Activity', ...activity }] } };
	}
	return statement;
}

/** Definition of the recording activity once its evaluation is retracted: private, no score, no tags of the score. */
export function retractedDefinition(asset: PlaceholderAsset, options: XapiStatementOptions): Record<string, unknown> {
	const lang = options.language;
	const activityId = recordingActivityId(options.iriBase, asset);
	const { ref } = asset;
	return {
		type: VIDEO_ACTIVITY_TYPE,
		name: { [lang]: asset.title },
		description: { [lang]: asset.description },
		moreInfo: asset.moreInfoUrl || activityId,
		extensions: {
			[extensionIri(options.iriBase, 'status')]: 'evaluation_retracted',
			[extensionIri(options.iriBase, 'visibility')]: 'private',
			[extensionIri(options.iriBase, 'tags')]: asset.tags,
			[extensionIri(options.iriBase, 'source-ids')]: compact({
				source: ref.source,
				conversationId: ref.conversationId,
				recordingId: ref.recordingId,
				queueId: ref.queue?.id,
				stateKey: ref.stateKey,
			}),
		},
	};
}

/**
 * The assignment statement: the agent was `assigned` the module, due at `dueAt`. Its id is the request's
 * deterministic assignment id, so a retry finds it. No timestamp of our own: the LRS stamps it when stored.
 */
export function buildAssignmentStatement(request: AssignmentRequest, options: XapiStatementOptions): XapiAssignmentStatement {
	const ext = (name: string) => extensionIri(options.iriBase, name);
	const contextExtensions: Record<string, unknown> = {
		[ext('due-date')]: { date: request.dueDate, dueAt: request.dueAt },
		[ext('evaluation-id')]: request.evaluationId,
		[ext('conversation-id')]: request.conversationId,
		[ext('reason')]: request.reason,
	};
	let contextActivities: Record<string, unknown> | undefined;
	if (request.assetId) {
		if (isAbsoluteIri(request.assetId)) {
			contextActivities = { other: [{ objectType: 'Activity', id: request.assetId }] };
		} else {
			contextExtensions[ext('asset-id')] = request.assetId;
		}
	}
	return {
		id: request.assignmentId.toLowerCase(),
		actor: actorFor(request.agent, options),
		verb: VERB_ASSIGNED,
		// No definition: the module belongs to the LMS, and the LRS keeps the newest definition it sees.
		object: { objectType: 'Activity', id: moduleActivityId(options.iriBase, request.moduleId) },
		context: compact({ language: options.language, contextActivities, extensions: contextExtensions }),
	};
}

function isAbsoluteIri(value: string): boolean {
	return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
}

function isIsoInstant(value: string): boolean {
	return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value));
}

function round(value: number, digits: number): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

export function actorFor(agent: { id: string; name?: string; email?: string }, options: XapiStatementOptions): Record<string, unknown> {
	if (options.actorByEmail) {
		if (!agent.email) throw new Error(`Agent ${agent.id} has no e-mail address; turn off "Identify Agent by E-mail"`);
		return { objectType: 'Agent', mbox: `mailto:${agent.email}` };
	}
	return { objectType: 'Agent', account: { homePage: options.actorHomePage, name: agent.id } };
}

function platformName(source: string): string {
	switch (source) {
		case 'genesys-cloud':
			return 'Genesys Cloud';
		case 'nice-cxone':
			return 'NICE CXone';
		case 'genesys-engage':
			return 'Genesys Engage';
		case 'calabrio-one':
			return 'Calabrio ONE';
		default:
			return source;
	}
}

function compact<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
