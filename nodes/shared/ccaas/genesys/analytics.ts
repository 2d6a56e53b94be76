import { isSafeId } from '../../ids';
import type { GenesysClient } from './client';
import type { ConversationEvent } from './events';

/** Conversation details query (reference: ccaas-apis.md §1.2, option 2). */
export const DETAILS_QUERY_PATH = '/api/v2/analytics/conversations/details/query';

/** Largest page the poll asks for; the query's default is 25. */
export const DETAILS_PAGE_SIZE = 100;

/** Pages one poll may walk (10,000 conversations); the rest waits for the next poll, behind the cursor. */
export const MAX_PAGES_PER_POLL = 100;

/** One query never spans more than this; after a long outage the cursor catches up window by window. */
export const MAX_INTERVAL_MS = 7 * 24 * 3600_000;

/**
 * The interval starts this much before the cursor: whether Genesys counts a conversation that ended exactly at
 * the interval start is not documented, and anything older than the cursor is dropped here anyway.
 */
const BOUNDARY_OVERLAP_MS = 1000;

const DAY_MS = 24 * 3600_000;

/** How long after UTC midnight a poll still looks for conversations that started before it. */
export const MIDNIGHT_CROSSING_MS = 6 * 3600_000;

/** Session media types of the screen itself, not of the interaction the agent handled. */
const SCREEN_MEDIA_TYPES = new Set(['screenmonitoring', 'screenshare']);

export interface AnalyticsSegment {
	segmentType?: string;
	segmentStart?: string;
	segmentEnd?: string;
	queueId?: string;
	wrapUpCode?: string;
}

export interface AnalyticsSession {
	sessionId?: string;
	mediaType?: string;
	direction?: string;
	/** An audio recording was started (the screen flag sits on the participant). */
	recording?: boolean;
	segments?: AnalyticsSegment[];
}

export interface AnalyticsParticipant {
	participantId?: string;
	purpose?: string;
	userId?: string;
	/** A screen recording was started for this participant. */
	screenRecording?: boolean;
	sessions?: AnalyticsSession[];
}

export interface AnalyticsConversation {
	conversationId: string;
	conversationStart?: string;
	/** Absent while the conversation is still going on. */
	conversationEnd?: string;
	originatingDirection?: string;
	participants?: AnalyticsParticipant[];
}

export interface DetailsQueryResponse {
	/** Genesys leaves the list out when nothing matches. */
	conversations?: AnalyticsConversation[];
	totalHits?: number;
}

export interface DetailsQuery {
	interval: string;
	order: 'asc' | 'desc';
	orderBy: 'conversationEnd';
	paging: { pageSize: number; pageNumber: number };
	segmentFilters?: Array<{ type: 'and' | 'or'; predicates: Array<{ dimension: string; value: string }> }>;
}

/** What the poll needs of GenesysClient (its token cache, retries and rate limit come with it). */
export type AnalyticsApi = Pick<GenesysClient, 'api'>;

export function detailsQuery(options: {
	startMs: number;
	endMs: number;
	pageNumber: number;
	pageSize?: number;
	order?: 'asc' | 'desc';
	screenRecordingsOnly: boolean;
}): DetailsQuery {
	const query: DetailsQuery = {
		interval: `${new Date(options.startMs).toISOString()}/${new Date(options.endMs).toISOString()}`,
		order: options.order ?? 'asc',
		orderBy: 'conversationEnd',
		paging: { pageSize: options.pageSize ?? DETAILS_PAGE_SIZE, pageNumber: options.pageNumber },
	};
	if (options.screenRecordingsOnly) {
		// Shape from the reference (§1.2); the SDK's segment predicate enum we could check does not list
		// screenRecording (it is a participant flag), so turn the option off if an org answers 400.
		query.segmentFilters = [{ type: 'and', predicates: [{ dimension: 'screenRecording', value: 'true' }] }];
	}
	return query;
}

