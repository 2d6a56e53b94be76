import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

import {
	BodyTooLargeError,
	closeServer,
	httpDate,
	listen,
	pathMatcher,
	readBody,
	sendEmpty,
	sendJson,
	streamBody,
} from './httpUtil';
import { syntheticEtag, syntheticMediaStream } from './syntheticMedia';

/** What an API extension sees of one authenticated /api/v2 request; it returns true when it answered. */
export interface SimApiRequest {
	req: IncomingMessage;
	res: ServerResponse;
	url: URL;
	/** Path segments after /api/v2/. */
	segments: string[];
	/** Correlation and rate-limit headers every API answer carries. */
	headers: Record<string, string>;
	contextId: string;
	now: () => number;
	stats: GenesysSimulatorStats;
}

export type SimApiExtension = (request: SimApiRequest) => Promise<boolean>;

/** Builds an extension with access to the simulator's seeded conversations and clock. */
export type SimApiExtensionFactory = (sim: { conversations: () => SimConversation[]; now: () => number }) => SimApiExtension;

export interface GenesysSimulatorOptions {
	/** GETs of a batch download job before it reports Completed (results appear in proportion before that). */
	batchPollsToComplete?: number;
	/** Further API families served by the same simulator (see SimApiExtension). */
	extensions?: SimApiExtensionFactory[];
	clientId?: string;
	clientSecret?: string;
	tokenTtlSec?: number;
	/** Genesys "Recording Playback URL Time-to-live": 2..60 min, default 60 min. */
	mediaUrlTtlSec?: number;
	/** How long after the first recordings request media stays "transcoding" (202). */
	transcodeMs?: number;
	/** Number of 202 answers before the 200 (deterministic alternative to transcodeMs). */
	transcode202Count?: number;
	/** Per token and minute; Genesys' default for client-credentials tokens is 300. */
	rateLimitPerMinute?: number;
	host?: string;
	port?: number;
	orgId?: string;
	orgName?: string;
	/** Genesys Cloud Learning behaviour (modules and assignments are always served). */
	learning?: LearningSimOptions;
}

export type RecordingFileState =
	| 'AVAILABLE'
	| 'RESTORED'
	| 'RESTORING'
	| 'UPLOADING'
	| 'ARCHIVED'
	| 'DELETED'
	| 'ERROR';

export type RecordingMediaSubtype = 'Trunk' | 'Station' | 'Consult' | 'Screen' | 'Snippet';

export interface SimAnnotation {
	id?: string;
	name?: string;
	type?: string;
	location: number;
	durationMs: number;
	absoluteLocation?: number;
	absoluteDurationMs?: number;
	reason?: 'Hold' | 'SecurePause' | 'FlowOrQueue' | 'Pause';
}

export interface SimUser {
	id: string;
	name?: string;
	email?: string;
	username?: string;
}

export interface SimRecording {
	recordingId: string;
	media: 'screen' | 'audio';
	mediaSubtype?: RecordingMediaSubtype;
	users?: SimUser[];
	/** Served as the media body when set. */
	filePath?: string;
	contentType?: string;
	/** Size of the synthetic body when no filePath is given (default 256 KiB). */
	sizeBytes?: number;
	/** Seed of the synthetic body; see syntheticMediaStream. */
	seed?: string;
	fileState?: RecordingFileState;
	annotations?: SimAnnotation[];
	transcodeMs?: number;
	transcode202Count?: number;
	/** With fileState UPLOADING: milliseconds (simulator clock) after seeding until the upload completes. */
	uploadMs?: number;
	/** With fileState ARCHIVED: milliseconds a restore (PUT with a new archiveDate) stays RESTORING. */
	restoreMs?: number;
	startTime?: string;
	endTime?: string;
}

export interface SimParticipant {
	userId?: string;
	participantId?: string;
	purpose: 'agent' | 'customer' | 'acd' | 'ivr';
	name?: string;
	queueId?: string;
}

export interface SimConversation {
	conversationId: string;
	startTime?: string;
	endTime?: string;
	queueId?: string;
	divisionId?: string;
	direction?: 'inbound' | 'outbound' | 'INBOUND' | 'OUTBOUND';
	/** Detail-event mediaType, e.g. VOICE (default). */
	mediaType?: string;
	ani?: string;
	dnis?: string;
	wrapupCode?: string;
	wrapupNotes?: string;
	recordings: SimRecording[];
	participants?: SimParticipant[];
}

export interface GenesysFault {
	/** Whole-path pattern (`*` one segment, `**` any) or a RegExp tested against the path. */
	path: string | RegExp;
	method?: string;
	/** How many matching requests the fault applies to (default 1). */
	count?: number;
	status?: 429 | 500 | 502 | 503 | 504;
	/** For 429: seconds in `Retry-After` (default 1); `null` sends no header. */
	retryAfterSec?: number | null;
	/** Destroy the socket without answering. */
	drop?: boolean;
	/** Media only: send headers and this many body bytes, then destroy the socket. */
	dropAfterBytes?: number;
	/** Moves the simulator clock when the faulty answer ends (e.g. so the signed URL in use expires mid-download). */
	advanceClockMs?: number;
}

export interface GenesysSimulatorStats {
	tokenRequests: number;
	tokensIssued: number;
	apiRequests: number;
	metadataCalls: number;
	recordingListCalls: number;
	recordingGetCalls: number;
	accepted202: number;
	rateLimited429: number;
	faultsInjected: number;
	mediaRequests: number;
	mediaBytesServed: number;
	eventsEmitted: number;
	restoreRequests: number;
	batchRequests: number;
	/** Keyed by `METHOD /path`. */
	byPath: Record<string, number>;
	byStatus: Record<string, number>;
}

/** One request the simulator answered (control endpoints excluded), in arrival order. */
export interface GenesysRequestLogEntry {
	method: string;
	path: string;
	query: string;
	/** 0 until the answer's head goes out, and for a dropped connection. */
	status: number;
	/** When the request arrived: real epoch ms, not the simulator clock. */
	at: number;
	/** The request's Range header (media resumes). */
	range?: string;
	/** The Retry-After header of the answer, if any. */
	retryAfter?: string;
	/** A GenesysFault produced (or broke off) the answer. */
	fault?: boolean;
}

export interface EmitConversationEndOptions {
	webhookUrl: string;
	conversationId: string;
	userId?: string;
	/** `eventbridge`: the AWS EventBridge envelope; `eventBody`: the bare body a workflow data action posts. */
	shape: 'eventbridge' | 'eventBody';
	headers?: Record<string, string>;
	topic?: 'user.end' | 'acw';
}

export interface EmitResult {
	status: number;
	body: string;
	/** The JSON document that was posted. */
	payload: Record<string, unknown>;
}

export interface GenesysSimulator {
	readonly baseUrl: string;
	readonly loginUrl: string;
	readonly port: number;
	readonly orgId: string;
	readonly clientId: string;
	readonly clientSecret: string;
	readonly stats: GenesysSimulatorStats;
	/** Every API, token and media request so far (e.g. to check that a Retry-After was honoured). */
	readonly requests: GenesysRequestLogEntry[];
	close(): Promise<void>;
	seedConversation(conversation: SimConversation): void;
	setFault(fault: GenesysFault): void;
	clearFaults(): void;
	emitConversationEnd(options: EmitConversationEndOptions): Promise<EmitResult>;
	/** Moves the simulator clock (token expiry, signed-URL expiry, transcode timers). */
	advanceTime(ms: number): void;
	/** A freshly signed media URL, as the recordings GET would return it. */
	signMediaUrl(conversationId: string, recordingId: string, formatId?: string): string;
	resetStats(): void;
	/** Learning modules and assignments held by the simulator. */
	readonly learning: GenesysLearningSimulator;
}

interface TokenState {
	expiresAt: number;
	windowStart: number;
	count: number;
}

interface RecordingState {
	seededAt: number;
	restoreRequestedAt?: number;
	firstRequestedAt?: number;
	served202: number;
	sessionId: string;
	annotationIds: string[];
}

interface ConversationState {
	conversation: SimConversation;
	startTime: string;
	endTime: string;
	recordings: Map<string, RecordingState>;
}

