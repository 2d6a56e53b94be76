import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import { probeFacts } from '../../nodes/shared/media/probe';
import { resolveTool, runTool } from '../../nodes/shared/media/tools';
import { closeAllOcrPools } from '../../nodes/shared/pii/ocr';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { mp4TopLevelBoxes } from '../support/mediaClips';
import { startS3Server, type S3TestServer } from '../support/s3';
import { objectStoreCredentialData } from '../support/stack';
import { TEST_CARD, cardPaymentScreens, generateDesktopRecording, type Box, type GeneratedRecording } from '../support/syntheticRecording';
import { runWorkflow } from '../support/workflowHarness';

/**
 * PII Scan with redaction on, through n8n's engine against s3rver: a recording showing a test card number
 * comes out as redacted.mp4 next to the original, re-scanned clean, and the item goes to Clean pointing at it.
 * The same recording with redaction off is quarantined. The boxes are checked against the generator's
 * ground truth, independently of the node's own re-scan.
 */
const RAW_CARD = /4111[ -]?1111[ -]?1111[ -]?1111/;
const ffmpeg = resolveTool('ffmpeg');
const ffprobe = resolveTool('ffprobe');

let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
let credentials: Record<string, ICredentialDataDecryptedObject>;
let recording: GeneratedRecording;