export async function queryConversationDetails(api: AnalyticsApi, query: DetailsQuery): Promise<DetailsQueryResponse> {
	const response = await api.api<DetailsQueryResponse>({ method: 'POST', path: DETAILS_QUERY_PATH, body: query });
	return response.body ?? {};
}

/** Kept in the poll node's static data between polls. */
export interface ConversationEndCursor {
	/** ISO time of the latest conversationEnd already handed to the workflow (or checked up to). */
	lastConversationEnd?: string;
	/** Conversations ending exactly at `lastConversationEnd` that were already emitted. */
	possibleDuplicates?: string[];
}

export interface PollOptions {
	nowMs: number;
	/** How far back the first poll looks (there is no cursor yet). */
	firstRunLookBackMs: number;
	/** Conversations that ended less than this long ago wait for the next poll, so late analytics data is not skipped. */
	settleMs: number;
	screenRecordingsOnly: boolean;
	pageSize?: number;
	maxPages?: number;
	/** Epoch ms after which no further page is requested; what is left waits for the next poll. */
	deadlineMs?: number;
	clock?: () => number;
}

export interface PollOutcome {
	/** Conversations not emitted before, oldest conversationEnd first. */
	conversations: AnalyticsConversation[];
	/** The cursor to store for the next poll. */
	cursor: { lastConversationEnd: string; possibleDuplicates: string[] };
	/** The queried interval, for logs; absent when there was nothing to ask yet. */
	interval?: string;
	pages: number;
	/** Every page of the window was read. */
	complete: boolean;
	/** A page after the first failed: the conversations before it are kept, the cursor stops at them. */
	error?: Error;
}

/**
 * One poll: conversations that ended since the cursor (or within the look-back window on the first run),
 * paging in conversationEnd order, minus those emitted at the cursor's millisecond last time
 * (the GmailTrigger pattern: a time cursor plus the ids seen at the boundary).
 */
