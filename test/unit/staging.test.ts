import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { clearGenesysTokenCache, GenesysClient } from '../../nodes/shared/ccaas/genesys/client';
import { isSensitiveConversation, stageConversationScreenRecordings, type StageDeps, type StageOptions } from '../../nodes/shared/ccaas/genesys/staging';
import { InvalidIdError } from '../../nodes/shared/ids';
import { closeAllStateStores, openStateStore, type StateStore } from '../../nodes/shared/state';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { HttpError } from '../../nodes/shared/transport/errors';
import { HttpClient } from '../../nodes/shared/transport/http';
import { startGenesysSimulator, type GenesysSimulator, type SimConversation } from '../simulators/genesysCloud';
import { syntheticSha256 } from '../simulators/syntheticMedia';
import { startS3Server, type S3TestServer } from '../support/s3';
import { simulatorGenesysCredentials } from '../support/genesys';

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };
const OPTIONS: StageOptions = { maxTranscodeWaitMs: 2000, serverMaxWaitMs: 0 };
const SIZE_A = 300 * 1024 + 17;
const SIZE_B = 200 * 1024 + 3;

let sim: GenesysSimulator;
let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
let state: StateStore;

/** Called with every response the Genesys client receives (API and media). */
let onResponse: (response: Response) => void = () => undefined;

function deps(): StageDeps {
	const client = new GenesysClient(
		simulatorGenesysCredentials(sim),
		new HttpClient({ retry: FAST, onResponse: (response) => onResponse(response) }),
	);
	return { client, store, state };
}

