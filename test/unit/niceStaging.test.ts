import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { clearNiceClientCaches } from '../../nodes/shared/ccaas/nice/client';
import { parsePlayback } from '../../nodes/shared/ccaas/nice/playback';
import { stageVoiceAndScreen, type NiceStageDeps } from '../../nodes/shared/ccaas/nice/staging';
import { closeAllStateStores, openStateStore, type StateStore } from '../../nodes/shared/state';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { TokenBucket } from '../../nodes/shared/transport/rateLimit';
import { startNiceCxoneSimulator, type NiceSimulator, type NiceSimulatorOptions } from '../simulators/niceCxone';
import { syntheticSha256 } from '../simulators/syntheticMedia';
import { makeClip, mp4TopLevelBoxes } from '../support/mediaClips';
import { simulatorNiceClient } from '../support/nice';
import { startS3Server, type S3TestServer } from '../support/s3';

let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
let state: StateStore;
let mp4Path: string;
let mp4Sha: string;
let sim: NiceSimulator;

beforeAll(async () => {
	s3 = await startS3Server();
	store = new ObjectStore(s3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-nice-staging-'));
	state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
	mp4Path = await makeClip(join(dir, 'voice-and-screen.mp4'), { seconds: 2, codec: 'h264', faststart: true });
	mp4Sha = createHash('sha256').update(await readFile(mp4Path)).digest('hex');
}, 120_000);

afterAll(async () => {
	await closeAllStateStores();
	await s3.close();
	await rm(dir, { recursive: true, force: true });
});

async function start(options: NiceSimulatorOptions = {}): Promise<void> {
	clearNiceClientCaches();
	sim = await startNiceCxoneSimulator({ extractionIntervalMs: 0, ...options });
}

afterEach(async () => {
	await sim?.close();
});

function deps(bucket?: TokenBucket): NiceStageDeps {
	return { client: simulatorNiceClient(sim, {}, bucket ? { playbackBucket: bucket } : {}), store, state };
}

describe('NICE CXone voice-and-screen staging', () => {
	it('streams the fileToPlayUrl MP4 into the store with SHA-256 and size, writes the state row, outputs a RecordingRef', async () => {
		await start();
		sim.seedContact({
			acdContactId: '600001',
			agent: { id: 'agent-9', name: 'Grace Hopper' },
			startTime: '2025-03-04T10:00:00.000Z',
			endTime: '2025-03-04T10:06:30.000Z',
			recordings: [
				{ segmentId: '800001', filePath: mp4Path },
				{ segmentId: '800002', mediaType: 'voice-only', sizeBytes: 1000 },
			],
		});
		const result = await stageVoiceAndScreen(deps(), { acdCallId: '600001' }, {});
		expect(result.skipped).toEqual([]);
		expect(result.refs).toHaveLength(1);
		const [ref] = result.refs;
		const key = 'recordings/nice-cxone/600001/800001/original.mp4';
		expect(ref).toEqual({
			source: 'nice-cxone',
			conversationId: '600001',
			recordingId: '800001',
			agent: { id: 'agent-9', name: 'Grace Hopper' },
			mediaType: 'voice-and-screen',
			startTime: '2025-03-04T10:00:00.000Z',
			endTime: '2025-03-04T10:06:30.000Z',
			durationSec: 390,
			direction: 'Inbound',
			stateKey: 'nice-cxone:600001:800001',
			object: { bucket: s3.bucket, key, size: (await readFile(mp4Path)).length, sha256: mp4Sha, contentType: 'video/mp4' },
		});
		const stored = Buffer.concat(await (await store.getStream(key)).toArray());
		expect(createHash('sha256').update(stored).digest('hex')).toBe(mp4Sha);
		expect(mp4TopLevelBoxes(stored)[0]).toBe('ftyp');
		const row = await state.getRecording('nice-cxone:600001:800001');
		expect(row?.stage).toBe('staged');
		expect(row?.ref.object?.sha256).toBe(mp4Sha);
		expect(sim.stats.byPath['GET /media-playback/v1/contacts']).toBe(1);

		// A retried execution reuses the staged object: no download, no second playback call beyond the lookup.
		const again = await stageVoiceAndScreen(deps(), { acdCallId: '600001' }, {});
		expect(again.reused).toEqual(['800001']);
		expect(sim.stats.mediaRequests).toBe(1);
	});

	it('re-fetches the playback metadata for a fresh URL when the signed media URL has expired', async () => {
		await start({ playbackCasing: 'pascal' });
		const size = 300 * 1024 + 11;
		sim.seedContact({ acdContactId: '600002', agent: { id: 'agent-1' }, recordings: [{ segmentId: '800010', sizeBytes: size, seed: 'x' }] });
		sim.issueExpiredMediaUrls(1);
		const result = await stageVoiceAndScreen(deps(), { acdCallId: '600002' }, {});
		expect(result.refs[0].object).toMatchObject({ size, sha256: await syntheticSha256(size, 'x'), key: 'recordings/nice-cxone/600002/800010/original.mp4' });
		expect(result.resumes).toBe(1);
		expect(sim.stats.mediaExpired403).toBe(1);
		expect(sim.stats.byPath['GET /media-playback/v1/contacts']).toBe(2);
	});

	it('stages one segment by segment id', async () => {
		await start();
		sim.seedContact({ acdContactId: '600003', agent: { id: 'agent-2' }, recordings: [{ segmentId: '800020', sizeBytes: 5000, seed: 'a' }, { segmentId: '800021', sizeBytes: 6000, seed: 'b' }] });
		const result = await stageVoiceAndScreen(deps(), { segmentId: '800021' }, {});
		expect(result.refs.map((ref) => [ref.conversationId, ref.recordingId, ref.object?.size])).toEqual([['600003', '800021', 6000]]);
		expect(sim.stats.byPath['GET /media-playback/v1/segments/800021']).toBe(1);
	});

	it('reports unknown contacts and contacts without screen media as not staged', async () => {
		await start();
		sim.seedContact({ acdContactId: '600004', agent: { id: 'agent-3' }, recordings: [{ segmentId: '800030', mediaType: 'voice-only' }] });
		expect((await stageVoiceAndScreen(deps(), { acdCallId: '699999' })).skipped).toEqual([
			expect.objectContaining({ conversationId: '699999', outcome: 'not_found' }),
		]);
		expect((await stageVoiceAndScreen(deps(), { acdCallId: '600004' })).skipped).toEqual([
			expect.objectContaining({ conversationId: '600004', outcome: 'no_media' }),
		]);
	});

	it('honours the 150-per-5-minutes playback limit: a 429 with Retry-After is waited out', async () => {
		await start({ playbackLimit: 2, playbackWindowMs: 600 });
		for (const id of ['600011', '600012', '600013']) {
			sim.seedContact({ acdContactId: id, agent: { id: 'agent-4' }, recordings: [{ segmentId: `s${id}`, sizeBytes: 2000 }] });
		}
		// A generous local bucket so the simulator's limit is what is hit.
		const bucket = new TokenBucket(10_000, 100);
		for (const id of ['600011', '600012', '600013']) await stageVoiceAndScreen(deps(bucket), { acdCallId: id });
		expect(sim.stats.playback429).toBe(1);
		expect(sim.stats.playbackRequests).toBe(4);
	});

	it('the token bucket paces playback calls before NICE has to refuse them', async () => {
		await start({ playbackLimit: 2, playbackWindowMs: 60_000 });
		sim.seedContact({ acdContactId: '600021', agent: { id: 'a' }, recordings: [{ segmentId: 's1', sizeBytes: 10 }] });
		// 150 per 5 minutes = 30 per minute; a bucket of 60 per minute with burst 1 spaces calls by one second.
		const bucket = new TokenBucket(60, 1);
		const client = simulatorNiceClient(sim, {}, { playbackBucket: bucket });
		const started = Date.now();
		await client.api({ method: 'GET', path: '/media-playback/v1/contacts', query: { 'acd-call-id': '600021' }, playback: true });
		await client.api({ method: 'GET', path: '/media-playback/v1/contacts', query: { 'acd-call-id': '600021' }, playback: true });
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
	});

	it('parses both casings of the playback answer', () => {
		const camel = parsePlayback({
			contactId: '1',
			acdcontactId: '2',
			interactions: [{ mediaType: 'voice-and-screen', data: { fileToPlayUrl: 'https://x/y.mp4', participantDataList: [{ participantType: 'AGENT', participantId: 'a', agentName: 'A' }], segmentsDataList: [{ segmentId: 's' }] } }],
		});
		const pascal = parsePlayback({
			value: {
				ContactId: '1',
				AcdContactId: '2',
				Interactions: [{ Interaction: { MediaType: 'voice-and-screen', Data: { FileToPlayUrl: 'https://x/y.mp4', ParticipantDataList: [{ ParticipantType: 'AGENT', ParticipantId: 'a', AgentName: 'A' }], SegmentsDataList: [{ SegmentId: 's' }] } } }],
			},
		});
		expect(pascal).toEqual(camel);
		expect(camel.interactions[0]).toMatchObject({ fileToPlayUrl: 'https://x/y.mp4', agentId: 'a', agentName: 'A', segmentIds: ['s'] });
	});
});