interface ActiveFault extends GenesysFault {
	remaining: number;
	matches: (path: string) => boolean;
}

const FORMAT_IDS = ['WEBM', 'WAV', 'WAV_ULAW', 'OGG_VORBIS', 'OGG_OPUS', 'MP3', 'NONE'];
const PLAYABLE_STATES: RecordingFileState[] = ['AVAILABLE', 'RESTORED'];
// The SDK documents maxWaitMs with a default of 5000.
const DEFAULT_MAX_WAIT_MS = 5000;
const MAX_HOLD_MS = 10_000;
const DEFAULT_SYNTHETIC_SIZE = 256 * 1024;
const REGION = 'us-east-1';

function emptyStats(): GenesysSimulatorStats {
	return {
		tokenRequests: 0,
		tokensIssued: 0,
		apiRequests: 0,
		metadataCalls: 0,
		recordingListCalls: 0,
		recordingGetCalls: 0,
		accepted202: 0,
		rateLimited429: 0,
		faultsInjected: 0,
		mediaRequests: 0,
		mediaBytesServed: 0,
		eventsEmitted: 0,
		restoreRequests: 0,
		batchRequests: 0,
		byPath: {},
		byStatus: {},
	};
}

/** Stable UUID-shaped id derived from a name, so repeated events carry the same ids. */
function stableUuid(name: string): string {
	const hex = createHash('sha256').update(name).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function amzDate(ms: number): string {
	return new Date(Math.floor(ms / 1000) * 1000)
		.toISOString()
		.replace(/[-:]/g, '')
		.replace('.000', '');
}

function parseAmzDate(value: string): number | undefined {
	const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
	if (!m) return undefined;
	return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function s3Error(code: string, message: string, extra: Record<string, string> = {}): string {
	const fields = Object.entries(extra)
		.map(([key, value]) => `<${key}>${value}</${key}>`)
		.join('');
	return (
		'<?xml version="1.0" encoding="UTF-8"?>\n' +
		`<Error><Code>${code}</Code><Message>${message}</Message>${fields}` +
		`<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId>` +
		`<HostId>${randomBytes(24).toString('base64')}</HostId></Error>`
	);
}

function mediaFormat(
	recording: SimRecording,
	formatId: string,
): { extension: string; contentType: string } {
	// Screen recordings are only delivered as WEBM; what other formatIds do to them is not documented.
	if (recording.media === 'screen') return { extension: 'webm', contentType: 'video/webm' };
	switch (formatId) {
		case 'OGG_OPUS':
			return { extension: 'opus', contentType: 'audio/ogg' };
		case 'OGG_VORBIS':
			return { extension: 'ogg', contentType: 'audio/ogg' };
		case 'WAV':
		case 'WAV_ULAW':
			return { extension: 'wav', contentType: 'audio/wav' };
		case 'MP3':
			return { extension: 'mp3', contentType: 'audio/mpeg' };
		default:
			return { extension: 'webm', contentType: 'audio/webm' };
	}
}

const EXTENSION_CONTENT_TYPES: Record<string, string> = {
	webm: 'audio/webm',
	opus: 'audio/ogg',
	ogg: 'audio/ogg',
	wav: 'audio/wav',
	mp3: 'audio/mpeg',
};

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

function parseRange(header: string | undefined, size: number): ByteRange {
	if (!header) return undefined;
	const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	// Malformed or multi-range headers are ignored (full body), as RFC 9110 allows.
	if (!m || (m[1] === '' && m[2] === '')) return undefined;
	if (m[1] === '') {
		const suffix = Number(m[2]);
		if (suffix === 0 || size === 0) return 'unsatisfiable';
		return { start: Math.max(0, size - suffix), end: size - 1 };
	}
	const start = Number(m[1]);
	const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
	if (start >= size || end < start) return 'unsatisfiable';
	return { start, end };
}

/* ------------------------------------------------------------------------------------------------------------
 * Genesys Cloud Learning (`/api/v2/learning/…`): modules (create, get, list by externalIds, update, publish,
 * delete) and assignments (create, get, list with userId/moduleId/interval/states, state changes set by a test).
 * Shapes follow the SDK models (LearningModule, LearningAssignment, *DomainEntityListing).
 * ---------------------------------------------------------------------------------------------------------- */

export type SimLearningAssignmentState = 'Assigned' | 'InProgress' | 'Completed' | 'Deleted' | 'NotCompleted' | 'InvalidSchedule';

export interface SimInformStep {
	type: 'Url' | 'Content' | 'GenesysBuiltInCourse' | 'RichText' | 'Scorm';
	name?: string;
	value?: string;
	sharingUri?: string;
	contentType?: string;
	order: number;
	displayName?: string;
	description?: string;
}

export interface SimLearningModule {
	id: string;
	name: string;
	description?: string;
	version: number;
	externalId?: string;
	source: 'UserCreated' | 'Custom';
	type?: string;
	isPublished: boolean;
	isArchived: boolean;
	completionTimeInDays: number;
	informSteps: SimInformStep[];
	excludedFromCatalog?: boolean;
	lengthInMinutes?: number;
	dateCreated: string;
	dateModified: string;
	selfUri: string;
	/** Simulator bookkeeping: how often the module was published and updated. */
	publishCount: number;
	updateCount: number;
}

export interface SimLearningAssignment {
	id: string;
	state: SimLearningAssignmentState;
	isOverdue: boolean;
	dateRecommendedForCompletion: string;
	dateCreated: string;
	dateModified: string;
	dateCompleted?: string;
	module: { id: string; name: string; version: number; selfUri: string };
	user: { id: string; selfUri: string };
	version: number;
	selfUri: string;
}

export interface GenesysLearningSimulator {
	modules(): SimLearningModule[];
	assignments(): SimLearningAssignment[];
	/** Moves an assignment to another state, as the learner (or Genesys) would. */
	setAssignmentState(assignmentId: string, state: SimLearningAssignmentState): void;
	/** A published module created outside the pipeline (e.g. a remedial course). */
	seedModule(module: Partial<SimLearningModule> & { name: string }): SimLearningModule;
	/** Runs once just before the next module create is stored (e.g. a concurrent writer winning). */
	beforeNextModuleCreate(hook: (body: Record<string, unknown>) => void): void;
	readonly stats: { moduleCreates: number; moduleUpdates: number; publishes: number; assignmentCreates: number; lookups: number };
}

export interface LearningSimOptions {
	/**
	 * What a second module with an existing externalId gets. Genesys does not document it; `allow` (default) stores
	 * a duplicate, `reject` answers 409, so clients can be tested against both.
	 */
	duplicateExternalId?: 'allow' | 'reject';
}

const INFORM_STEP_TYPES = ['Url', 'Content', 'GenesysBuiltInCourse', 'RichText', 'Scorm'];
const LISTED_ASSIGNMENT_STATES: SimLearningAssignmentState[] = ['Assigned', 'InProgress', 'Completed', 'NotCompleted', 'InvalidSchedule'];

function multiValued(query: URLSearchParams, name: string): string[] {
	return query
		.getAll(name)
		.flatMap((value) => value.split(','))
		.map((value) => value.trim())
		.filter(Boolean);
}

function createLearningSimulator(now: () => number, options: LearningSimOptions) {
	const modules = new Map<string, SimLearningModule>();
	const assignments = new Map<string, SimLearningAssignment>();
	const stats = { moduleCreates: 0, moduleUpdates: 0, publishes: 0, assignmentCreates: 0, lookups: 0 };
	let createHook: ((body: Record<string, unknown>) => void) | undefined;
	const iso = () => new Date(now()).toISOString();

	function reply(request: SimApiRequest, status: number, body: unknown): true {
		if (status === 204) sendEmpty(request.res, 204, request.headers);
		else sendJson(request.res, status, body, request.headers);
		return true;
	}

	function fail(request: SimApiRequest, status: number, code: string, message: string): true {
		return reply(request, status, { message, code, status, contextId: request.contextId, details: [], errors: [] });
	}

	async function json(request: SimApiRequest): Promise<Record<string, unknown> | undefined> {
		const text = (await readBody(request.req)).toString('utf8');
		try {
			const parsed: unknown = text ? JSON.parse(text) : {};
			return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
		} catch {
			return undefined;
		}
	}

	/** Problems of a LearningModuleRequest (name, completionTimeInDays and each step's order are required). */
	function moduleProblems(body: Record<string, unknown>): string[] {
		const problems: string[] = [];
		if (typeof body.name !== 'string' || !body.name.trim()) problems.push('name is required');
		if (typeof body.completionTimeInDays !== 'number' || !Number.isInteger(body.completionTimeInDays) || body.completionTimeInDays < 1) {
			problems.push('completionTimeInDays is required and must be a positive integer');
		}
		const steps = body.informSteps ?? [];
		if (!Array.isArray(steps)) problems.push('informSteps must be a list');
		else {
			for (const [i, step] of (steps as Array<Record<string, unknown>>).entries()) {
				if (!INFORM_STEP_TYPES.includes(String(step?.type))) problems.push(`informSteps[${i}].type is invalid`);
				if (typeof step?.order !== 'number') problems.push(`informSteps[${i}].order is required`);
				if (step?.type === 'Url' && (typeof step.value !== 'string' || !/^https?:\/\//.test(step.value))) problems.push(`informSteps[${i}].value must be a URL`);
			}
		}
		return problems;
	}

	function moduleJson(module: SimLearningModule): Record<string, unknown> {
		const { publishCount: _p, updateCount: _u, ...rest } = module;
		return rest;
	}

	function assignmentJson(assignment: SimLearningAssignment): SimLearningAssignment {
		const due = Date.parse(assignment.dateRecommendedForCompletion);
		const open = assignment.state === 'Assigned' || assignment.state === 'InProgress';
		return { ...assignment, isOverdue: open && due < now() };
	}

	function listing<T>(request: SimApiRequest, all: T[], path: string): true {
		const pageSize = Math.min(100, Math.max(1, Number(request.url.searchParams.get('pageSize') ?? 25) || 25));
		const pageNumber = Math.max(1, Number(request.url.searchParams.get('pageNumber') ?? 1) || 1);
		const pageCount = Math.max(1, Math.ceil(all.length / pageSize));
		const params = new URLSearchParams(request.url.searchParams);
		const uri = (page: number) => {
			params.set('pageNumber', String(page));
			params.set('pageSize', String(pageSize));
			return `${path}?${params.toString()}`;
		};
		return reply(request, 200, {
			entities: all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
			pageSize,
			pageNumber,
			total: all.length,
			pageCount,
			firstUri: uri(1),
			lastUri: uri(pageCount),
			selfUri: uri(pageNumber),
			...(pageNumber < pageCount ? { nextUri: uri(pageNumber + 1) } : {}),
			...(pageNumber > 1 ? { previousUri: uri(pageNumber - 1) } : {}),
		});
	}

	function storeModule(body: Record<string, unknown>, existing?: SimLearningModule): SimLearningModule {
		const at = iso();
		const id = existing?.id ?? randomUUID();
		const module: SimLearningModule = {
			id,
			name: String(body.name),
			description: typeof body.description === 'string' ? body.description : undefined,
			version: (existing?.version ?? 0) + 1,
			externalId: typeof body.externalId === 'string' ? body.externalId : existing?.externalId,
			source: 'Custom',
			type: typeof body.type === 'string' ? body.type : (existing?.type ?? 'Native'),
			// An edit leaves a draft that needs publishing again (how Genesys versions edits is not documented).
			isPublished: false,
			isArchived: false,
			completionTimeInDays: Number(body.completionTimeInDays),
			informSteps: ((body.informSteps as SimInformStep[] | undefined) ?? []).map((step) => ({ ...step })),
			excludedFromCatalog: typeof body.excludedFromCatalog === 'boolean' ? body.excludedFromCatalog : undefined,
			lengthInMinutes: typeof body.lengthInMinutes === 'number' ? body.lengthInMinutes : undefined,
			dateCreated: existing?.dateCreated ?? at,
			dateModified: at,
			selfUri: `/api/v2/learning/modules/${id}`,
			publishCount: existing?.publishCount ?? 0,
			updateCount: existing ? existing.updateCount + 1 : 0,
		};
		modules.set(id, module);
		return module;
	}

	function parseInterval(value: string): { start: number; end: number } | undefined {
		const [startText, endText, extra] = value.split('/');
		if (!startText || !endText || extra !== undefined) return undefined;
		const start = Date.parse(startText);
		const end = Date.parse(endText);
		if (Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
		// Milliseconds are truncated.
		return { start: Math.floor(start / 1000) * 1000, end: Math.floor(end / 1000) * 1000 };
	}

	async function handle(request: SimApiRequest): Promise<boolean> {
		const { req, segments } = request;
		if (segments[0] !== 'learning') return false;
		const method = (req.method ?? 'GET').toUpperCase();
		const query = request.url.searchParams;
		const notFound = () => fail(request, 404, 'not.found', 'The requested resource was not found.');
		const bad = (message: string) => fail(request, 400, 'bad.request', message);

		if (segments[1] === 'modules') {
			const id = segments[2];
			if (!id && method === 'GET') {
				stats.lookups += 1;
				const externalIds = multiValued(query, 'externalIds');
				if (externalIds.length > 1) return bad('Only one external ID is allowed');
				const archived = query.get('isArchived') === 'true';
				const published = query.get('isPublished');
				const all = [...modules.values()]
					.filter((m) => m.isArchived === archived)
					.filter((m) => externalIds.length === 0 || m.externalId === externalIds[0])
					.filter((m) => !published || published === 'Any' || String(m.isPublished) === published.toLowerCase())
					.sort((a, b) => a.name.localeCompare(b.name))
					.map(moduleJson);
				return listing(request, all, '/api/v2/learning/modules');
			}
			if (!id && method === 'POST') {
				const body = await json(request);
				if (!body) return bad('The request could not be understood by the server due to malformed syntax.');
				const problems = moduleProblems(body);
				if (problems.length) return bad(problems.join('; '));
				const hook = createHook;
				createHook = undefined;
				hook?.(body);
				if (options.duplicateExternalId === 'reject' && typeof body.externalId === 'string' && [...modules.values()].some((m) => m.externalId === body.externalId && !m.isArchived)) {
					return fail(request, 409, 'learning.module.external.id.conflict', `A module with externalId ${body.externalId} already exists`);
				}
				stats.moduleCreates += 1;
				return reply(request, 200, moduleJson(storeModule(body)));
			}
			const module = id ? modules.get(id) : undefined;
			if (!module) return notFound();
			if (segments.length === 3 && method === 'GET') return reply(request, 200, moduleJson(module));
			if (segments.length === 3 && method === 'PUT') {
				const body = await json(request);
				if (!body) return bad('The request could not be understood by the server due to malformed syntax.');
				const problems = moduleProblems(body);
				if (problems.length) return bad(problems.join('; '));
				stats.moduleUpdates += 1;
				return reply(request, 200, moduleJson(storeModule(body, module)));
			}
			if (segments.length === 3 && method === 'DELETE') {
				modules.delete(module.id);
				return reply(request, 204, undefined);
			}
			if (segments.length === 4 && segments[3] === 'publish' && method === 'POST') {
				const body = (await json(request)) ?? {};
				stats.publishes += 1;
				module.isPublished = true;
				module.publishCount += 1;
				module.dateModified = iso();
				return reply(request, 200, { id: module.id, version: module.version, termsAndConditionsAccepted: body.termsAndConditionsAccepted === true, selfUri: module.selfUri });
			}
			return notFound();
		}

		if (segments[1] === 'assignments') {
			const id = segments[2];
			if (!id && method === 'GET') {
				stats.lookups += 1;
				const userIds = multiValued(query, 'userId');
				if (userIds.length > 100) return bad('At most 100 user IDs can be queried');
				const moduleId = query.get('moduleId');
				const states = multiValued(query, 'states');
				const intervalText = query.get('interval');
				const interval = intervalText ? parseInterval(intervalText) : undefined;
				if (intervalText && !interval) return bad('interval must be an ISO-8601 interval start/end');
				if (interval && interval.end - interval.start > 366 * 86_400_000) return bad('A maximum of 1 year can be specified in the interval');
				const all = [...assignments.values()]
					.filter((a) => LISTED_ASSIGNMENT_STATES.includes(a.state))
					.filter((a) => userIds.length === 0 || userIds.includes(a.user.id))
					.filter((a) => !moduleId || a.module.id === moduleId)
					.filter((a) => states.length === 0 || states.includes(a.state))
					// The interval selects by due date (recommended completion date); its end is not inclusive.
					.filter((a) => {
						if (!interval) return true;
						const due = Date.parse(a.dateRecommendedForCompletion);
						return due >= interval.start && due < interval.end;
					})
					.sort((a, b) => b.dateRecommendedForCompletion.localeCompare(a.dateRecommendedForCompletion) || a.id.localeCompare(b.id))
					.map(assignmentJson);
				return listing(request, all, '/api/v2/learning/assignments');
			}
			if (!id && method === 'POST') {
				const body = await json(request);
				if (!body) return bad('The request could not be understood by the server due to malformed syntax.');
				if (typeof body.moduleId !== 'string' || typeof body.userId !== 'string') return bad('moduleId and userId are required');
				const module = modules.get(body.moduleId);
				if (!module) return fail(request, 404, 'learning.module.not.found', 'The learning module was not found.');
				if (!module.isPublished) return bad('The learning module is not published');
				const recommended = typeof body.recommendedCompletionDate === 'string' ? Date.parse(body.recommendedCompletionDate) : now() + module.completionTimeInDays * 86_400_000;
				if (Number.isNaN(recommended)) return bad('recommendedCompletionDate must be an ISO-8601 date-time');
				const at = iso();
				const assignmentId = randomUUID();
				const assignment: SimLearningAssignment = {
					id: assignmentId,
					state: 'Assigned',
					isOverdue: false,
					dateRecommendedForCompletion: new Date(recommended).toISOString(),
					dateCreated: at,
					dateModified: at,
					module: { id: module.id, name: module.name, version: module.version, selfUri: module.selfUri },
					user: { id: body.userId, selfUri: `/api/v2/users/${body.userId}` },
					version: 1,
					selfUri: `/api/v2/learning/assignments/${assignmentId}`,
				};
				assignments.set(assignmentId, assignment);
				stats.assignmentCreates += 1;
				return reply(request, 200, assignmentJson(assignment));
			}
			const assignment = id ? assignments.get(id) : undefined;
			if (!assignment || assignment.state === 'Deleted' || segments.length !== 3) return notFound();
			if (method === 'GET') return reply(request, 200, assignmentJson(assignment));
			if (method === 'DELETE') {
				// Genesys refuses to delete an assignment that is under way (exact error code not documented).
				if (assignment.state !== 'Assigned') return bad('Only an assignment in state Assigned can be deleted');
				assignment.state = 'Deleted';
				return reply(request, 204, undefined);
			}
			return notFound();
		}
		return false;
	}

	const api: GenesysLearningSimulator = {
		modules: () => [...modules.values()],
		assignments: () => [...assignments.values()],
		setAssignmentState(assignmentId, state) {
			const assignment = assignments.get(assignmentId);
			if (!assignment) throw new Error(`No learning assignment ${assignmentId}`);
			if (![...LISTED_ASSIGNMENT_STATES, 'Deleted'].includes(state)) throw new Error(`Unknown assignment state ${String(state)}`);
			assignment.state = state;
			assignment.version += 1;
			assignment.dateModified = iso();
			if (state === 'Completed') assignment.dateCompleted = iso();
		},
		seedModule(partial) {
			const module = storeModule({ completionTimeInDays: 7, informSteps: [], ...partial });
			Object.assign(module, { isPublished: true, publishCount: 1 }, partial.isPublished === false ? { isPublished: false } : {});
			return module;
		},
		beforeNextModuleCreate(hook) {
			createHook = hook;
		},
		stats,
	};
	return { handle, api };
}

export async function startGenesysSimulator(
	options: GenesysSimulatorOptions = {},
): Promise<GenesysSimulator> {
	const clientId = options.clientId ?? 'sim-client';
	const clientSecret = options.clientSecret ?? 'sim-secret';
	const tokenTtlSec = options.tokenTtlSec ?? 86400;
	const mediaUrlTtlSec = options.mediaUrlTtlSec ?? 3600;
	const defaultTranscodeMs = options.transcodeMs ?? 0;
	const defaultTranscode202Count = options.transcode202Count ?? 0;
	const rateLimit = options.rateLimitPerMinute ?? 300;
	const host = options.host ?? '127.0.0.1';
	const orgId = options.orgId ?? randomUUID();
	const orgName = options.orgName ?? 'CX Training Simulator';
	const signingKey = randomBytes(32);
	// Access key id shown in signed URLs; the value is irrelevant to clients.
	const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;

	let clockOffsetMs = 0;
	const now = () => Date.now() + clockOffsetMs;
	const tokens = new Map<string, TokenState>();
	const batchJobs = new Map<string, { requests: Array<{ conversationId?: string; recordingId?: string }>; polls: number }>();
	const batchPollsToComplete = options.batchPollsToComplete ?? 2;
	const conversations = new Map<string, ConversationState>();
	const recordingStates = new WeakMap<SimRecording, RecordingState>();
	// Further API families (quality, analytics, batch requests) plug in here; each answers the requests it owns.
	const extensions: SimApiExtension[] = (options.extensions ?? []).map((create) => create({ conversations: () => [...conversations.values()].map((c) => c.conversation), now }));
	const learning = createLearningSimulator(now, options.learning ?? {});
	let faults: ActiveFault[] = [];
	let stats = emptyStats();
	const requests: GenesysRequestLogEntry[] = [];
	const holds = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
	let baseUrl = '';

	function sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const hold = {
				timer: setTimeout(() => {
					holds.delete(hold);
					resolve();
				}, ms),
				resolve,
			};
			holds.add(hold);
		});
	}

	function seedConversation(conversation: SimConversation): void {
		if (!conversation?.conversationId) throw new Error('conversationId is required');
		const endTime = conversation.endTime ?? new Date(now()).toISOString();
		const startTime =
			conversation.startTime ?? new Date(Date.parse(endTime) - 5 * 60_000).toISOString();
		const recordings = new Map<string, RecordingState>();
		for (const recording of conversation.recordings ?? []) {
			const rs: RecordingState = {
				seededAt: now(),
				served202: 0,
				sessionId: stableUuid(`session:${conversation.conversationId}:${recording.recordingId}`),
				annotationIds: (recording.annotations ?? []).map(
					(a, i) => a.id ?? stableUuid(`annotation:${recording.recordingId}:${i}`),
				),
			};
			recordings.set(recording.recordingId, rs);
			recordingStates.set(recording, rs);
		}
		conversations.set(conversation.conversationId, {
			conversation: { ...conversation, recordings: [...(conversation.recordings ?? [])] },
			startTime,
			endTime,
			recordings,
		});
	}

	function setFault(fault: GenesysFault): void {
		faults.push({ ...fault, remaining: fault.count ?? 1, matches: pathMatcher(fault.path) });
	}

	function takeFault(method: string, path: string): ActiveFault | undefined {
		const fault = faults.find(
			(f) => f.remaining > 0 && (!f.method || f.method.toUpperCase() === method) && f.matches(path),
		);
		if (!fault) return undefined;
		fault.remaining -= 1;
		faults = faults.filter((f) => f.remaining > 0);
		stats.faultsInjected += 1;
		return fault;
	}

	function signMediaUrl(conversationId: string, recordingId: string, formatId = 'WEBM'): string {
		const state = conversations.get(conversationId);
		const recording = state?.conversation.recordings.find((r) => r.recordingId === recordingId);
		const { extension } = recording ? mediaFormat(recording, formatId) : { extension: 'webm' };
		const path = `/media/${encodeURIComponent(conversationId)}/${encodeURIComponent(recordingId)}.${extension}`;
		const date = amzDate(now());
		const params = new URLSearchParams({
			'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
			'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
			'X-Amz-Credential': `${accessKeyId}/${date.slice(0, 8)}/${REGION}/s3/aws4_request`,
			'X-Amz-Date': date,
			'X-Amz-Expires': String(mediaUrlTtlSec),
			// Temporary (STS) credentials add this token; here it also makes every URL distinct.
			'X-Amz-Security-Token': randomBytes(24).toString('base64url'),
			'X-Amz-SignedHeaders': 'host',
		});
		params.set('X-Amz-Signature', mediaSignature(path, params));
		return `${baseUrl}${path}?${params.toString()}`;
	}

	function mediaSignature(path: string, params: URLSearchParams): string {
		const canonical = [...params.entries()]
			.filter(([key]) => key !== 'X-Amz-Signature')
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
			.map(([key, value]) => `${key}=${value}`)
			.join('&');
		return createHmac('sha256', signingKey).update(`${path}\n${canonical}`).digest('hex');
	}

	function recordingSize(recording: SimRecording): number {
		if (recording.filePath) return statSync(recording.filePath).size;
		return recording.sizeBytes ?? DEFAULT_SYNTHETIC_SIZE;
	}

	function recordingTimes(state: ConversationState, recording: SimRecording) {
		const startTime = recording.startTime ?? state.startTime;
		const endTime = recording.endTime ?? state.endTime;
		return {
			startTime,
			endTime,
			durationMs: Math.max(0, Date.parse(endTime) - Date.parse(startTime)),
		};
	}

	/** fileState as it is now: uploads complete and restores finish on the simulator clock. */
	function currentFileState(recording: SimRecording): RecordingFileState {
		const seeded = recording.fileState ?? 'AVAILABLE';
		const rs = recordingStates.get(recording);
		if (!rs) return seeded;
		if (seeded === 'UPLOADING' && recording.uploadMs !== undefined && now() >= rs.seededAt + recording.uploadMs) {
			return 'AVAILABLE';
		}
		if (seeded === 'ARCHIVED' && rs.restoreRequestedAt !== undefined) {
			return now() >= rs.restoreRequestedAt + (recording.restoreMs ?? 0) ? 'RESTORED' : 'RESTORING';
		}
		return seeded;
	}

	function needsTranscode(recording: SimRecording): boolean {
		return PLAYABLE_STATES.includes(currentFileState(recording));
	}

	function transcodeRemainingMs(recording: SimRecording, rs: RecordingState): number {
		const total = recording.transcodeMs ?? defaultTranscodeMs;
		if (rs.firstRequestedAt === undefined) return total;
		return Math.max(0, rs.firstRequestedAt + total - now());
	}

	function isReady(recording: SimRecording, rs: RecordingState): boolean {
		if (!needsTranscode(recording)) return true;
		const count = recording.transcode202Count ?? defaultTranscode202Count;
		return transcodeRemainingMs(recording, rs) === 0 && rs.served202 >= count;
	}

	function metadataJson(state: ConversationState, recording: SimRecording) {
		const rs = state.recordings.get(recording.recordingId)!;
		const cid = state.conversation.conversationId;
		const times = recordingTimes(state, recording);
		const annotations = (recording.annotations ?? []).map((a, i) => ({
			id: rs.annotationIds[i],
			// Annotation name/type values are not documented beyond the reason enum.
			name: a.name ?? a.reason ?? 'Pause',
			type: a.type ?? a.reason ?? 'Pause',
			location: a.location,
			durationMs: a.durationMs,
			absoluteLocation: a.absoluteLocation ?? a.location,
			absoluteDurationMs: a.absoluteDurationMs ?? a.durationMs,
			...(a.reason ? { reason: a.reason } : {}),
		}));
		return {
			id: recording.recordingId,
			// name/path/mediaSubject formats are not documented; these are placeholders.
			name: `${recording.media === 'screen' ? 'Screen' : 'Call'} recording ${recording.recordingId}`,
			conversationId: cid,
			path: `${orgId}/${cid}/${recording.recordingId}`,
			startTime: times.startTime,
			endTime: times.endTime,
			media: recording.media,
			mediaSubtype: recording.mediaSubtype ?? (recording.media === 'screen' ? 'Screen' : 'Trunk'),
			mediaSubject: recording.media === 'screen' ? 'Screen Recording' : 'Phone Call',
			annotations,
			fileState: currentFileState(recording),
			sessionId: rs.sessionId,
			region: REGION,
		};
	}

	function recordingJson(
		state: ConversationState,
		recording: SimRecording,
		formatId: string,
	): Record<string, unknown> {
		const cid = state.conversation.conversationId;
		const times = recordingTimes(state, recording);
		const transcodeMs = recording.transcodeMs ?? defaultTranscodeMs;
		const playable = needsTranscode(recording) && formatId !== 'NONE';
		return {
			...metadataJson(state, recording),
			...(playable
				? { mediaUris: { '0': { mediaUri: signMediaUrl(cid, recording.recordingId, formatId) } } }
				: {}),
			estimatedTranscodeTimeMs: transcodeMs,
			...(playable ? { actualTranscodeTimeMs: transcodeMs } : {}),
			outputDurationMs: times.durationMs,
			outputSizeInBytes: recordingSize(recording),
			users: (recording.users ?? []).map((u) => ({
				id: u.id,
				name: u.name ?? u.id,
				...(u.email ? { email: u.email } : {}),
				username: u.username ?? u.email ?? u.id,
				selfUri: `/api/v2/users/${u.id}`,
			})),
			recordingFileRole: 'CUSTOMER_EXPERIENCE',
			creationTime: times.endTime,
			selfUri: `/api/v2/conversations/${cid}/recordings/${recording.recordingId}`,
		};
	}

	function errorBody(status: number, code: string, message: string, contextId: string) {
		return { message, code, status, contextId, details: [], errors: [] };
	}

	function countStatus(res: ServerResponse): void {
		res.on('finish', () => {
			const key = String(res.statusCode);
			stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
		});
	}

	async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
		stats.tokenRequests += 1;
		if (req.method !== 'POST') {
			sendJson(res, 405, { error: 'invalid_request', description: 'method not allowed' });
			return;
		}
		const body = (await readBody(req, 64 * 1024)).toString('utf8');
		const form = new URLSearchParams(body);
		const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		// Genesys documents only the Basic header for client credentials; body credentials are not honoured here.
		const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : '';
		const separator = decoded.indexOf(':');
		const givenId = separator >= 0 ? decoded.slice(0, separator) : '';
		const givenSecret = separator >= 0 ? decoded.slice(separator + 1) : '';
		if (givenId !== clientId) {
			const description = 'client not found';
			sendJson(res, 401, { error: 'invalid_client', description, error_description: description });
			return;
		}
		if (givenSecret !== clientSecret) {
			// Observed for a known client id with a wrong secret.
			const description = 'authentication failed';
			sendJson(res, 401, { error: 'invalid_client', description, error_description: description });
			return;
		}
		if (form.get('grant_type') !== 'client_credentials') {
			const description = 'grant type not supported';
			sendJson(res, 400, {
				error: 'unsupported_grant_type',
				description,
				error_description: description,
			});
			return;
		}
		const accessToken = randomBytes(48).toString('base64url');
		tokens.set(accessToken, {
			expiresAt: now() + tokenTtlSec * 1000,
			windowStart: now(),
			count: 0,
		});
		stats.tokensIssued += 1;
		sendJson(res, 200, {
			access_token: accessToken,
			token_type: 'bearer',
			expires_in: tokenTtlSec,
		});
	}

	async function handleRecordings(
		res: ServerResponse,
		headers: Record<string, string>,
		contextId: string,
		state: ConversationState,
		selected: SimRecording[],
		query: URLSearchParams,
		single: boolean,
	): Promise<void> {
		const formatId = (query.get('formatId') ?? 'WEBM').toUpperCase();
		if (!FORMAT_IDS.includes(formatId)) {
			// The exact error code for a bad enum value is not documented.
			sendJson(
				res,
				400,
				errorBody(400, 'bad.request', `Invalid formatId ${formatId}`, contextId),
				headers,
			);
			return;
		}
		const rawWait = Number(query.get('maxWaitMs') ?? DEFAULT_MAX_WAIT_MS);
		const maxWaitMs = Number.isFinite(rawWait) && rawWait > 0 ? rawWait : 0;
		if (formatId !== 'NONE') {
			for (const recording of selected) {
				const rs = state.recordings.get(recording.recordingId)!;
				if (needsTranscode(recording) && rs.firstRequestedAt === undefined) {
					rs.firstRequestedAt = now();
				}
			}
			const pending = () =>
				selected.filter((r) => !isReady(r, state.recordings.get(r.recordingId)!));
			let waiting = pending();
			if (waiting.length > 0) {
				// Only the time-based transcode is worth holding for; the 202 count advances per answer.
				const remaining = Math.max(
					...waiting.map((r) => transcodeRemainingMs(r, state.recordings.get(r.recordingId)!)),
				);
				const hold = Math.min(maxWaitMs, remaining, MAX_HOLD_MS);
				if (hold > 0) {
					// Timers may fire a millisecond early against Date.now(): hold a little longer when the wait
					// covers the whole remaining transcode, so the answer after it is the 200.
					await sleep(hold === remaining ? hold + 5 : hold);
					waiting = pending();
				}
			}
			if (waiting.length > 0) {
				for (const recording of waiting)
					state.recordings.get(recording.recordingId)!.served202 += 1;
				stats.accepted202 += 1;
				// 202 Accepted with an empty body while the media is transcoding.
				sendEmpty(res, 202, headers);
				return;
			}
		}
		const recordings = selected.map((r) => recordingJson(state, r, formatId));
		sendJson(res, 200, single ? recordings[0] : recordings, headers);
	}

	async function handleApi(
		req: IncomingMessage,
		res: ServerResponse,
		url: URL,
		contextId: string,
	): Promise<void> {
		stats.apiRequests += 1;
		const headers: Record<string, string> = {
			'ININ-Correlation-Id': contextId,
			'inin-ratelimit-count': '0',
			'inin-ratelimit-allowed': String(rateLimit),
			'inin-ratelimit-reset': '60',
		};
		const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		const token = bearer ? tokens.get(bearer[1]) : undefined;
		if (!token || token.expiresAt <= now()) {
			const message = bearer
				? 'Invalid login credentials.'
				: 'No authentication bearer token specified in authorization header.';
			sendJson(res, 401, errorBody(401, 'bad.credentials', message, contextId), headers);
			return;
		}
		if (now() - token.windowStart >= 60_000) {
			token.windowStart = now();
			token.count = 0;
		}
		token.count += 1;
		const resetSec = Math.max(1, Math.ceil((token.windowStart + 60_000 - now()) / 1000));
		headers['inin-ratelimit-count'] = String(token.count);
		headers['inin-ratelimit-reset'] = String(resetSec);
		if (token.count > rateLimit) {
			stats.rateLimited429 += 1;
			sendJson(
				res,
				429,
				errorBody(
					429,
					'too.many.requests',
					`Rate limit exceeded the maximum [${rateLimit}] requests within [60] seconds`,
					contextId,
				),
				{ ...headers, 'Retry-After': String(resetSec) },
			);
			return;
		}

		const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
		const notFound = () =>
			sendJson(
				res,
				404,
				errorBody(404, 'not.found', 'The requested resource was not found.', contextId),
				headers,
			);
		for (const extension of extensions) {
			if (await extension({ req, res, url, segments, headers, contextId, now, stats })) return;
		}
		if (segments[0] === 'learning') {
			if (!(await learning.handle({ req, res, url, segments, headers, contextId, now, stats }))) notFound();
			return;
		}
		if (segments[0] === 'recording' && segments[1] === 'batchrequests') {
			return handleBatch(req, res, headers, contextId, segments[2]);
		}
		if (req.method === 'PUT' && segments[0] === 'conversations' && segments[2] === 'recordings' && segments.length === 4) {
			return handleRetentionUpdate(req, res, headers, contextId, segments[1], segments[3]);
		}
		if (req.method !== 'GET') return notFound();

		if (segments.length === 2 && segments[0] === 'organizations' && segments[1] === 'me') {
			sendJson(
				res,
				200,
				{
					id: orgId,
					name: orgName,
					defaultLanguage: 'en-us',
					domain: 'cx-training-sim',
					state: 'active',
					selfUri: `/api/v2/organizations/${orgId}`,
				},
				headers,
			);
			return;
		}
		if (segments[0] !== 'conversations' || segments.length < 3) return notFound();
		const state = conversations.get(segments[1]);
		if (!state) return notFound();
		const all = state.conversation.recordings;
		const resource = segments[2];
		const recordingId = segments[3];
		if (segments.length > 4) return notFound();
		const selected = recordingId ? all.filter((r) => r.recordingId === recordingId) : all;
		if (recordingId && selected.length === 0) return notFound();

		if (resource === 'recordingmetadata') {
			stats.metadataCalls += 1;
			const metadata = selected.map((r) => ({
				...metadataJson(state, r),
				selfUri: `/api/v2/conversations/${state.conversation.conversationId}/recordingmetadata/${r.recordingId}`,
			}));
			sendJson(res, 200, recordingId ? metadata[0] : metadata, headers);
			return;
		}
		if (resource === 'recordings') {
			if (recordingId) stats.recordingGetCalls += 1;
			else stats.recordingListCalls += 1;
			await handleRecordings(
				res,
				headers,
				contextId,
				state,
				selected,
				url.searchParams,
				!!recordingId,
			);
			return;
		}
		notFound();
	}

	async function handleMedia(
		req: IncomingMessage,
		res: ServerResponse,
		url: URL,
		fault: ActiveFault | undefined,
	): Promise<void> {
		stats.mediaRequests += 1;
		const xml = { 'Content-Type': 'application/xml' };
		const denied = (code: string, message: string, extra: Record<string, string> = {}) => {
			const body = s3Error(code, message, extra);
			res.writeHead(403, { ...xml, 'Content-Length': String(Buffer.byteLength(body)) });
			res.end(req.method === 'HEAD' ? undefined : body);
		};
		const params = url.searchParams;
		const signature = params.get('X-Amz-Signature') ?? '';
		const signedAt = parseAmzDate(params.get('X-Amz-Date') ?? '');
		const expires = Number(params.get('X-Amz-Expires'));
		if (!signature || signedAt === undefined || !Number.isFinite(expires)) {
			denied('AccessDenied', 'Access Denied');
			return;
		}
		const expected = Buffer.from(mediaSignature(url.pathname, params));
		const given = Buffer.from(signature);
		if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
			denied(
				'SignatureDoesNotMatch',
				'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
			);
			return;
		}
		if (now() > signedAt + expires * 1000) {
			denied('AccessDenied', 'Request has expired', {
				'X-Amz-Expires': String(expires),
				Expires: new Date(signedAt + expires * 1000).toISOString(),
				ServerTime: new Date(now()).toISOString(),
			});
			return;
		}
		const segments = url.pathname.split('/').map(decodeURIComponent);
		const file = segments[3] ?? '';
		const dot = file.lastIndexOf('.');
		const recordingId = dot > 0 ? file.slice(0, dot) : file;
		const extension = dot > 0 ? file.slice(dot + 1) : '';
		const state = conversations.get(segments[2] ?? '');
		const recording = state?.conversation.recordings.find((r) => r.recordingId === recordingId);
		if (!state || !recording || segments.length !== 4) {
			const body = s3Error('NoSuchKey', 'The specified key does not exist.');
			res.writeHead(404, { ...xml, 'Content-Length': String(Buffer.byteLength(body)) });
			res.end(req.method === 'HEAD' ? undefined : body);
			return;
		}
		const size = recordingSize(recording);
		const contentType =
			recording.contentType ??
			(recording.media === 'screen'
				? 'video/webm'
				: (EXTENSION_CONTENT_TYPES[extension] ?? 'audio/webm'));
		const baseHeaders: Record<string, string> = {
			'Content-Type': contentType,
			'Accept-Ranges': 'bytes',
			ETag: syntheticEtag(size, `${recording.seed ?? ''}:${recording.filePath ?? ''}`),
			'Last-Modified': httpDate(Date.parse(recordingTimes(state, recording).endTime)),
			'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
		};
		const range = parseRange(req.headers.range, size);
		if (range === 'unsatisfiable') {
			const body = s3Error('InvalidRange', 'The requested range is not satisfiable');
			res.writeHead(416, {
				...xml,
				'Content-Range': `bytes */${size}`,
				'Content-Length': String(Buffer.byteLength(body)),
			});
			res.end(req.method === 'HEAD' ? undefined : body);
			return;
		}
		const start = range?.start ?? 0;
		const end = range?.end ?? size - 1;
		const length = size === 0 ? 0 : end - start + 1;
		res.writeHead(range ? 206 : 200, {
			...baseHeaders,
			'Content-Length': String(length),
			...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
		});
		if (req.method === 'HEAD' || length === 0) {
			res.end();
			return;
		}
		const source: Readable = recording.filePath
			? createReadStream(recording.filePath, { start, end })
			: syntheticMediaStream(size, { seed: recording.seed, start, end });
		await streamBody(
			res,
			source,
			(count) => {
				stats.mediaBytesServed += count;
			},
			fault?.dropAfterBytes,
		);
	}

	/**
	 * `PUT /api/v2/conversations/{cid}/recordings/{rid}` with a Recording body: per the SDK docs, changing the
	 * archive date of an ARCHIVED recording restores it until that date (RESTORING, then RESTORED).
	 */
	async function handleRetentionUpdate(
		req: IncomingMessage,
		res: ServerResponse,
		headers: Record<string, string>,
		contextId: string,
		conversationId: string,
		recordingId: string,
	): Promise<void> {
		const state = conversations.get(conversationId);
		const recording = state?.conversation.recordings.find((r) => r.recordingId === recordingId);
		if (!state || !recording) {
			sendJson(res, 404, errorBody(404, 'not.found', 'The requested resource was not found.', contextId), headers);
			return;
		}
		let body: { archiveDate?: string; deleteDate?: string };
		try {
			body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
		} catch {
			sendJson(res, 400, errorBody(400, 'bad.request', 'The request could not be understood by the server due to malformed syntax.', contextId), headers);
			return;
		}
		const rs = state.recordings.get(recordingId)!;
		if (body.archiveDate && currentFileState(recording) === 'ARCHIVED') {
			if (Date.parse(body.archiveDate) <= now()) {
				sendJson(res, 400, errorBody(400, 'bad.request', 'archiveDate must be in the future', contextId), headers);
				return;
			}
			rs.restoreRequestedAt = now();
			stats.restoreRequests += 1;
		}
		sendJson(res, 200, recordingJson(state, recording, 'NONE'), headers);
	}

	/**
	 * Batch downloads: `POST /api/v2/recording/batchrequests` (≤100 items) → `{id, selfUri}`; `GET …/{id}` →
	 * progress and results with signed `resultUrl`s in the original format, or a per-item `errorMsg`.
	 */
	async function handleBatch(
		req: IncomingMessage,
		res: ServerResponse,
		headers: Record<string, string>,
		contextId: string,
		jobId: string | undefined,
	): Promise<void> {
		const bad = (message: string) => sendJson(res, 400, errorBody(400, 'bad.request', message, contextId), headers);
		if (req.method === 'POST' && !jobId) {
			let body: { batchDownloadRequestList?: Array<{ conversationId?: string; recordingId?: string }> };
			try {
				body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
			} catch {
				return bad('The request could not be understood by the server due to malformed syntax.');
			}
			const list = body.batchDownloadRequestList;
			// The wording of the empty-list error comes from the public tutorial's error handling.
			if (!Array.isArray(list) || list.length === 0) return bad('Request list is missing or empty');
			// The 100-item cap is documented in the SDK models; the exact error text is not.
			if (list.length > 100) return bad('Request list may contain at most 100 items');
			const id = randomUUID();
			batchJobs.set(id, { requests: list, polls: 0 });
			stats.batchRequests += 1;
			sendJson(res, 200, { id, selfUri: `/api/v2/recording/batchrequests/${id}` }, headers);
			return;
		}
		const job = jobId ? batchJobs.get(jobId) : undefined;
		if (req.method !== 'GET' || !job || !jobId) {
			sendJson(res, 404, errorBody(404, 'not.found', 'The requested resource was not found.', contextId), headers);
			return;
		}
		job.polls += 1;
		const results: Array<Record<string, unknown>> = [];
		for (const request of job.requests) {
			const state = request.conversationId ? conversations.get(request.conversationId) : undefined;
			if (!state) {
				results.push({ conversationId: request.conversationId, recordingId: request.recordingId, errorMsg: 'Conversation not found' });
				continue;
			}
			const recordings = state.conversation.recordings.filter((r) => !request.recordingId || r.recordingId === request.recordingId);
			if (recordings.length === 0) results.push({ conversationId: request.conversationId, recordingId: request.recordingId, errorMsg: 'Recording not found' });
			for (const recording of recordings) {
				const fileState = currentFileState(recording);
				if (!PLAYABLE_STATES.includes(fileState)) {
					results.push({ conversationId: request.conversationId, recordingId: recording.recordingId, errorMsg: `Recording is ${fileState.toLowerCase()}` });
					continue;
				}
				const format = recording.media === 'screen' ? 'WEBM' : 'OGG_OPUS';
				results.push({
					conversationId: request.conversationId,
					recordingId: recording.recordingId,
					resultUrl: signMediaUrl(state.conversation.conversationId, recording.recordingId, format),
					contentType: mediaFormat(recording, format).contentType,
				});
			}
		}
		const done = job.polls >= batchPollsToComplete;
		const visible = done ? results : results.slice(0, Math.floor((results.length * job.polls) / batchPollsToComplete));
		sendJson(
			res,
			200,
			{
				id: jobId,
				jobId,
				expectedResultCount: results.length,
				resultCount: visible.length,
				errorCount: visible.filter((result) => result.errorMsg).length,
				status: done ? 'Completed' : 'InProgress',
				results: visible,
				selfUri: `/api/v2/recording/batchrequests/${jobId}`,
			},
			headers,
		);
	}

	async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const path = url.pathname;
		const readJson = async () => JSON.parse((await readBody(req)).toString('utf8') || '{}');
		if (req.method === 'GET' && path === '/__sim/stats') return sendJson(res, 200, stats);
		if (req.method === 'GET' && path === '/__sim/conversations') {
			return sendJson(
				res,
				200,
				[...conversations.values()].map((c) => c.conversation),
			);
		}
		if (req.method === 'POST' && path === '/__sim/conversations') {
			const conversation = (await readJson()) as SimConversation;
			seedConversation(conversation);
			return sendJson(res, 201, { conversationId: conversation.conversationId });
		}
		if (req.method === 'POST' && path === '/__sim/emit') {
			return sendJson(
				res,
				200,
				await emitConversationEnd((await readJson()) as EmitConversationEndOptions),
			);
		}
		if (req.method === 'POST' && path === '/__sim/faults') {
			setFault((await readJson()) as GenesysFault);
			return sendEmpty(res, 204);
		}
		if (req.method === 'DELETE' && path === '/__sim/faults') {
			faults = [];
			return sendEmpty(res, 204);
		}
		if (req.method === 'GET' && path === '/__sim/learning') {
			return sendJson(res, 200, { modules: learning.api.modules(), assignments: learning.api.assignments() });
		}
		const learningState = /^\/__sim\/learning\/assignments\/([^/]+)\/state$/.exec(path);
		if (req.method === 'POST' && learningState) {
			const { state } = (await readJson()) as { state?: SimLearningAssignmentState };
			try {
				learning.api.setAssignmentState(decodeURIComponent(learningState[1]), state ?? 'Assigned');
			} catch (error) {
				return sendJson(res, 404, { message: (error as Error).message });
			}
			return sendEmpty(res, 204);
		}
		if (req.method === 'POST' && path === '/__sim/advance') {
			const { ms } = (await readJson()) as { ms?: number };
			clockOffsetMs += Number(ms) || 0;
			return sendEmpty(res, 204);
		}
		sendJson(res, 404, { message: 'unknown control endpoint' });
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		const path = url.pathname;
		if (path.startsWith('/__sim/')) return handleControl(req, res, url);

		countStatus(res);
		const key = `${method} ${path}`;
		stats.byPath[key] = (stats.byPath[key] ?? 0) + 1;
		const contextId = randomUUID();
		const isMedia = path.startsWith('/media/');
		const fault = takeFault(method, path);
		logRequest(req, res, method, url, fault !== undefined);
		// The clock jumps once this answer is over (or broken off): the URL expires *during* the download.
		if (fault?.advanceClockMs) res.once('close', () => (clockOffsetMs += fault.advanceClockMs ?? 0));
		if (fault && (fault.drop || fault.dropAfterBytes !== undefined)) {
			if (!isMedia || fault.dropAfterBytes === undefined) {
				req.socket.destroy();
				return;
			}
		} else if (fault) {
			const status = fault.status ?? 503;
			const retryAfter =
				status === 429 && fault.retryAfterSec !== null
					? String(fault.retryAfterSec ?? 1)
					: undefined;
			if (status === 429) stats.rateLimited429 += 1;
			const headers: Record<string, string> = {
				'ININ-Correlation-Id': contextId,
				...(retryAfter ? { 'Retry-After': retryAfter } : {}),
			};
			if (isMedia) {
				const body =
					status === 503 || status === 429
						? s3Error('SlowDown', 'Please reduce your request rate.')
						: s3Error('InternalError', 'We encountered an internal error. Please try again.');
				res.writeHead(status, {
					...headers,
					'Content-Type': 'application/xml',
					'Content-Length': String(Buffer.byteLength(body)),
				});
				res.end(body);
				return;
			}
			if (path.startsWith('/api/v2/')) stats.apiRequests += 1;
			const [code, message] =
				status === 429
					? [
							'too.many.requests',
							`Rate limit exceeded the maximum [${rateLimit}] requests within [60] seconds`,
						]
					: status === 503
						? [
								'service.unavailable',
								'Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).',
							]
						: [
								'internal.server.error',
								'The server encountered an unexpected condition which prevented it from fulfilling the request.',
							];
			sendJson(res, status, errorBody(status, code, message, contextId), {
				...headers,
				'inin-ratelimit-count': '0',
				'inin-ratelimit-allowed': String(rateLimit),
				'inin-ratelimit-reset': '60',
			});
			return;
		}

		if (path === '/oauth/token') return handleToken(req, res);
		if (path.startsWith('/api/v2/')) return handleApi(req, res, url, contextId);
		if (isMedia && (method === 'GET' || method === 'HEAD'))
			return handleMedia(req, res, url, fault);
		sendJson(
			res,
			404,
			errorBody(404, 'not.found', 'The requested resource was not found.', contextId),
		);
	}

	function logRequest(req: IncomingMessage, res: ServerResponse, method: string, url: URL, fault: boolean): void {
		const entry: GenesysRequestLogEntry = { method, path: url.pathname, query: url.search, status: 0, at: Date.now() };
		if (typeof req.headers.range === 'string') entry.range = req.headers.range;
		if (fault) entry.fault = true;
		requests.push(entry);
		// The status is recorded when the head goes out: a client may act on the answer before 'finish' fires.
		const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
		res.writeHead = ((...args: unknown[]) => {
			entry.status = Number(args[0]);
			const headers = args.find((arg): arg is Record<string, unknown> => typeof arg === 'object' && arg !== null);
			const retryAfter = headers?.['Retry-After'] ?? headers?.['retry-after'];
			if (retryAfter !== undefined) entry.retryAfter = String(retryAfter);
			return writeHead(...args);
		}) as typeof res.writeHead;
	}

	async function emitConversationEnd(opts: EmitConversationEndOptions): Promise<EmitResult> {
		const state = conversations.get(opts.conversationId);
		if (!state) throw new Error(`Unknown conversation ${opts.conversationId}`);
		const conversation = state.conversation;
		const topic = opts.topic ?? 'user.end';
		const agents = (conversation.participants ?? []).filter((p) => p.purpose === 'agent');
		const agent = agents.find((p) => !opts.userId || p.userId === opts.userId);
		const userId =
			opts.userId ?? agent?.userId ?? conversation.recordings.flatMap((r) => r.users ?? [])[0]?.id;
		if (!userId) throw new Error(`No agent user for conversation ${opts.conversationId}`);
		const cid = conversation.conversationId;
		const participantId = agent?.participantId ?? stableUuid(`participant:${cid}:${userId}`);
		const sessionId = stableUuid(`agent-session:${cid}:${userId}`);
		const endMs = Date.parse(state.endTime);
		const durationMs = Math.max(0, endMs - Date.parse(state.startTime));
		const heldDurationMs = conversation.recordings
			.filter((r) => r.media === 'audio')
			.flatMap((r) => r.annotations ?? [])
			.filter((a) => a.reason === 'Hold')
			.reduce((sum, a) => sum + a.durationMs, 0);
		const common = {
			conversationId: cid,
			participantId,
			sessionId,
			mediaType: conversation.mediaType ?? 'VOICE',
			direction: (conversation.direction ?? 'inbound').toUpperCase(),
			ani: conversation.ani ?? 'tel:+15550100001',
			dnis: conversation.dnis ?? 'tel:+15550100002',
			userId,
			queueId: agent?.queueId ?? conversation.queueId,
		};
		const wrapupDurationMs = 15_000;
		const eventBody =
			topic === 'acw'
				? {
						eventTime: endMs + wrapupDurationMs,
						...common,
						wrapupCode: conversation.wrapupCode,
						...(conversation.wrapupNotes ? { wrapupNotes: conversation.wrapupNotes } : {}),
						wrapupDurationMs,
					}
				: {
						eventTime: endMs,
						...common,
						disconnectType: 'CLIENT',
						provider: 'Edge',
						...(conversation.divisionId ? { divisionId: conversation.divisionId } : {}),
						interactingDurationMs: Math.max(0, durationMs - heldDurationMs),
						heldDurationMs,
						alertingDurationMs: 4_000,
						contactingDurationMs: 0,
					};
		const topicName = `v2.detail.events.conversation.${cid}.${topic}`;
		const timestamp = new Date(now()).toISOString();
		const payload: Record<string, unknown> =
			opts.shape === 'eventbridge'
				? {
						version: '0',
						id: randomUUID(),
						// EventBridge rules match the wildcard topic, so detail-type keeps the literal {id}.
						'detail-type': `v2.detail.events.conversation.{id}.${topic}`,
						source: `aws.partner/genesys.com/cloud/${orgId}/cx-training`,
						account: '123456789012',
						time: timestamp.replace(/\.\d{3}Z$/, 'Z'),
						region: REGION,
						resources: [],
						detail: {
							topicName,
							version: '2',
							eventBody,
							metadata: { CorrelationId: randomUUID() },
							timestamp,
						},
					}
				: eventBody;
		const response = await fetch(opts.webhookUrl, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', ...(opts.headers ?? {}) },
			body: JSON.stringify(payload),
			signal: AbortSignal.timeout(15_000),
		});
		stats.eventsEmitted += 1;
		return { status: response.status, body: await response.text(), payload };
	}

	const server = createServer((req, res) => {
		handle(req, res).catch((error: Error) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			if (error instanceof BodyTooLargeError) {
				sendJson(res, 413, {
					message: error.message,
					code: 'request.entity.too.large',
					status: 413,
				});
				return;
			}
			sendJson(res, error instanceof SyntaxError ? 400 : 500, {
				message: error.message,
				code: error instanceof SyntaxError ? 'bad.request' : 'internal.server.error',
			});
		});
	});
	const port = await listen(server, host, options.port ?? 0);
	baseUrl = `http://${host}:${port}`;

	return {
		baseUrl,
		loginUrl: baseUrl,
		port,
		orgId,
		clientId,
		clientSecret,
		get stats() {
			return stats;
		},
		requests,
		async close() {
			for (const hold of holds) {
				clearTimeout(hold.timer);
				hold.resolve();
			}
			holds.clear();
			await closeServer(server);
		},
		seedConversation,
		setFault,
		clearFaults() {
			faults = [];
		},
		emitConversationEnd,
		advanceTime(ms: number) {
			clockOffsetMs += ms;
		},
		signMediaUrl,
		resetStats() {
			stats = emptyStats();
		},
		learning: learning.api,
	};
}
