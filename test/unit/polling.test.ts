import {
	detailsQuery,
	latestEndedConversation,
	pollEndedConversations,
	queryConversationDetails,
	toConversationEvent,
	type AnalyticsConversation,
	type PollOptions,
} from '../../nodes/shared/ccaas/genesys/analytics';
import { GenesysClient } from '../../nodes/shared/ccaas/genesys/client';
import { HttpError } from '../../nodes/shared/transport/errors';
import { createAnalyticsSimulator, type AnalyticsSimulator } from '../simulators/genesysAnalytics';
import { startGenesysSimulator, type GenesysSimulator, type SimConversation } from '../simulators/genesysCloud';
import { simulatorGenesysClient } from '../support/genesys';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.parse('2025-03-04T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

/** A conversation that ended `endOffsetMs` from NOW, five minutes long, with the agent's screen recorded. */
function screenConversation(id: string, endOffsetMs: number, extra: Partial<SimConversation> = {}): SimConversation {
	return {
		conversationId: id,
		startTime: at(endOffsetMs - 5 * MIN),
		endTime: at(endOffsetMs),
		queueId: 'queue-billing',
		direction: 'inbound',
		mediaType: 'VOICE',
		wrapupCode: 'wrap-resolved',
		participants: [{ purpose: 'agent', userId: `agent-${id}`, participantId: `participant-${id}` }],
		recordings: [{ recordingId: `screen-${id}`, media: 'screen', mediaSubtype: 'Screen', users: [{ id: `agent-${id}` }] }],
		...extra,
	};
}

const BASE: PollOptions = { nowMs: NOW, firstRunLookBackMs: HOUR, settleMs: MIN, screenRecordingsOnly: true };
const ids = (conversations: AnalyticsConversation[]) => conversations.map((conversation) => conversation.conversationId);

let sim: GenesysSimulator;
let analytics: AnalyticsSimulator;
let client: GenesysClient;

beforeEach(async () => {
	analytics = createAnalyticsSimulator();
	sim = await startGenesysSimulator({ extensions: [analytics.extension] });
	client = simulatorGenesysClient(sim);
});

afterEach(async () => {
	await sim.close();
});

describe('detailsQuery', () => {
	it('asks for conversations in conversationEnd order, one page, filtered to screen recordings', () => {
		expect(detailsQuery({ startMs: NOW - HOUR, endMs: NOW - MIN, pageNumber: 2, screenRecordingsOnly: true })).toEqual({
			interval: '2025-03-04T11:00:00.000Z/2025-03-04T11:59:00.000Z',
			order: 'asc',
			orderBy: 'conversationEnd',
			paging: { pageSize: 100, pageNumber: 2 },
			segmentFilters: [{ type: 'and', predicates: [{ dimension: 'screenRecording', value: 'true' }] }],
		});
	});

	it('leaves the segment filter out when screen recordings are not required', () => {
		const query = detailsQuery({ startMs: NOW - HOUR, endMs: NOW, pageNumber: 1, pageSize: 25, order: 'desc', screenRecordingsOnly: false });
		expect(query).toEqual({
			interval: '2025-03-04T11:00:00.000Z/2025-03-04T12:00:00.000Z',
			order: 'desc',
			orderBy: 'conversationEnd',
			paging: { pageSize: 25, pageNumber: 1 },
		});
		expect('segmentFilters' in query).toBe(false);
	});
});

describe('pollEndedConversations (analytics simulator)', () => {
	it('looks back only the bounded window on the first run, skipping unsettled, ongoing and unrecorded conversations', async () => {
		sim.seedConversation(screenConversation('conv-old', -2 * HOUR));
		sim.seedConversation(screenConversation('conv-in-1', -50 * MIN));
		sim.seedConversation(screenConversation('conv-in-2', -10 * MIN));
		sim.seedConversation(screenConversation('conv-unsettled', -30_000));
		sim.seedConversation(screenConversation('conv-ongoing', 0, { startTime: at(-3 * MIN), endTime: undefined }));
		sim.seedConversation(
			screenConversation('conv-audio-only', -20 * MIN, { recordings: [{ recordingId: 'audio-1', media: 'audio', mediaSubtype: 'Trunk' }] }),
		);

		const first = await pollEndedConversations(client, {}, BASE);
		expect(ids(first.conversations)).toEqual(['conv-in-1', 'conv-in-2']);
		expect(first.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:50:00.000Z', possibleDuplicates: ['conv-in-2'] });
		expect(first.complete).toBe(true);
		expect(first.pages).toBe(1);
		// One second of overlap before the look-back start; the window ends one settle delay before now.
		expect(analytics.stats.bodies).toEqual([
			{
				interval: '2025-03-04T10:59:59.000Z/2025-03-04T11:59:00.000Z',
				order: 'asc',
				orderBy: 'conversationEnd',
				paging: { pageSize: 100, pageNumber: 1 },
				segmentFilters: [{ type: 'and', predicates: [{ dimension: 'screenRecording', value: 'true' }] }],
			},
		]);

		// Two minutes later the unsettled conversation is due; the one at the cursor is not repeated.
		const second = await pollEndedConversations(client, first.cursor, { ...BASE, nowMs: NOW + 2 * MIN });
		expect(ids(second.conversations)).toEqual(['conv-unsettled']);
		expect(second.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:59:30.000Z', possibleDuplicates: ['conv-unsettled'] });
		expect(analytics.stats.bodies[1].interval).toBe('2025-03-04T11:49:59.000Z/2025-03-04T12:01:00.000Z');
	});

	it('moves the cursor to the window end when nothing ended in it (Genesys leaves `conversations` out)', async () => {
		sim.seedConversation(screenConversation('conv-old', -3 * HOUR));
		const outcome = await pollEndedConversations(client, {}, BASE);
		expect(outcome).toEqual({
			conversations: [],
			cursor: { lastConversationEnd: '2025-03-04T11:59:00.000Z', possibleDuplicates: [] },
			interval: '2025-03-04T10:59:59.000Z/2025-03-04T11:59:00.000Z',
			pages: 1,
			complete: true,
			error: undefined,
		});
	});

	describe('two conversations ending in the same millisecond at a page boundary', () => {
		beforeEach(() => {
			sim.seedConversation(screenConversation('conv-a', -40 * MIN));
			sim.seedConversation(screenConversation('conv-b', -35 * MIN));
			sim.seedConversation(screenConversation('conv-c', -30 * MIN));
			sim.seedConversation(screenConversation('conv-d', -30 * MIN));
			sim.seedConversation(screenConversation('conv-e', -20 * MIN));
		});

		it('pages through every result and emits both once', async () => {
			const outcome = await pollEndedConversations(client, {}, { ...BASE, pageSize: 3 });
			expect(ids(outcome.conversations)).toEqual(['conv-a', 'conv-b', 'conv-c', 'conv-d', 'conv-e']);
			expect(analytics.stats.bodies.map((body) => body.paging)).toEqual([
				{ pageSize: 3, pageNumber: 1 },
				{ pageSize: 3, pageNumber: 2 },
			]);
			expect(outcome.pages).toBe(2);
			expect(outcome.complete).toBe(true);
			expect(outcome.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:40:00.000Z', possibleDuplicates: ['conv-e'] });
		});

		it('resumes inside that millisecond after a poll that stopped at the boundary, without repeating or losing one', async () => {
			const first = await pollEndedConversations(client, {}, { ...BASE, pageSize: 3, maxPages: 1 });
			expect(ids(first.conversations)).toEqual(['conv-a', 'conv-b', 'conv-c']);
			expect(first.complete).toBe(false);
			expect(first.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:30:00.000Z', possibleDuplicates: ['conv-c'] });

			const second = await pollEndedConversations(client, first.cursor, { ...BASE, pageSize: 3, maxPages: 1 });
			expect(ids(second.conversations)).toEqual(['conv-d', 'conv-e']);
			expect(second.complete).toBe(true);
			expect(second.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:40:00.000Z', possibleDuplicates: ['conv-e'] });

			const third = await pollEndedConversations(client, second.cursor, { ...BASE, pageSize: 3, maxPages: 1 });
			expect(third.conversations).toEqual([]);
			expect(third.cursor).toEqual(second.cursor);
		});

		it('stops asking for pages once the deadline has passed and continues from the last one read', async () => {
			const outcome = await pollEndedConversations(client, {}, { ...BASE, pageSize: 2, deadlineMs: 1000, clock: () => 1000 });
			expect(ids(outcome.conversations)).toEqual(['conv-a', 'conv-b']);
			expect(analytics.stats.queries).toBe(1);
			expect(outcome.complete).toBe(false);
			expect(outcome.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:25:00.000Z', possibleDuplicates: ['conv-b'] });
		});

		it('keeps the pages read before a failing one and reports the failure; a failing first page is thrown', async () => {
			analytics.failNext(400, 1, 1);
			const partial = await pollEndedConversations(client, {}, { ...BASE, pageSize: 3 });
			expect(ids(partial.conversations)).toEqual(['conv-a', 'conv-b', 'conv-c']);
			expect(partial.complete).toBe(false);
			expect(partial.error).toBeInstanceOf(HttpError);
			expect((partial.error as HttpError).status).toBe(400);
			expect(partial.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:30:00.000Z', possibleDuplicates: ['conv-c'] });

			analytics.failNext(400);
			await expect(pollEndedConversations(client, partial.cursor, BASE)).rejects.toMatchObject({ name: 'HttpError', status: 400 });
		});
	});

	it('keeps the boundary ids of an unchanged cursor even when a new one ends in the same millisecond', async () => {
		sim.seedConversation(screenConversation('conv-x', -30 * MIN));
		const first = await pollEndedConversations(client, {}, BASE);
		expect(first.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:30:00.000Z', possibleDuplicates: ['conv-x'] });
		// Indexed late, but it ended in the very millisecond of the cursor.
		sim.seedConversation(screenConversation('conv-y', -30 * MIN));
		const second = await pollEndedConversations(client, first.cursor, { ...BASE, nowMs: NOW + MIN });
		expect(ids(second.conversations)).toEqual(['conv-y']);
		expect(second.cursor).toEqual({ lastConversationEnd: '2025-03-04T11:30:00.000Z', possibleDuplicates: ['conv-x', 'conv-y'] });
	});

	it('catches up after a long outage one bounded window (7 days) at a time', async () => {
		sim.seedConversation(screenConversation('conv-after-outage', -2 * DAY));
		const stale = { lastConversationEnd: at(-10 * DAY), possibleDuplicates: ['conv-before-outage'] };
		const first = await pollEndedConversations(client, stale, BASE);
		expect(first.conversations).toEqual([]);
		expect(first.interval).toBe('2025-02-22T11:59:59.000Z/2025-03-01T12:00:00.000Z');
		expect(first.cursor).toEqual({ lastConversationEnd: '2025-03-01T12:00:00.000Z', possibleDuplicates: [] });

		const second = await pollEndedConversations(client, first.cursor, BASE);
		expect(ids(second.conversations)).toEqual(['conv-after-outage']);
		expect(second.interval).toBe('2025-03-01T11:59:59.000Z/2025-03-04T11:59:00.000Z');
	});

	it('counts every ended conversation when the screen recording filter is off', async () => {
		sim.seedConversation(screenConversation('conv-screen', -30 * MIN));
		sim.seedConversation(
			screenConversation('conv-audio-only', -20 * MIN, { recordings: [{ recordingId: 'audio-1', media: 'audio', mediaSubtype: 'Trunk' }] }),
		);
		const outcome = await pollEndedConversations(client, {}, { ...BASE, screenRecordingsOnly: false });
		expect(ids(outcome.conversations)).toEqual(['conv-screen', 'conv-audio-only']);
		expect(analytics.stats.bodies[0].segmentFilters).toBeUndefined();
	});

	it('asks nothing while the cursor is younger than the settle delay', async () => {
		const cursor = { lastConversationEnd: at(-30_000), possibleDuplicates: ['conv-z'] };
		const outcome = await pollEndedConversations(client, cursor, BASE);
		expect(outcome).toEqual({ conversations: [], cursor, pages: 0, complete: true });
		expect(analytics.stats.queries).toBe(0);
	});
});

describe('pollEndedConversations across UTC midnight', () => {
	it('finds a conversation that started before midnight and ended after the cursor, once', async () => {
		sim.seedConversation(
			screenConversation('conv-midnight', 0, { startTime: '2025-03-03T23:50:00.000Z', endTime: '2025-03-04T00:10:00.000Z' }),
		);
		sim.seedConversation(screenConversation('conv-after', 0, { startTime: '2025-03-04T00:08:00.000Z', endTime: '2025-03-04T00:12:00.000Z' }));
		// Ended before midnight: the previous day's polls took it.
		sim.seedConversation(screenConversation('conv-before', 0, { startTime: '2025-03-03T23:40:00.000Z', endTime: '2025-03-03T23:55:00.000Z' }));
		const options: PollOptions = { ...BASE, nowMs: Date.parse('2025-03-04T00:30:00.000Z') };
		const cursor = { lastConversationEnd: '2025-03-04T00:05:00.000Z', possibleDuplicates: [] };
		const first = await pollEndedConversations(client, cursor, options);
		expect(ids(first.conversations)).toEqual(['conv-midnight', 'conv-after']);
		expect(first.cursor.lastConversationEnd).toBe('2025-03-04T00:12:00.000Z');
		const again = await pollEndedConversations(client, first.cursor, { ...options, nowMs: Date.parse('2025-03-04T00:40:00.000Z') });
		expect(again.conversations).toEqual([]);
	});

	it('asks about midnight only in the first hours of a UTC day', async () => {
		const before = analytics.stats.queries;
		const cursor = { lastConversationEnd: '2025-03-04T08:00:00.000Z', possibleDuplicates: [] };
		await pollEndedConversations(client, cursor, { ...BASE, nowMs: Date.parse('2025-03-04T08:30:00.000Z') });
		expect(analytics.stats.queries - before).toBe(1);
		const early = { lastConversationEnd: '2025-03-04T01:00:00.000Z', possibleDuplicates: [] };
		await pollEndedConversations(client, early, { ...BASE, nowMs: Date.parse('2025-03-04T01:30:00.000Z') });
		expect(analytics.stats.queries - before).toBe(3);
	});
});

describe('analytics simulator: the documented interval rule', () => {
	it('does not search a conversation that started before the first UTC day of the interval, even if it ended inside', async () => {
		sim.seedConversation(
			screenConversation('conv-midnight', 0, { startTime: '2025-03-03T23:50:00.000Z', endTime: '2025-03-04T00:10:00.000Z' }),
		);
		const query = (interval: string) =>
			queryConversationDetails(client, {
				interval,
				order: 'asc',
				orderBy: 'conversationEnd',
				paging: { pageSize: 100, pageNumber: 1 },
			});
		expect(await query('2025-03-04T00:05:00.000Z/2025-03-04T00:30:00.000Z')).toEqual({ totalHits: 0 });
		const touchingTheDayBefore = await query('2025-03-03T23:59:00.000Z/2025-03-04T00:30:00.000Z');
		expect(ids(touchingTheDayBefore.conversations ?? [])).toEqual(['conv-midnight']);
		expect(touchingTheDayBefore.totalHits).toBe(1);
	});

	it('refuses a page size above 100 and filters it does not simulate', async () => {
		const refused = (body: object) => client.api({ method: 'POST', path: '/api/v2/analytics/conversations/details/query', body });
		await expect(
			refused({ interval: '2025-03-04T00:00:00Z/2025-03-04T01:00:00Z', paging: { pageSize: 101, pageNumber: 1 } }),
		).rejects.toMatchObject({ status: 400 });
		await expect(
			refused({
				interval: '2025-03-04T00:00:00Z/2025-03-04T01:00:00Z',
				segmentFilters: [{ type: 'and', predicates: [{ dimension: 'queueId', value: 'queue-billing' }] }],
			}),
		).rejects.toMatchObject({ status: 400 });
	});
});

describe('toConversationEvent', () => {
	const transfer = (recordedUsers: string[]): SimConversation =>
		screenConversation('conv-transfer', -10 * MIN, {
			startTime: at(-20 * MIN),
			queueId: 'queue-sales',
			participants: [
				{ purpose: 'agent', userId: 'agent-1', participantId: 'participant-1', queueId: 'queue-sales' },
				{ purpose: 'agent', userId: 'agent-2', participantId: 'participant-2', queueId: 'queue-billing' },
			],
			recordings: recordedUsers.map((id) => ({ recordingId: `screen-${id}`, media: 'screen' as const, mediaSubtype: 'Screen' as const, users: [{ id }] })),
		});

	it('takes the recorded agent of a transfer, its queue and wrap-up code, and the detail-event spelling', () => {
		const conversation = analytics.toAnalytics(transfer(['agent-2']), NOW);
		const agentSession = conversation.participants.find((participant) => participant.userId === 'agent-2')!.sessions[0];
		expect(toConversationEvent(conversation)).toEqual({
			source: 'genesys-cloud',
			conversationId: 'conv-transfer',
			userId: 'agent-2',
			queueId: 'queue-billing',
			mediaType: 'VOICE',
			direction: 'INBOUND',
			wrapupCode: 'wrap-resolved',
			participantId: 'participant-2',
			sessionId: agentSession.sessionId,
			eventTime: '2025-03-04T11:50:00.000Z',
			transport: 'polling',
		});
	});

	it('prefers the agent whose screen was recorded over a later one, else the agent who left last', () => {
		expect(toConversationEvent(analytics.toAnalytics(transfer(['agent-1']), NOW))).toMatchObject({
			userId: 'agent-1',
			participantId: 'participant-1',
			queueId: 'queue-sales',
		});
		expect(toConversationEvent(analytics.toAnalytics(transfer([]), NOW))).toMatchObject({
			userId: 'agent-2',
			participantId: 'participant-2',
		});
	});

	it('leaves out what the conversation lacks and refuses ids unfit for object keys', () => {
		expect(toConversationEvent({ conversationId: 'conv-bare', conversationEnd: '2025-03-04T11:50:00.123Z' })).toEqual({
			source: 'genesys-cloud',
			conversationId: 'conv-bare',
			eventTime: '2025-03-04T11:50:00.123Z',
			transport: 'polling',
		});
		expect(toConversationEvent({ conversationId: '../escape', conversationEnd: '2025-03-04T11:50:00.000Z' })).toBeUndefined();
	});
});

describe('latestEndedConversation', () => {
	it('returns the most recently ended matching conversation, newest first, without a settle delay', async () => {
		sim.seedConversation(screenConversation('conv-earlier', -3 * HOUR));
		sim.seedConversation(screenConversation('conv-latest', -10_000));
		sim.seedConversation(screenConversation('conv-ongoing', 0, { startTime: at(-MIN), endTime: undefined }));
		const sample = await latestEndedConversation(client, { nowMs: NOW, windowMs: DAY, screenRecordingsOnly: true });
		expect(sample?.conversationId).toBe('conv-latest');
		expect(analytics.stats.bodies).toEqual([
			{
				interval: '2025-03-03T12:00:00.000Z/2025-03-04T12:00:00.000Z',
				order: 'desc',
				orderBy: 'conversationEnd',
				paging: { pageSize: 25, pageNumber: 1 },
				segmentFilters: [{ type: 'and', predicates: [{ dimension: 'screenRecording', value: 'true' }] }],
			},
		]);
	});

	it('returns undefined when nothing ended in the window', async () => {
		expect(await latestEndedConversation(client, { nowMs: NOW, windowMs: HOUR, screenRecordingsOnly: true })).toBeUndefined();
	});
});