beforeAll(async () => {
	s3 = await startS3Server();
	store = new ObjectStore(s3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-redact-wf-'));
	credentials = { cxObjectStoreApi: objectStoreCredentialData(s3) };
	recording = await generateDesktopRecording(join(dir, 'card.webm'), {
		seconds: 10,
		width: 1920,
		height: 1080,
		fps: 5,
		audio: 'tone',
		screens: cardPaymentScreens(10, 2, 'Jane Q. Doe'),
	});
}, 120_000);

afterAll(async () => {
	await closeAllOcrPools();
	await s3.close();
	await rm(dir, { recursive: true, force: true });
});

function flow(parameters: IDataObject) {
	return {
		nodes: [
			{ id: '1', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: '2',
				name: 'PII Scan',
				type: 'n8n-nodes-cx-training.piiScan',
				typeVersion: 1,
				position: [200, 0],
				parameters,
				credentials: { cxObjectStoreApi: { id: 'store', name: 'store' } },
			},
		] as unknown as INode[],
		connections: { Start: { main: [[{ node: 'PII Scan', type: 'main' as const, index: 0 }]] } },
	};
}

const folderOf = (name: string) => `recordings/genesys-cloud/conv-${name}/rec-${name}`;

async function staged(name: string, extra: IDataObject = {}): Promise<IDataObject> {
	const key = `${folderOf(name)}/original.webm`;
	const object = await store.uploadStream(key, createReadStream(recording.file), { contentType: 'video/webm' });
	return {
		source: 'genesys-cloud',
		conversationId: `conv-${name}`,
		recordingId: `rec-${name}`,
		stateKey: `genesys-cloud:conv-${name}:rec-${name}`,
		agent: { id: 'agent-1' },
		mediaType: 'screen',
		startTime: '2026-11-20T10:00:00.000Z',
		object,
		...extra,
	};
}

const run = (parameters: IDataObject, items: IDataObject[]) => runWorkflow(flow(parameters), { credentials, triggerItems: items, startNode: 'Start' });

async function objectBytes(key: string): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of (await store.getStream(key)) as Readable) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** One decoded frame as 8-bit gray, full size. */
async function grayFrame(file: string, atSec: number, width: number, height: number): Promise<Uint8Array> {
	const result = await runTool(
		ffmpeg,
		['-hide_banner', '-nostdin', '-v', 'error', '-ss', atSec.toFixed(2), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
		{ timeoutMs: 60_000, stdout: 'collect' },
	);
	expect(result.stdout.length).toBe(width * height);
	return result.stdout;
}

function lumaRange(gray: Uint8Array, width: number, [x, y, w, h]: Box): { min: number; max: number } {
	let min = 255;
	let max = 0;
	for (let row = Math.floor(y); row < Math.ceil(y + h); row++) {
		for (let column = Math.floor(x); column < Math.ceil(x + w); column++) {
			const value = gray[row * width + column];
			min = Math.min(min, value);
			max = Math.max(max, value);
		}
	}
	return { min, max };
}

/** Glyph pixels (dark on the light form) of the original inside `box`, and how many of them the redacted frame left un-blackened. */
function glyphCoverage(original: Uint8Array, redacted: Uint8Array, width: number, [x, y, w, h]: Box): { glyphs: number; visible: number } {
	let glyphs = 0;
	let visible = 0;
	for (let row = Math.floor(y); row < Math.ceil(y + h); row++) {
		for (let column = Math.floor(x); column < Math.ceil(x + w); column++) {
			const index = row * width + column;
			if (original[index] >= 128) continue;
			glyphs++;
			if (redacted[index] >= 40) visible++;
		}
	}
	return { glyphs, visible };
}

test('redaction on: redacted.mp4 (H.264/AAC MP4) next to the original, re-scanned clean, item on Clean pointing at it', async () => {
	const ref = await staged('redact');
	const folder = folderOf('redact');
	const result = await run({ intervalSec: 1, redaction: 'redactFindings', redactionSettings: {}, options: {} }, [ref]);
	expect(result.error).toBeUndefined();
	expect(result.output('PII Scan', 1)).toEqual([]);
	const [item] = result.output('PII Scan', 0);
	const pii = item.pii as IDataObject;
	const redaction = pii.redaction as IDataObject;
	const rendition = item.rendition as IDataObject;

	// The item now carries redacted.mp4 as the media LMS Push publishes (rendition.key before object.key).
	expect(rendition).toMatchObject({ key: `${folder}/redacted.mp4`, contentType: 'video/mp4', mode: 'redacted', sources: [`${folder}/original.webm`] });
	expect(rendition.posterKey).toBeUndefined();
	expect(item.object).toMatchObject({ key: `${folder}/original.webm` });
	expect(item.visibility).toBeUndefined();
	// Clean describes the redacted file; what the original showed stays on record, masked.
	expect(pii).toMatchObject({ verdict: 'clean', findings: [], scanned: true });
	expect(pii.evidenceKey).toBeUndefined();
	expect(redaction).toMatchObject({ status: 'redacted', key: `${folder}/redacted.mp4`, sourceKey: `${folder}/original.webm`, rescan: 'clean', sourceVerdict: 'found', boxPaddingPx: 8, timePaddingSec: 1, preset: 'veryfast', crf: 23 });
	expect(redaction.evidenceKey).toBe(`${folder}/evidence.png`);
	const sourceFindings = redaction.sourceFindings as IDataObject[];
	expect(sourceFindings.map((finding) => [finding.type, finding.masked])).toEqual([['payment_card', '**** **** **** 1111']]);
	const boxes = redaction.boxes as Array<{ x: number; y: number; w: number; h: number; fromSec: number; toSec: number }>;
	expect(boxes).toHaveLength(1);
	// Card shown from 2 s to the end (10 s): the box starts at least one interval before its first sample.
	expect(boxes[0].fromSec).toBeLessThanOrEqual(1.5);
	expect(boxes[0].toSec).toBeGreaterThanOrEqual(10);
	expect(item.binary).toBeUndefined();

	// In the bucket: a faststart MP4 with H.264 video and AAC audio, as long as the source; the original is untouched.
	const head = await store.head(`${folder}/redacted.mp4`);
	expect(head?.contentType).toBe('video/mp4');
	const bytes = await objectBytes(`${folder}/redacted.mp4`);
	expect(bytes.length).toBe(rendition.sizeBytes);
	expect(mp4TopLevelBoxes(bytes).slice(0, 2)).toEqual(['ftyp', 'moov']);
	const local = join(dir, 'redacted-from-bucket.mp4');
	await writeFile(local, bytes);
	const facts = await probeFacts(ffprobe, local, { timeoutMs: 60_000 });
	expect(facts.codecs).toEqual(['h264', 'aac']);
	expect(facts.video).toMatchObject({ width: 1920, height: 1080, pixelFormat: 'yuv420p' });
	expect(facts.durationSec).toBeGreaterThan(9);
	expect((await store.head(`${folder}/original.webm`))?.size).toBe((ref.object as IDataObject).size);

	// Independent of the node's re-scan: where the generator drew the card number, the redacted frames are solid
	// black over every pixel of its glyphs, at its first moment and later.
	const [card] = recording.truth.appearances;
	expect(card).toMatchObject({ type: 'payment_card', value: TEST_CARD, fromSec: 2 });
	for (const atSec of [2.1, 6, 9.5]) {
		const originalFrame = await grayFrame(recording.file, atSec, 1920, 1080);
		const redactedFrame = await grayFrame(local, atSec, 1920, 1080);
		const coverage = glyphCoverage(originalFrame, redactedFrame, 1920, card.box);
		expect(coverage.glyphs).toBeGreaterThan(500);
		expect(coverage.visible).toBe(0);
	}
	// Before the card appears nothing is covered there (the box starts one interval early, not at 0).
	const before = lumaRange(await grayFrame(local, 0.2, 1920, 1080), 1920, card.box);
	expect(before.max).toBeGreaterThan(200);

	// The raw number is nowhere in the execution.
	expect(JSON.stringify(result.run)).not.toMatch(RAW_CARD);
}, 300_000);

test('redaction off: the same recording is quarantined and no redacted copy is made', async () => {
	const ref = await staged('off');
	const result = await run({ intervalSec: 1, options: {} }, [ref]);
	expect(result.error).toBeUndefined();
	expect(result.output('PII Scan', 0)).toEqual([]);
	const [item] = result.output('PII Scan', 1);
	expect(item.pii).toMatchObject({ verdict: 'found', findings: [{ type: 'payment_card', masked: '**** **** **** 1111' }] });
	expect((item.pii as IDataObject).redaction).toBeUndefined();
	expect(item.visibility).toBe('private');
	expect(item.rendition).toBeUndefined();
	expect(await store.head(`${folderOf('off')}/redacted.mp4`)).toBeUndefined();
	expect(JSON.stringify(result.run)).not.toMatch(RAW_CARD);
}, 300_000);

test('redaction on never releases a platform-flagged recording: it is quarantined unredacted (fail closed)', async () => {
	const ref = await staged('flagged', { platformFlags: { securePause: true } });
	const result = await run({ intervalSec: 2, platformFlags: 'scan', redaction: 'redactFindings', options: {} }, [ref]);
	expect(result.error).toBeUndefined();
	expect(result.output('PII Scan', 0)).toEqual([]);
	const [item] = result.output('PII Scan', 1);
	expect(item.pii).toMatchObject({ verdict: 'found', scanned: true });
	expect((item.pii as IDataObject).redaction).toBeUndefined();
	expect(item.visibility).toBe('private');
	expect(await store.head(`${folderOf('flagged')}/redacted.mp4`)).toBeUndefined();
}, 300_000);

test('a re-scan of the redacted copy that is not clean keeps the item in Quarantine with the reason', async () => {
	// A minimum OCR confidence no frame reaches: the card is still found (detectors are confident), but the
	// re-scan of the redacted copy, with the same settings, finds every frame unreadable and is unsure.
	const ref = await staged('unsure');
	const folder = folderOf('unsure');
	const result = await run({ intervalSec: 2, redaction: 'redactFindings', options: { minOcrConfidence: 100 } }, [ref]);
	expect(result.error).toBeUndefined();
	expect(result.output('PII Scan', 0)).toEqual([]);
	const [item] = result.output('PII Scan', 1);
	const pii = item.pii as IDataObject;
	expect(pii.verdict).toBe('found');
	expect(pii.redaction).toMatchObject({ status: 'rescan_not_clean', rescan: 'unsure', key: `${folder}/redacted.mp4` });
	expect((pii.reasons as string[]).at(-1)).toMatch(new RegExp(`^re-scan of ${folder}/redacted\\.mp4 is unsure: .*unreadable`));
	expect(item.visibility).toBe('private');
	// Not pointing at the redacted copy: nothing downstream may publish it.
	expect(item.rendition).toBeUndefined();
	expect(JSON.stringify(result.run)).not.toMatch(RAW_CARD);
}, 300_000);
