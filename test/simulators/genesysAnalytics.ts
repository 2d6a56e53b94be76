import { createHash } from 'node:crypto';

import type { SimApiExtensionFactory, SimApiRequest, SimConversation } from './genesysCloud';
import { readBody, sendJson } from './httpUtil';

/**
 * `POST /api/v2/analytics/conversations/details/query` for the Genesys simulator, answered from its seeded
 * conversations (field names from the SDK models: AnalyticsConversation, AnalyticsParticipant.screenRecording,
 * AnalyticsSession, AnalyticsConversationSegment.wrapUpCode; reference ccaas-apis.md §1.2).
 *
 * Interval semantics as documented for ConversationQuery.interval: a conversation matches when it started on a
 * UTC day the interval touches AND was active during the interval (started before its end, and has not ended
 * or ended at or after its start). A seeded conversation without `endTime` counts as still in progress.
 * Only what the poll trigger sends is simulated; any other filter or sort is refused with 400, so a test cannot
 * pass against a query the simulator silently ignored.
 */

export interface AnalyticsSimulatorStats {
	/** Query requests that reached this extension (failures included). */
	queries: number;
	/** Parsed request bodies, in order. */
	bodies: DetailsQueryBody[];
}

export interface DetailsQueryBody {
	interval?: string;
	order?: string;
	orderBy?: string;
	paging?: { pageSize?: number; pageNumber?: number };
	segmentFilters?: Array<{ type?: string; predicates?: Array<{ dimension?: string; value?: string; type?: string; operator?: string }> }>;
	[key: string]: unknown;
}

export interface AnalyticsSimulator {
	extension: SimApiExtensionFactory;
	stats: AnalyticsSimulatorStats;
	/** Answers `count` queries with `status` and a Genesys error body, after letting `skip` queries through. */
	failNext(status: number, count?: number, skip?: number): void;
	/** The analytics view of one seeded conversation, as a query would return it. */
	toAnalytics(conversation: SimConversation, nowMs?: number): AnalyticsConversationJson;
}

export interface AnalyticsSegmentJson {
	segmentType: string;
	segmentStart: string;
	segmentEnd?: string;
	queueId?: string;
	wrapUpCode?: string;
}

export interface AnalyticsSessionJson {
	sessionId: string;
	mediaType: string;
	direction: string;
	recording?: boolean;
	segments: AnalyticsSegmentJson[];
}

export interface AnalyticsParticipantJson {
	participantId: string;
	purpose: string;
	userId?: string;
	participantName?: string;
	screenRecording?: boolean;
	sessions: AnalyticsSessionJson[];
}

export interface AnalyticsConversationJson {
	conversationId: string;
	conversationStart: string;
	conversationEnd?: string;
	originatingDirection: string;
	participants: AnalyticsParticipantJson[];
}

const QUERY_SEGMENTS = ['analytics', 'conversations', 'details', 'query'];
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 25;
const WRAPUP_MS = 15_000;
const DAY_MS = 86_400_000;
const UNSUPPORTED_KEYS = ['conversationFilters', 'evaluationFilters', 'surveyFilters', 'mediaEndpointStatFilters', 'aggregations'];

