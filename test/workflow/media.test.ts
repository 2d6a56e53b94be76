import { createReadStream } from 'node:fs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { makeClip, mp4TopLevelBoxes } from '../support/mediaClips';
import { startS3Server, type S3TestServer } from '../support/s3';
import { objectStoreCredentialData } from '../support/stack';
import { runWorkflow as run } from '../support/workflowHarness';

const CRED = { cxObjectStoreApi: { id: 'store', name: 'store' } };
let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
let credentials: Record<string, ICredentialDataDecryptedObject>;

beforeAll(async () => {
	s3 = await startS3Server();
	store = new ObjectStore(s3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-media-wf-'));
	credentials = { cxObjectStoreApi: objectStoreCredentialData(s3) };
}, 60_000);

afterAll(async () => {
	await s3.close();
	await rm(dir, { recursive: true, force: true });
});

const runWorkflow: typeof run = (workflow, options = {}) => run(workflow, { ...options, startNode: 'Start' });

async function stage(key: string, file: string, contentType = 'video/webm') {
	return await store.uploadStream(key, createReadStream(file), { contentType });
}

function ref(key: string, extra: IDataObject = {}): IDataObject {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId: key.split('/')[3] ?? 'rec-1',
		stateKey: 'genesys-cloud:conv-1:rec-1',
		agent: { id: 'agent-1' },
		mediaType: 'screen',
		startTime: '2026-11-20T10:00:00.000Z',
		object: { bucket: s3.bucket, key, size: 1, sha256: 'x', contentType: 'video/webm' },
		...extra,
	};
}

/** Manual Trigger (items given) → Media Probe → Media Transcode (when given parameters). */
function flow(probeParameters: IDataObject, transcodeParameters?: IDataObject, settings: { continueOnFail?: boolean } = {}) {
	const nodes = [
		{ id: '1', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} },
		{
			id: '2',
			name: 'Media Probe',
			type: 'n8n-nodes-cx-training.mediaProbe',
			typeVersion: 1,
			position: [200, 0] as [number, number],
			parameters: probeParameters,
			credentials: CRED,
			...(settings.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		},
	];
	const connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {
		Start: { main: [[{ node: 'Media Probe', type: 'main', index: 0 }]] },
	};
	if (transcodeParameters) {
		nodes.push({
			id: '3',
			name: 'Media Transcode',
			type: 'n8n-nodes-cx-training.mediaTranscode',
			typeVersion: 1,
			position: [400, 0] as [number, number],
			parameters: transcodeParameters,
			credentials: CRED,
		});
		connections['Media Probe'] = { main: [[{ node: 'Media Transcode', type: 'main', index: 0 }]] };
	}
	return { nodes: nodes as unknown as INode[], connections };
}

async function objectBytes(key: string): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of (await store.getStream(key)) as Readable) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

test('Genesys WebM → Media Probe → Media Transcode: probe facts, an MP4 rendition and a poster next to the original', async () => {
	const key = 'recordings/genesys-cloud/conv-1/rec-webm/original.webm';
	await stage(key, await makeClip(join(dir, 'a.webm'), { seconds: 4, width: 640, height: 360 }));
	const workspaces = async () => (await readdir(tmpdir())).filter((name) => /^cx-media-[A-Za-z0-9]{6}$/.test(name));
	const before = await workspaces();
	const result = await runWorkflow(
		flow({ contentCheck: 'full', options: {} }, { operation: 'rendition', encoding: { preset: 'ultrafast' }, options: {} }),
		{ credentials, triggerItems: [ref(key)] },
	);
	expect(result.error).toBeUndefined();
	const [item] = result.output('Media Transcode');
	const probe = item.probe as IDataObject;
	expect(probe).toMatchObject({ hasVideo: true, hasAudio: true, blackVideo: false, silentAudio: false, width: 640, height: 360, codecs: ['vp8', 'opus'], flags: [] });
	expect((probe.tools as IDataObject).ffmpeg).toMatchObject({ version: expect.stringMatching(/^ffmpeg version/) });
	const rendition = item.rendition as IDataObject;
	expect(rendition).toMatchObject({
		key: 'recordings/genesys-cloud/conv-1/rec-webm/training.mp4',
		contentType: 'video/mp4',
		mode: 'encode',
		codecs: ['h264', 'aac'],
		posterKey: 'recordings/genesys-cloud/conv-1/rec-webm/poster.jpg',
	});
	expect(rendition.durationSec).toBeGreaterThan(3.5);
	const mp4 = await objectBytes(rendition.key as string);
	expect(mp4.length).toBe(rendition.sizeBytes);
	expect(mp4TopLevelBoxes(mp4).slice(0, 2)).toEqual(['ftyp', 'moov']);
	expect((await store.head('recordings/genesys-cloud/conv-1/rec-webm/poster.jpg'))?.contentType).toBe('image/jpeg');
	// The original is untouched, and no temp folder is left behind.
	expect((await store.head(key))?.contentType).toBe('video/webm');
	expect((await workspaces()).filter((name) => !before.includes(name))).toEqual([]);
}, 120_000);