export async function pollEndedConversations(
	api: AnalyticsApi,
	previous: ConversationEndCursor,
	options: PollOptions,
): Promise<PollOutcome> {
	const pageSize = options.pageSize ?? DETAILS_PAGE_SIZE;
	const maxPages = options.maxPages ?? MAX_PAGES_PER_POLL;
	const clock = options.clock ?? Date.now;
	const storedMs = previous.lastConversationEnd ? Date.parse(previous.lastConversationEnd) : Number.NaN;
	const firstRun = !Number.isFinite(storedMs);
	const cursorMs = firstRun ? options.nowMs - options.firstRunLookBackMs : storedMs;
	const knownAtCursor = firstRun ? [] : (previous.possibleDuplicates ?? []).filter((id) => typeof id === 'string');
	const settledMs = options.nowMs - options.settleMs;
	if (cursorMs >= settledMs) {
		return { conversations: [], cursor: cursorState(cursorMs, knownAtCursor), pages: 0, complete: true };
	}
	const windowEndMs = Math.min(settledMs, cursorMs + MAX_INTERVAL_MS);
	const capped = windowEndMs < settledMs;
	const known = new Set(knownAtCursor);
	const seen = new Set<string>();
	const conversations: AnalyticsConversation[] = [];
	let lastEndMs: number | undefined;
	let atLastEnd: string[] = [];
	let pages = 0;
	let complete = false;
	let error: Error | undefined;
	let interval: string | undefined;
	/** Keeps each conversation that ended inside the window once, and tracks the latest end time and who ended then. */
	const take = (list: AnalyticsConversation[]): void => {
		for (const conversation of list) {
			const endMs = Date.parse(conversation?.conversationEnd ?? '');
			// The interval also matches conversations still in progress or ending after the window: later polls take them.
			if (!Number.isFinite(endMs) || endMs < cursorMs || endMs > windowEndMs) continue;
			const id = conversation.conversationId;
			if (seen.has(id)) continue;
			seen.add(id);
			if (lastEndMs === undefined || endMs > lastEndMs) {
				lastEndMs = endMs;
				atLastEnd = [id];
			} else if (endMs === lastEndMs) {
				atLastEnd.push(id);
			}
			if (endMs === cursorMs && known.has(id)) continue;
			conversations.push(conversation);
		}
	};

	for (let pageNumber = 1; pageNumber <= maxPages; pageNumber++) {
		if (pageNumber > 1 && options.deadlineMs !== undefined && clock() >= options.deadlineMs) break;
		const query = detailsQuery({
			startMs: cursorMs - BOUNDARY_OVERLAP_MS,
			endMs: windowEndMs,
			pageNumber,
			pageSize,
			screenRecordingsOnly: options.screenRecordingsOnly,
		});
		interval = query.interval;
		let page: DetailsQueryResponse;
		try {
			page = await queryConversationDetails(api, query);
		} catch (caught) {
			if (pageNumber === 1) throw caught;
			error = caught as Error;
			break;
		}
		pages++;
		const list = Array.isArray(page.conversations) ? page.conversations : [];
		take(list);
		const totalHits = typeof page.totalHits === 'number' ? page.totalHits : undefined;
		if (list.length < pageSize || (totalHits !== undefined && pageNumber * pageSize >= totalHits)) {
			complete = true;
			break;
		}
	}

	// Genesys searches only conversations that started on a UTC day the interval touches. A call that began before
	// the cursor's UTC midnight and ended after the cursor is outside the main interval: a second query over the two
	// seconds around that midnight finds exactly those still active then (few), filtered like the main results.
	// Asked while the cursor is less than MIDNIGHT_CROSSING_MS past midnight: longer interactions are not expected.
	const midnightMs = Math.floor(cursorMs / DAY_MS) * DAY_MS;
	const sinceMidnight = cursorMs - BOUNDARY_OVERLAP_MS - midnightMs;
	if (complete && !error && sinceMidnight >= 0 && sinceMidnight < MIDNIGHT_CROSSING_MS) {
		const crossing = detailsQuery({
			startMs: midnightMs - 1000,
			endMs: Math.min(midnightMs + 1000, windowEndMs),
			pageNumber: 1,
			pageSize,
			screenRecordingsOnly: options.screenRecordingsOnly,
		});
		try {
			for (let pageNumber = 1; pageNumber <= maxPages; pageNumber++) {
				const page = await queryConversationDetails(api, { ...crossing, paging: { pageSize, pageNumber } });
				pages++;
				const list = Array.isArray(page.conversations) ? page.conversations : [];
				take(list);
				if (list.length < pageSize) break;
			}
		} catch (caught) {
			// The cursor stays where it was: the next poll asks again.
			error = caught as Error;
			complete = false;
			conversations.length = 0;
			lastEndMs = undefined;
			atLastEnd = [];
		}
		conversations.sort((a, b) => Date.parse(a.conversationEnd ?? '') - Date.parse(b.conversationEnd ?? ''));
	}

	let nextMs: number;
	let nextIds: string[];
	if (complete && (capped || lastEndMs === undefined)) {
		// The whole window was read: nothing more can end inside it (a capped window must move on, or it would repeat).
		nextMs = windowEndMs;
		nextIds = lastEndMs === windowEndMs ? atLastEnd : [];
	} else if (lastEndMs !== undefined) {
		nextMs = lastEndMs;
		nextIds = atLastEnd;
	} else {
		nextMs = cursorMs;
		nextIds = [];
	}
	// Ids already known at an unchanged cursor stay known even when this poll did not read them again.
	if (nextMs === cursorMs) nextIds = [...new Set([...knownAtCursor, ...nextIds])];
	return { conversations, cursor: cursorState(nextMs, nextIds), interval, pages, complete, error };
}

function cursorState(ms: number, ids: string[]): { lastConversationEnd: string; possibleDuplicates: string[] } {
	return { lastConversationEnd: new Date(ms).toISOString(), possibleDuplicates: ids };
}