function stableUuid(name: string): string {
	const hex = createHash('sha256').update(name).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

export function createAnalyticsSimulator(): AnalyticsSimulator {
	const stats: AnalyticsSimulatorStats = { queries: 0, bodies: [] };
	// `null` lets a query through: failNext(…, skip) queues those first.
	const failures: Array<number | null> = [];

	function toAnalytics(conversation: SimConversation, nowMs = Date.now()): AnalyticsConversationJson {
		const cid = conversation.conversationId;
		const endMs = conversation.endTime ? Date.parse(conversation.endTime) : undefined;
		const startMs = conversation.startTime
			? Date.parse(conversation.startTime)
			: (endMs ?? nowMs) - 5 * 60_000;
		const mediaType = (conversation.mediaType ?? 'VOICE').toLowerCase();
		const direction = (conversation.direction ?? 'inbound').toLowerCase();
		const screens = conversation.recordings.filter((r) => r.media === 'screen' || r.mediaSubtype === 'Screen');
		const hasAudio = conversation.recordings.some((r) => r.media === 'audio');
		const given = conversation.participants ?? [];
		let agents = given.filter((p) => p.purpose === 'agent' && p.userId);
		if (agents.length === 0) {
			const userIds = [...new Set(screens.flatMap((r) => (r.users ?? []).map((u) => u.id)))];
			agents = userIds.map((userId) => ({ purpose: 'agent' as const, userId }));
		}
		const recordedUsers = new Set(screens.flatMap((r) => (r.users ?? []).map((u) => u.id)));
		// A screen recording that names no user is taken to be of every agent's screen.
		const unattributedScreen = screens.some((r) => !r.users || r.users.length === 0);
		const session = (name: string, segments: AnalyticsSegmentJson[], extra: Partial<AnalyticsSessionJson> = {}) => ({
			sessionId: stableUuid(`analytics-session:${cid}:${name}`),
			mediaType,
			direction,
			...extra,
			segments,
		});
		const until = (ms: number | undefined) => (ms === undefined ? {} : { segmentEnd: iso(ms) });

		const participants: AnalyticsParticipantJson[] = [];
		if (!given.some((p) => p.purpose === 'customer')) {
			participants.push({
				participantId: stableUuid(`analytics-participant:${cid}:customer`),
				purpose: 'customer',
				sessions: [session('customer', [{ segmentType: 'interact', segmentStart: iso(startMs), ...until(endMs) }])],
			});
		}
		const acdQueue = conversation.queueId ?? agents.find((a) => a.queueId)?.queueId;
		if (acdQueue) {
			participants.push({
				participantId: stableUuid(`analytics-participant:${cid}:acd`),
				purpose: 'acd',
				participantName: 'Queue',
				sessions: [
					session('acd', [{ segmentType: 'interact', segmentStart: iso(startMs), segmentEnd: iso(startMs + 1000), queueId: acdQueue }]),
				],
			});
		}
		// Agents hand over in turn (a transfer): each holds an equal share of the conversation, then wraps up.
		const spanMs = (endMs ?? nowMs) - startMs;
		agents.forEach((agent, index) => {
			const fromMs = startMs + Math.floor((spanMs * index) / agents.length);
			const last = index === agents.length - 1;
			const toMs = last ? endMs : startMs + Math.floor((spanMs * (index + 1)) / agents.length);
			const queueId = agent.queueId ?? conversation.queueId;
			const segments: AnalyticsSegmentJson[] = [
				{ segmentType: 'interact', segmentStart: iso(fromMs), ...until(toMs), ...(queueId ? { queueId } : {}) },
			];
			if (toMs !== undefined && conversation.wrapupCode) {
				segments.push({
					segmentType: 'wrapup',
					segmentStart: iso(toMs),
					segmentEnd: iso(toMs + WRAPUP_MS),
					...(queueId ? { queueId } : {}),
					wrapUpCode: conversation.wrapupCode,
				});
			}
			participants.push({
				participantId: agent.participantId ?? stableUuid(`analytics-participant:${cid}:${agent.userId}`),
				purpose: 'agent',
				userId: agent.userId,
				...(agent.name ? { participantName: agent.name } : {}),
				screenRecording: unattributedScreen || recordedUsers.has(agent.userId!),
				sessions: [session(`agent:${agent.userId}`, segments, { recording: hasAudio })],
			});
		});
		return {
			conversationId: cid,
			conversationStart: iso(startMs),
			...(endMs === undefined ? {} : { conversationEnd: iso(endMs) }),
			originatingDirection: direction,
			participants,
		};
	}

	const extension: SimApiExtensionFactory = (sim) => async (request: SimApiRequest) => {
		const { req, res, segments, headers, contextId } = request;
		if (segments.length !== QUERY_SEGMENTS.length || segments.some((s, i) => s !== QUERY_SEGMENTS[i])) return false;
		const fail = (status: number, code: string, message: string) => {
			sendJson(res, status, { message, code, status, contextId, details: [], errors: [] }, headers);
			return true;
		};
		if (req.method !== 'POST') return fail(405, 'method.not.allowed', 'HTTP 405 Method Not Allowed');
		stats.queries += 1;
		let body: DetailsQueryBody;
		try {
			body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as DetailsQueryBody;
		} catch {
			return fail(400, 'bad.request', 'The request could not be understood by the server due to malformed syntax.');
		}
		stats.bodies.push(body);
		const failure = failures.shift();
		if (failure !== undefined && failure !== null) return fail(failure, failure === 429 ? 'too.many.requests' : 'simulated.failure', `Simulated HTTP ${failure}`);

		const interval = /^([^/]+)\/([^/]+)$/.exec(body.interval ?? '');
		const fromMs = interval ? Date.parse(interval[1]) : Number.NaN;
		const toMs = interval ? Date.parse(interval[2]) : Number.NaN;
		if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs >= toMs) {
			return fail(400, 'bad.request', `Invalid interval ${JSON.stringify(body.interval)}`);
		}
		const pageSize = body.paging?.pageSize ?? DEFAULT_PAGE_SIZE;
		const pageNumber = body.paging?.pageNumber ?? 1;
		if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE || !Number.isInteger(pageNumber) || pageNumber < 1) {
			return fail(400, 'bad.request', `Invalid paging ${JSON.stringify(body.paging)}`);
		}
		const order = body.order ?? 'asc';
		const orderBy = body.orderBy ?? 'conversationStart';
		if (order !== 'asc' && order !== 'desc') return fail(400, 'bad.request', `Invalid order ${order}`);
		if (orderBy !== 'conversationStart' && orderBy !== 'conversationEnd') {
			return fail(400, 'bad.request', `orderBy ${orderBy} is not simulated`);
		}
		const unsupported = UNSUPPORTED_KEYS.find((key) => body[key] !== undefined);
		if (unsupported) return fail(400, 'bad.request', `${unsupported} is not simulated`);
		let screenRecording: boolean | undefined;
		for (const filter of body.segmentFilters ?? []) {
			const predicates = filter.predicates ?? [];
			if ((filter.type !== 'and' && filter.type !== 'or') || predicates.length !== 1) {
				return fail(400, 'bad.request', 'Only a single-predicate segment filter is simulated');
			}
			const [predicate] = predicates;
			if (predicate.dimension !== 'screenRecording' || (predicate.value !== 'true' && predicate.value !== 'false')) {
				return fail(400, 'bad.request', `Segment predicate ${JSON.stringify(predicate)} is not simulated`);
			}
			screenRecording = predicate.value === 'true';
		}

		const nowMs = sim.now();
		const firstDayMs = Math.floor(fromMs / DAY_MS) * DAY_MS;
		const matching = sim
			.conversations()
			.map((conversation) => toAnalytics(conversation, nowMs))
			.filter((conversation) => {
				const startMs = Date.parse(conversation.conversationStart);
				const endMs = conversation.conversationEnd ? Date.parse(conversation.conversationEnd) : undefined;
				const startedOnTouchedDay = startMs >= firstDayMs && startMs < toMs;
				const activeDuring = endMs === undefined || endMs >= fromMs;
				if (!startedOnTouchedDay || !activeDuring) return false;
				if (screenRecording === undefined) return true;
				return conversation.participants.some((p) => Boolean(p.screenRecording)) === screenRecording;
			});
		const key = (conversation: AnalyticsConversationJson) => {
			const value = orderBy === 'conversationEnd' ? conversation.conversationEnd : conversation.conversationStart;
			return value === undefined ? undefined : Date.parse(value);
		};
		matching.sort((a, b) => {
			const ka = key(a);
			const kb = key(b);
			// Conversations without the sort field (still in progress) come last either way.
			if (ka !== kb) {
				if (ka === undefined || kb === undefined) return ka === undefined ? 1 : -1;
				return order === 'asc' ? ka - kb : kb - ka;
			}
			return a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0;
		});
		const page = matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
		// Genesys leaves `conversations` out of an empty answer.
		sendJson(res, 200, page.length > 0 ? { conversations: page, totalHits: matching.length } : { totalHits: matching.length }, headers);
		return true;
	};

	return {
		extension,
		stats,
		failNext(status: number, count = 1, skip = 0) {
			for (let i = 0; i < skip; i++) failures.push(null);
			for (let i = 0; i < count; i++) failures.push(status);
		},
		toAnalytics,
	};
}