test('an H.264 MP4 export is remuxed, not re-encoded; a video-only file is flagged for the LMS', async () => {
	const key = 'recordings/nice-cxone/conv-2/rec-mp4/original.mp4';
	await stage(key, await makeClip(join(dir, 'b.mp4'), { seconds: 4, codec: 'h264', audio: 'none', width: 640, height: 360 }), 'video/mp4');
	const result = await runWorkflow(flow({ contentCheck: 'keyframes', options: {} }, { operation: 'rendition', withPoster: false, options: {} }), {
		credentials,
		triggerItems: [ref(key)],
	});
	expect(result.error).toBeUndefined();
	const [item] = result.output('Media Transcode');
	expect((item.probe as IDataObject).flags).toEqual(['video_only_no_audio']);
	expect(item.rendition).toMatchObject({ mode: 'remux', codecs: ['h264'], key: 'recordings/nice-cxone/conv-2/rec-mp4/training.mp4' });
}, 120_000);

test('black video with a silent track is flagged', async () => {
	const key = 'recordings/genesys-cloud/conv-3/rec-black/original.webm';
	await stage(key, await makeClip(join(dir, 'c.webm'), { seconds: 4, video: 'black', audio: 'silence' }));
	const result = await runWorkflow(flow({ contentCheck: 'keyframes', options: {} }), { credentials, triggerItems: [ref(key)] });
	const [item] = result.output('Media Probe');
	expect(item.probe).toMatchObject({ blackVideo: true, silentAudio: true, maxVolumeDb: expect.any(Number) });
	expect((item.probe as IDataObject).flags).toEqual(expect.arrayContaining(['black_video', 'silent_audio']));
}, 60_000);

test('a zero-length object, a missing object and a non-media object each fail with the object named; continue-on-fail keeps the others', async () => {
	const empty = 'recordings/genesys-cloud/conv-4/rec-empty/original.webm';
	const junk = 'recordings/genesys-cloud/conv-4/rec-junk/original.webm';
	const good = 'recordings/genesys-cloud/conv-4/rec-good/original.webm';
	await store.uploadStream(empty, Readable.from([Buffer.alloc(0)]), { contentType: 'video/webm' });
	await store.uploadStream(junk, Readable.from([Buffer.from('<html>Access denied</html>'.repeat(50))]), { contentType: 'video/webm' });
	await stage(good, await makeClip(join(dir, 'd.webm'), { seconds: 2 }));
	const missing = 'recordings/genesys-cloud/conv-4/rec-missing/original.webm';

	const single = await runWorkflow(flow({ contentCheck: 'off', options: {} }), { credentials, triggerItems: [ref(empty)] });
	expect(single.error).toBe(`Object ${empty} is empty (0 bytes): nothing to analyse`);

	const result = await runWorkflow(flow({ contentCheck: 'off', options: {} }, undefined, { continueOnFail: true }), {
		credentials,
		triggerItems: [ref(empty), ref(missing), ref(junk), ref(good)],
	});
	const items = result.output('Media Probe');
	expect(items.map((item) => item.error)).toEqual([
		`Object ${empty} is empty (0 bytes): nothing to analyse`,
		`Object ${missing} does not exist in bucket ${s3.bucket}`,
		expect.stringMatching(new RegExp(`^Object ${junk} is unusable: not a readable media file`)),
		undefined,
	]);
	expect(items[3].probe).toMatchObject({ hasVideo: true });
	expect(JSON.stringify(items)).not.toMatch(/X-Amz-Signature/);
}, 60_000);