/** "Fetch Test Event": the most recently ended matching conversation in the window, without touching any cursor. */
export async function latestEndedConversation(
	api: AnalyticsApi,
	options: { nowMs: number; windowMs: number; screenRecordingsOnly: boolean },
): Promise<AnalyticsConversation | undefined> {
	const page = await queryConversationDetails(
		api,
		detailsQuery({
			startMs: options.nowMs - options.windowMs,
			endMs: options.nowMs,
			pageNumber: 1,
			// Conversations still in progress may sort first; a short page finds an ended one behind them.
			pageSize: 25,
			order: 'desc',
			screenRecordingsOnly: options.screenRecordingsOnly,
		}),
	);
	return (page.conversations ?? []).find(
		(conversation) => Number.isFinite(Date.parse(conversation?.conversationEnd ?? '')) && isSafeId(conversation.conversationId),
	);
}

/**
 * The webhook's item shape for a polled conversation: the agent is the one whose screen was recorded
 * (else any agent), the latest to leave when several were (a transfer); times become ISO, enums upper case
 * as in detail events. Undefined for an id that could not be used as an object-store key.
 */
export function toConversationEvent(conversation: AnalyticsConversation): ConversationEvent | undefined {
	if (!isSafeId(conversation.conversationId)) return undefined;
	const participants = conversation.participants ?? [];
	const agents = participants.filter((participant) => participant.purpose === 'agent');
	const recorded = agents.filter((participant) => participant.screenRecording === true);
	const agent = latestToLeave(recorded.length > 0 ? recorded : agents);
	const sessions = agent?.sessions ?? [];
	const session =
		[...sessions].reverse().find((candidate) => !SCREEN_MEDIA_TYPES.has(String(candidate.mediaType).toLowerCase())) ??
		sessions[sessions.length - 1];
	const agentSegments = sessions.flatMap((candidate) => candidate.segments ?? []);
	const acdSegments = participants
		.filter((participant) => participant.purpose === 'acd')
		.flatMap((participant) => (participant.sessions ?? []).flatMap((candidate) => candidate.segments ?? []));
	const lastWith = (segments: AnalyticsSegment[], field: 'queueId' | 'wrapUpCode') =>
		[...segments].reverse().find((segment) => typeof segment[field] === 'string' && segment[field] !== '')?.[field];
	const event: ConversationEvent = {
		source: 'genesys-cloud',
		conversationId: conversation.conversationId,
		userId: text(agent?.userId),
		queueId: lastWith(agentSegments, 'queueId') ?? lastWith(acdSegments, 'queueId'),
		mediaType: upper(session?.mediaType),
		direction: upper(session?.direction ?? conversation.originatingDirection),
		wrapupCode: lastWith(agentSegments, 'wrapUpCode'),
		participantId: text(agent?.participantId),
		sessionId: text(session?.sessionId),
		eventTime: isoTime(conversation.conversationEnd),
		transport: 'polling',
	};
	return Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined)) as unknown as ConversationEvent;
}

function latestToLeave(participants: AnalyticsParticipant[]): AnalyticsParticipant | undefined {
	let latest: AnalyticsParticipant | undefined;
	let latestMs = Number.NEGATIVE_INFINITY;
	for (const participant of participants) {
		const ends = (participant.sessions ?? [])
			.flatMap((session) => session.segments ?? [])
			.map((segment) => Date.parse(segment.segmentEnd ?? ''))
			.filter(Number.isFinite);
		const leftMs = ends.length > 0 ? Math.max(...ends) : Number.NEGATIVE_INFINITY;
		// `>=`: on a tie the later participant in Genesys' list wins.
		if (latest === undefined || leftMs >= latestMs) {
			latest = participant;
			latestMs = leftMs;
		}
	}
	return latest;
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

function upper(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value.toUpperCase() : undefined;
}

function isoTime(value: unknown): string | undefined {
	const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
	return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