function transfer(conversationId: string, overrides: Partial<SimConversation> = {}): SimConversation {
	return {
		conversationId,
		startTime: '2025-03-04T10:00:00.000Z',
		endTime: '2025-03-04T10:07:30.000Z',
		recordings: [
			{
				recordingId: `${conversationId}-screen-a`,
				media: 'screen',
				users: [{ id: 'agent-a', name: 'Ada', email: 'ada@example.com' }],
				sizeBytes: SIZE_A,
				seed: 'a',
				startTime: '2025-03-04T10:00:00.000Z',
				endTime: '2025-03-04T10:03:00.000Z',
			},
			{
				recordingId: `${conversationId}-screen-b`,
				media: 'screen',
				users: [{ id: 'agent-b', name: 'Bo' }],
				sizeBytes: SIZE_B,
				seed: 'b',
				startTime: '2025-03-04T10:03:00.000Z',
				endTime: '2025-03-04T10:07:30.000Z',
			},
			{ recordingId: `${conversationId}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 4096 },
		],
		...overrides,
	};
}

function keyOf(conversationId: string, recordingId: string): string {
	return `recordings/genesys-cloud/${conversationId}/${recordingId}/original.webm`;
}

beforeAll(async () => {
	[sim, s3] = await Promise.all([startGenesysSimulator({ mediaUrlTtlSec: 120 }), startS3Server()]);
	store = new ObjectStore(s3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-staging-'));
	state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
});

afterAll(async () => {
	store.client.destroy();
	await Promise.allSettled([sim.close(), s3.close()]);
	await closeAllStateStores();
	await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
	clearGenesysTokenCache();
	sim.clearFaults();
	sim.resetStats();
	onResponse = () => undefined;
});

describe('stageConversationScreenRecordings', () => {
	it('stages each screen recording of a transferred call for its own agent and leaves the audio alone', async () => {
		sim.seedConversation(transfer('conv-t1'));
		const result = await stageConversationScreenRecordings(
			deps(),
			{ conversationId: 'conv-t1', agentId: 'agent-fallback', queueId: 'queue-billing', wrapupCode: 'wrap-ok', direction: 'INBOUND' },
			OPTIONS,
		);
		if (result.state !== 'staged') throw new Error(`expected staged, got ${result.state}`);
		expect(result.reused).toEqual([]);
		expect(result.skipped).toEqual([]);
		expect(result.polls).toBe(1);
		const refs = [...result.refs].sort((x, y) => x.recordingId.localeCompare(y.recordingId));
		expect(refs.map((ref) => ref.recordingId)).toEqual(['conv-t1-screen-a', 'conv-t1-screen-b']);
		expect(refs[0]).toEqual({
			source: 'genesys-cloud',
			conversationId: 'conv-t1',
			recordingId: 'conv-t1-screen-a',
			agent: { id: 'agent-a', name: 'Ada', email: 'ada@example.com' },
			mediaType: 'screen',
			startTime: '2025-03-04T10:00:00.000Z',
			endTime: '2025-03-04T10:03:00.000Z',
			durationSec: 180,
			stateKey: 'genesys-cloud:conv-t1:conv-t1-screen-a',
			queue: { id: 'queue-billing' },
			wrapupCode: 'wrap-ok',
			direction: 'INBOUND',
			object: {
				bucket: s3.bucket,
				key: keyOf('conv-t1', 'conv-t1-screen-a'),
				size: SIZE_A,
				sha256: await syntheticSha256(SIZE_A, 'a'),
				contentType: 'video/webm',
			},
		});
		expect(refs[1].agent).toEqual({ id: 'agent-b', name: 'Bo' });
		expect(refs[1].durationSec).toBe(270);
		expect(refs[1].object?.sha256).toBe(await syntheticSha256(SIZE_B, 'b'));

		const head = await store.head(keyOf('conv-t1', 'conv-t1-screen-a'));
		expect(head?.size).toBe(SIZE_A);
		expect(head?.metadata).toMatchObject({ 'conversation-id': 'conv-t1', 'recording-id': 'conv-t1-screen-a', source: 'genesys-cloud' });
		expect(await store.head('recordings/genesys-cloud/conv-t1/conv-t1-audio/original.webm')).toBeUndefined();

		const row = await state.getRecording('genesys-cloud:conv-t1:conv-t1-screen-b');
		expect(row?.stage).toBe('staged');
		expect(row?.ref.object).toEqual(refs[1].object);
		expect(await state.getRecording('genesys-cloud:conv-t1:conv-t1-audio')).toBeUndefined();
		expect(sim.stats.mediaRequests).toBe(2);
		expect(sim.stats.mediaBytesServed).toBe(SIZE_A + SIZE_B);
	});

	it('falls back to the conversation agent and flags SecurePause when the recording names no user', async () => {
		sim.seedConversation({
			conversationId: 'conv-nouser',
			recordings: [
				{
					recordingId: 'rec-nouser',
					media: 'screen',
					sizeBytes: 2048,
					annotations: [{ location: 1000, durationMs: 5000, reason: 'SecurePause' }],
				},
			],
		});
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-nouser', agentId: 'agent-from-event' }, OPTIONS);
		if (result.state !== 'staged') throw new Error('not staged');
		expect(result.refs).toHaveLength(1);
		expect(result.refs[0].agent).toEqual({ id: 'agent-from-event' });
		expect(result.refs[0].platformFlags).toEqual({ securePause: true });
		expect(result.refs[0].durationSec).toBe(300);
	});

	it('marks a conversation the operator rule calls sensitive (queue or wrap-up code), alongside SecurePause', async () => {
		expect(isSensitiveConversation({ queueId: 'Q-PAYMENTS' }, { queueIds: ['q-payments'], wrapupCodes: [] })).toBe(true);
		expect(isSensitiveConversation({ queueId: 'q-sales', wrapupCode: 'Card Taken' }, { queueIds: ['q-payments'], wrapupCodes: ['card taken'] })).toBe(true);
		expect(isSensitiveConversation({ queueId: 'q-sales' }, { queueIds: ['q-payments'], wrapupCodes: [] })).toBe(false);
		expect(isSensitiveConversation({}, { queueIds: [], wrapupCodes: [] })).toBe(false);
		sim.seedConversation({
			conversationId: 'conv-sensitive',
			recordings: [
				{ recordingId: 'rec-sensitive', media: 'screen', sizeBytes: 2048, users: [{ id: 'agent-s' }], annotations: [{ location: 0, durationMs: 1000, reason: 'SecurePause' }] },
			],
		});
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-sensitive', queueId: 'q-payments', sensitive: true }, OPTIONS);
		if (result.state !== 'staged') throw new Error('not staged');
		expect(result.refs[0].platformFlags).toEqual({ sensitiveData: true, securePause: true });
	});

	it('handles every fileState: uploading waits, archived is restored then staged on a later run, deleted is dead-lettered', async () => {
		sim.seedConversation({
			conversationId: 'conv-states',
			recordings: [
				{ recordingId: 'rec-uploading', media: 'screen', fileState: 'UPLOADING', uploadMs: 60_000, sizeBytes: 1024 },
				{ recordingId: 'rec-archived', media: 'screen', fileState: 'ARCHIVED', restoreMs: 30_000, sizeBytes: 1024 },
				{ recordingId: 'rec-deleted', media: 'screen', fileState: 'DELETED', sizeBytes: 1024 },
				{ recordingId: 'rec-error', media: 'screen', fileState: 'ERROR', sizeBytes: 1024 },
				{ recordingId: 'rec-restored', media: 'screen', fileState: 'RESTORED', sizeBytes: 1500 },
				{ recordingId: 'rec-audio-archived', media: 'audio', fileState: 'ARCHIVED', sizeBytes: 1024 },
			],
		});
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-states' }, OPTIONS);
		if (result.state !== 'staged') throw new Error('not staged');
		expect(result.refs.map((ref) => [ref.recordingId, ref.object?.size])).toEqual([['rec-restored', 1500]]);
		expect(result.skipped.map((skip) => [skip.recordingId, skip.outcome, skip.retryAfterSec])).toEqual([
			['rec-uploading', 'not_ready', 120],
			['rec-archived', 'restoring', 300],
			['rec-deleted', 'deleted', undefined],
			['rec-error', 'error', undefined],
		]);
		expect(sim.stats.restoreRequests).toBe(1);
		expect((await state.getRecording('genesys-cloud:conv-states:rec-uploading'))?.stage).toBe('not_ready');
		expect((await state.getRecording('genesys-cloud:conv-states:rec-archived'))?.stage).toBe('restoring');
		expect((await state.getRecording('genesys-cloud:conv-states:rec-deleted'))?.stage).toBe('failed');
		const letters = await state.listDeadLetters();
		expect(letters.map((letter) => letter.stateKey).sort()).toEqual(['genesys-cloud:conv-states:rec-deleted', 'genesys-cloud:conv-states:rec-error']);
		expect(sim.stats.mediaRequests).toBe(1);

		// Still restoring a moment later: no second restore request, nothing downloaded.
		sim.advanceTime(10_000);
		const meanwhile = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-states' }, OPTIONS);
		if (meanwhile.state !== 'staged') throw new Error('not staged');
		expect(meanwhile.skipped.find((skip) => skip.recordingId === 'rec-archived')?.fileState).toBe('RESTORING');
		expect(sim.stats.restoreRequests).toBe(1);

		// After the upload and the restore finish, a later run stages both; deleted ones stay final.
		sim.advanceTime(60_000);
		const later = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-states' }, OPTIONS);
		if (later.state !== 'staged') throw new Error('not staged');
		expect(later.refs.map((ref) => ref.recordingId).sort()).toEqual(['rec-archived', 'rec-restored', 'rec-uploading']);
		expect(later.reused).toEqual(['rec-restored']);
		expect((await state.getRecording('genesys-cloud:conv-states:rec-archived'))?.stage).toBe('staged');
		expect((await state.listDeadLetters()).length).toBe(2);
	});

	it('reuses an already staged, intact object instead of downloading it again', async () => {
		sim.seedConversation(transfer('conv-re'));
		const first = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-re' }, OPTIONS);
		expect(sim.stats.mediaRequests).toBe(2);
		const second = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-re' }, OPTIONS);
		if (first.state !== 'staged' || second.state !== 'staged') throw new Error('not staged');
		expect(second.reused.sort()).toEqual(['conv-re-screen-a', 'conv-re-screen-b']);
		expect(sim.stats.mediaRequests).toBe(2);
		expect(sim.stats.recordingListCalls).toBe(2);
		const objects = (refs: typeof first.refs) => Object.fromEntries(refs.map((ref) => [ref.recordingId, ref.object]));
		expect(objects(second.refs)).toEqual(objects(first.refs));
		expect((await state.getRecording('genesys-cloud:conv-re:conv-re-screen-a'))?.stage).toBe('staged');
	});

	it('downloads again when the staged object is gone, without downgrading a pushed row', async () => {
		sim.seedConversation(transfer('conv-gone'));
		await stageConversationScreenRecordings(deps(), { conversationId: 'conv-gone' }, OPTIONS);
		const stateKey = 'genesys-cloud:conv-gone:conv-gone-screen-a';
		const row = await state.getRecording(stateKey);
		expect(await state.updateRecording(stateKey, row!.version, { stage: 'pushed_placeholder' })).toBeDefined();
		await store.deleteObject(keyOf('conv-gone', 'conv-gone-screen-a'));

		const again = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-gone' }, OPTIONS);
		if (again.state !== 'staged') throw new Error('not staged');
		expect(again.reused).toEqual(['conv-gone-screen-b']);
		expect(sim.stats.mediaRequests).toBe(3);
		expect((await store.head(keyOf('conv-gone', 'conv-gone-screen-a')))?.size).toBe(SIZE_A);
		const after = await state.getRecording(stateKey);
		expect(after?.stage).toBe('pushed_placeholder');
		expect(after?.ref.object?.size).toBe(SIZE_A);
	});

	it('reads the recording again for a fresh URL when the signed URL has expired (403), once', async () => {
		sim.seedConversation({
			conversationId: 'conv-exp',
			recordings: [{ recordingId: 'rec-exp', media: 'screen', users: [{ id: 'agent-a' }], sizeBytes: SIZE_B, seed: 'e' }],
		});
		let advanced = 0;
		onResponse = (response) => {
			// The signed URLs of the first listing expire before the download starts.
			if (advanced === 0 && response.status === 200 && new URL(response.url).pathname === '/api/v2/conversations/conv-exp/recordings') {
				advanced = 121_000;
				sim.advanceTime(advanced);
			}
		};
		try {
			const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-exp' }, OPTIONS);
			if (result.state !== 'staged') throw new Error('not staged');
			expect(result.refs[0].object?.size).toBe(SIZE_B);
			expect(result.refs[0].object?.sha256).toBe(await syntheticSha256(SIZE_B, 'e'));
		} finally {
			sim.advanceTime(-advanced);
		}
		expect(sim.stats.mediaRequests).toBe(2);
		expect(sim.stats.byStatus['403']).toBe(1);
		expect(sim.stats.recordingGetCalls).toBe(1);
		expect(sim.stats.byPath['GET /api/v2/conversations/conv-exp/recordings/rec-exp']).toBe(1);
		expect((await state.getRecording('genesys-cloud:conv-exp:rec-exp'))?.stage).toBe('staged');
	});

	it('gives up with the 403 after a bounded number of fresh URLs that are all refused, leaving nothing staged', async () => {
		sim.seedConversation({
			conversationId: 'conv-exp2',
			recordings: [{ recordingId: 'rec-exp2', media: 'screen', sizeBytes: 1024 }],
		});
		let advanced = 0;
		onResponse = (response) => {
			if (response.status === 200 && new URL(response.url).pathname.startsWith('/api/v2/conversations/conv-exp2/recordings')) {
				advanced += 121_000;
				sim.advanceTime(121_000);
			}
		};
		let caught: unknown;
		try {
			await stageConversationScreenRecordings(deps(), { conversationId: 'conv-exp2' }, OPTIONS);
		} catch (error) {
			caught = error;
		} finally {
			sim.advanceTime(-advanced);
		}
		expect(caught).toBeInstanceOf(HttpError);
		expect((caught as HttpError).status).toBe(403);
		expect((caught as HttpError).url).toBe(`${sim.baseUrl}/media/conv-exp2/rec-exp2.webm`);
		expect((caught as Error).message).not.toContain('X-Amz-Signature');
		expect(sim.stats.mediaRequests).toBe(6);
		expect(sim.stats.recordingGetCalls).toBe(5);
		expect((await state.getRecording('genesys-cloud:conv-exp2:rec-exp2'))?.stage).toBe('staging');
		expect(await store.head(keyOf('conv-exp2', 'rec-exp2'))).toBeUndefined();
	});

	it('returns transcoding, touching neither store, when the media is not ready in time', async () => {
		sim.seedConversation({
			conversationId: 'conv-slow',
			recordings: [{ recordingId: 'rec-slow', media: 'screen', sizeBytes: 1024, transcode202Count: 1000 }],
		});
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-slow' }, { maxTranscodeWaitMs: 150, serverMaxWaitMs: 0 });
		expect(result.state).toBe('transcoding');
		if (result.state !== 'transcoding') return;
		expect(result.waitedMs).toBeGreaterThanOrEqual(150);
		expect(result.polls).toBe(sim.stats.accepted202);
		expect(await state.getRecording('genesys-cloud:conv-slow:rec-slow')).toBeUndefined();
		expect(sim.stats.mediaRequests).toBe(0);
	});

	it('resumes with a Range request where a broken download stopped: one object, byte-identical', async () => {
		sim.seedConversation({
			conversationId: 'conv-drop',
			recordings: [{ recordingId: 'rec-drop', media: 'screen', sizeBytes: SIZE_A, seed: 'd' }],
		});
		sim.setFault({ path: '/media/**', dropAfterBytes: 64 * 1024 });
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-drop' }, OPTIONS);
		if (result.state !== 'staged') throw new Error('not staged');
		expect(result.resumes).toBe(1);
		expect(result.refs[0].object?.size).toBe(SIZE_A);
		expect(result.refs[0].object?.sha256).toBe(await syntheticSha256(SIZE_A, 'd'));
		expect(sim.stats.mediaRequests).toBe(2);
		// The broken connection reuses its still-valid URL: no metadata re-read.
		expect(sim.stats.recordingGetCalls).toBe(0);
		expect(sim.stats.mediaBytesServed).toBeLessThan(SIZE_A + 256 * 1024);
	});

	it('an URL that expires mid-download is replaced by a fresh one and the download resumes', async () => {
		sim.seedConversation({
			conversationId: 'conv-expire-mid',
			recordings: [{ recordingId: 'rec-expire-mid', media: 'screen', sizeBytes: SIZE_A, seed: 'e' }],
		});
		// The connection breaks after 128 KiB and, meanwhile, the signed URL's lifetime runs out.
		sim.setFault({ path: '/media/**', dropAfterBytes: 128 * 1024, advanceClockMs: 2 * 3600_000 });
		const result = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-expire-mid' }, OPTIONS);
		if (result.state !== 'staged') throw new Error('not staged');
		expect(result.refs[0].object?.sha256).toBe(await syntheticSha256(SIZE_A, 'e'));
		expect(sim.stats.byStatus['403']).toBe(1);
		expect(sim.stats.recordingGetCalls).toBe(1);
		// The broken first answer, the old URL refused (403), the resumed 206 on the fresh URL.
		expect(sim.stats.mediaRequests).toBe(3);
		expect(result.resumes).toBe(2);
	});

	it('refuses unsafe ids before any request, naming the field', async () => {
		let caught: unknown;
		try {
			await stageConversationScreenRecordings(deps(), { conversationId: '../../etc' }, OPTIONS);
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(InvalidIdError);
		expect((caught as InvalidIdError).field).toBe('conversationId');
		expect(sim.stats.apiRequests + sim.stats.tokenRequests).toBe(0);

		sim.seedConversation({
			conversationId: 'conv-badrec',
			recordings: [{ recordingId: 'rec with space', media: 'screen', sizeBytes: 1024 }],
		});
		const error = await stageConversationScreenRecordings(deps(), { conversationId: 'conv-badrec' }, OPTIONS).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidIdError);
		expect((error as InvalidIdError).field).toBe('recordingId');
		expect(sim.stats.mediaRequests).toBe(0);
	});
});