test('Merge Call Audio and Splice Segments through the engine', async () => {
	const screen = 'recordings/genesys-engage/conv-5/rec-screen/original.webm';
	const audio = 'recordings/genesys-engage/conv-5/rec-screen/call.webm';
	await stage(screen, await makeClip(join(dir, 'e.webm'), { seconds: 5, audio: 'none' }));
	await stage(audio, await makeClip(join(dir, 'f.webm'), { seconds: 3, video: 'none' }), 'audio/webm');
	const segments = ['seg-000.webm', 'seg-001.webm', 'seg-002.webm'].map((name) => `recordings/calabrio-one/conv-6/rec-seg/${name}`);
	for (const [index, segment] of segments.entries()) await stage(segment, await makeClip(join(dir, `s${index}.webm`), { seconds: 3 }));

	const merge = await runWorkflow(
		flow({ contentCheck: 'off', options: {} }, { operation: 'mergeCallAudio', withPoster: false, encoding: { preset: 'ultrafast' }, options: {} }),
		{ credentials, triggerItems: [ref(screen, { callAudio: { key: audio, startTime: '2026-11-20T10:00:01.000Z' } })] },
	);
	expect(merge.error).toBeUndefined();
	const merged = merge.output('Media Transcode')[0].rendition as IDataObject;
	expect(merged).toMatchObject({ codecs: ['h264', 'aac'], reason: 'call audio delayed by 1.000 s', key: 'recordings/genesys-engage/conv-5/rec-screen/training.mp4' });
	expect(merged.durationSec).toBeGreaterThan(4.5);

	const splice = await runWorkflow(
		flow({ contentCheck: 'off', objectKey: segments[0], options: {} }, { operation: 'spliceSegments', withPoster: true, encoding: { preset: 'ultrafast' }, options: {} }),
		{
			credentials,
			triggerItems: [
				{
					...ref(segments[0]),
					// Out of order on purpose: they are sorted by start time.
					segments: [
						{ key: segments[2], startTime: '2026-11-20T10:00:06.000Z' },
						{ key: segments[0], startTime: '2026-11-20T10:00:00.000Z' },
						{ key: segments[1], startTime: '2026-11-20T10:00:03.000Z' },
					],
					startTime: '2026-11-20T10:00:02.000Z',
					endTime: '2026-11-20T10:00:07.500Z',
				},
			],
		},
	);
	expect(splice.error).toBeUndefined();
	const spliced = splice.output('Media Transcode')[0].rendition as IDataObject;
	expect(spliced).toMatchObject({ reason: '3 segments cut to 5.5 s', posterKey: 'recordings/calabrio-one/conv-6/rec-seg/poster.jpg' });
	expect(spliced.durationSec).toBeGreaterThan(5.2);
	expect(spliced.durationSec).toBeLessThan(5.9);

	const bad = await runWorkflow(flow({ contentCheck: 'off', objectKey: segments[0], options: {} }, { operation: 'spliceSegments', options: {} }), {
		credentials,
		triggerItems: [{ ...ref(segments[0]), segments: [{ key: segments[0] }], startTime: '2026-11-20T10:00:02.000Z', endTime: '2026-11-20T10:00:03.000Z' }],
	});
	expect(bad.error).toBe('Segments [0].startTime must be an ISO 8601 time');
}, 180_000);
