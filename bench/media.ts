import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { PROJECT_ROOT, processMemory, waitForWebhook } from '../scripts/lib/n8n';
import { startSlice, type Slice } from '../scripts/lib/slice';
import { probeFacts } from '../nodes/shared/media/probe';
import { resolveTool, runTool } from '../nodes/shared/media/tools';
import { DEFAULT_RENDITION, planRendition, renditionArgs } from '../nodes/shared/media/transcode';
import { ObjectStore } from '../nodes/shared/store/objectStore';
import { generateDesktopRecording } from '../test/support/syntheticRecording';

/**
 * Media Transcode numbers, in one process run, on real n8n with the package installed:
 * - our node against the raw ffmpeg command line with the same arguments (same presigned input): ratio;
 * - realtime factor for a 60 s and a 30 min 1080p screen recording, WebM→MP4 (encode) and MP4→MP4 (remux);
 * - peak RSS of the n8n process and of ffmpeg for both sizes (flat, not growing with size), and what a job adds
 *   over n8n's idle RSS after a warm-up job;
 * - the same bytes moved the stock-n8n way (HTTP Request as binary → S3 node upload), side by side.
 * `npm run bench -- media` (add `--long-encode-baseline` to also time raw ffmpeg on the 30 min encode, ~8 min more;
 * `--short` runs only the 60 s cases; `--cases mp4-30min,mp4-2h` picks cases).
 */
const MiB = 1024 * 1024;
const ffmpeg = resolveTool('ffmpeg');
const ffprobe = resolveTool('ffprobe');

interface Sampled<T> {
	result: T;
	ms: number;
	n8nPeakMiB: number;
	ffmpegPeakMiB: number;
}

/** Highest VmRSS seen of n8n and of any ffmpeg process while `work` runs (sampled every 50 ms). */
async function sampled<T>(n8nPid: number | undefined, work: () => Promise<T>): Promise<Sampled<T>> {
	let n8nPeak = 0;
	let ffmpegPeak = 0;
	let running = true;
	const sampler = (async () => {
		while (running) {
			n8nPeak = Math.max(n8nPeak, processMemory(n8nPid).rssMiB);
			ffmpegPeak = Math.max(ffmpegPeak, ffmpegRssMiB());
			await delay(50);
		}
	})();
	const started = Date.now();
	try {
		const result = await work();
		return { result, ms: Date.now() - started, n8nPeakMiB: n8nPeak, ffmpegPeakMiB: ffmpegPeak };
	} finally {
		running = false;
		await sampler;
	}
}

function ffmpegRssMiB(): number {
	let peak = 0;
	for (const pid of readdirSync('/proc')) {
		if (!/^\d+$/.test(pid)) continue;
		try {
			if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ffmpeg') continue;
		} catch {
			continue; // the process ended between readdir and read
		}
		peak = Math.max(peak, processMemory(Number(pid)).rssMiB);
	}
	return peak;
}

async function ffmpegOnce(args: string[]): Promise<void> {
	await runTool(ffmpeg, args, { timeoutMs: 4 * 3600_000 });
}

async function makeInputs(dir: string): Promise<Record<string, { file: string; contentType: string; seconds: number }>> {
	const webm60 = join(dir, 'screen-60s.webm');
	if (!existsSync(webm60)) {
		await generateDesktopRecording(webm60, { seconds: 60, width: 1920, height: 1080, fps: 15, container: 'webm', audio: 'tone' });
	}
	const mp460 = join(dir, 'screen-60s.mp4');
	if (!existsSync(mp460)) {
		// An H.264/AAC export with its index at the end, as NICE and Verint exports are.
		await ffmpegOnce(['-hide_banner', '-loglevel', 'error', '-y', '-i', webm60, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', mp460]);
	}
	const long = async (input: string, output: string, copies: number) => {
		if (existsSync(output)) return;
		const list = join(dir, `${output.split('/').pop()}.ffconcat`);
		writeFileSync(list, ['ffconcat version 1.0', ...Array.from({ length: copies }, () => `file '${input}'`)].join('\n'));
		await ffmpegOnce(['-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', output]);
	};
	await long(webm60, join(dir, 'screen-30min.webm'), 30);
	await long(mp460, join(dir, 'screen-30min.mp4'), 30);
	// 2 h, 1.4 GB: the remux path at four times the 30 min size, for the memory figure.
	await long(join(dir, 'screen-30min.mp4'), join(dir, 'screen-2h.mp4'), 4);
	return {
		'mp4-2h': { file: join(dir, 'screen-2h.mp4'), contentType: 'video/mp4', seconds: 7200 },
		'webm-60s': { file: webm60, contentType: 'video/webm', seconds: 60 },
		'mp4-60s': { file: mp460, contentType: 'video/mp4', seconds: 60 },
		'webm-30min': { file: join(dir, 'screen-30min.webm'), contentType: 'video/webm', seconds: 1800 },
		'mp4-30min': { file: join(dir, 'screen-30min.mp4'), contentType: 'video/mp4', seconds: 1800 },
	};
}

const webhookNode = (path: string) => ({
	id: 'w',
	name: 'Webhook',
	type: 'n8n-nodes-base.webhook',
	typeVersion: 2,
	position: [0, 0],
	webhookId: path,
	parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} },
});

async function publish(slice: Slice, name: string, nodes: unknown[], connections: unknown, path: string): Promise<string> {
	const id = await slice.client.createWorkflow({ name, nodes, connections, settings: { executionOrder: 'v1', saveDataSuccessExecution: 'none' } });
	await slice.client.activate(id);
	const url = `${slice.n8n.baseUrl}/webhook/${path}`;
	await waitForWebhook(url);
	return url;
}

/** POST over node:http: fetch gives up on a response after 300 s of waiting for headers, a long encode takes longer. */
function call(url: string, body: unknown): Promise<Record<string, unknown>> {
	return new Promise((resolve, reject) => {
		const payload = JSON.stringify(body);
		const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				if ((response.statusCode ?? 500) >= 400) reject(new Error(`${url} → ${response.statusCode}: ${text.slice(0, 300)}`));
				else resolve(JSON.parse(text) as Record<string, unknown>);
			});
		});
		request.on('error', reject);
		request.end(payload);
	});
}

async function main(): Promise<void> {
	const longBaseline = process.argv.includes('--long-encode-baseline');
	const workDir = join(PROJECT_ROOT, '.bench', 'media');
	const inputsDir = join(PROJECT_ROOT, '.bench', 'media-inputs');
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(inputsDir, { recursive: true });
	console.log(`ffmpeg: ${ffmpeg.version} (${ffmpeg.origin}); ffprobe: ${ffprobe.version} (${ffprobe.origin})`);
	const started = Date.now();
	const inputs = await makeInputs(inputsDir);
	console.log(`inputs ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${Object.entries(inputs).map(([name, input]) => `${name} ${(statSync(input.file).size / MiB).toFixed(1)} MiB`).join(', ')}`);

	const slice = await startSlice({ workDir, n8nPort: 5940, webhookSecret: 'bench-secret-0123456789' });
	try {
		const store = new ObjectStore(slice.s3.config);
		const short = process.argv.includes('--short');
		const casesIndex = process.argv.indexOf('--cases');
		const allCases = ['webm-60s', 'mp4-60s', 'mp4-30min', 'mp4-2h', 'webm-30min'];
		const cases = casesIndex >= 0 ? process.argv[casesIndex + 1].split(',') : short ? ['webm-60s', 'mp4-60s'] : allCases;
		const unknown = cases.filter((name) => !allCases.includes(name));
		if (unknown.length) throw new Error(`--cases: unknown ${unknown.join(', ')} (known: ${allCases.join(', ')})`);
		const stockCases = (short ? ['mp4-60s'] : ['mp4-60s', 'mp4-30min']).filter((name) => casesIndex < 0 || cases.includes(name));
		for (const [name, input] of Object.entries(inputs)) {
			if (name !== 'mp4-60s' && !cases.includes(name) && !stockCases.includes(name)) continue;
			await store.uploadStream(`bench/${name}/original`, createReadStream(input.file), { contentType: input.contentType, partSizeBytes: 16 * MiB });
		}
		const storeCredential = { cxObjectStoreApi: slice.credentialIds.cxObjectStoreApi };
		const s3Id = await slice.client.createCredential('Stock S3 (s3rver)', 's3', {
			endpoint: slice.s3.endpoint,
			region: 'us-east-1',
			accessKeyId: slice.s3.accessKeyId,
			secretAccessKey: slice.s3.secretAccessKey,
			forcePathStyle: true,
		});
		const ours = await publish(
			slice,
			'bench: media transcode',
			[
				webhookNode('bench-ours'),
				{
					id: 't',
					name: 'Media Transcode',
					type: 'n8n-nodes-cx-training.mediaTranscode',
					typeVersion: 1,
					position: [200, 0],
					parameters: { operation: 'rendition', objectKey: '={{ $json.body.key }}', outputKey: '={{ $json.body.out }}', withPoster: false, encoding: {}, options: {} },
					credentials: storeCredential,
				},
			],
			{ Webhook: { main: [[{ node: 'Media Transcode', type: 'main', index: 0 }]] } },
			'bench-ours',
		);
		const stock = await publish(
			slice,
			'bench: stock nodes',
			[
				webhookNode('bench-stock'),
				{
					id: 'h',
					name: 'Download',
					type: 'n8n-nodes-base.httpRequest',
					typeVersion: 4.2,
					position: [200, 0],
					parameters: { url: '={{ $json.body.url }}', options: { response: { response: { responseFormat: 'file' } } } },
				},
				{
					id: 's',
					name: 'Upload',
					type: 'n8n-nodes-base.s3',
					typeVersion: 1,
					position: [400, 0],
					parameters: { operation: 'upload', bucketName: slice.s3.bucket, fileName: "={{ $('Webhook').item.json.body.out }}", binaryData: true, binaryPropertyName: 'data', additionalFields: {} },
					credentials: { s3: { id: s3Id, name: 'Stock S3 (s3rver)' } },
				},
			],
			{ Webhook: { main: [[{ node: 'Download', type: 'main', index: 0 }]] }, Download: { main: [[{ node: 'Upload', type: 'main', index: 0 }]] } },
			'bench-stock',
		);
		const pid = slice.n8n.process.pid;
		// Idle after a warm-up job (the first execution loads the nodes and the AWS SDK): the median of ten
		// samples over 5 s, so that the "+N" figures below are what a job adds, not what loading the package does.
		await call(ours, { key: 'bench/mp4-60s/original', out: 'bench/warm-up/training.mp4' });
		const idleSamples: number[] = [];
		for (let sample = 0; sample < 10; sample++) {
			await delay(500);
			idleSamples.push(processMemory(pid).rssMiB);
		}
		const idle = [...idleSamples].sort((a, b) => a - b)[5];
		console.log(`n8n idle RSS ${idle} MiB after a warm-up job (median of 10 samples over 5 s; range ${Math.min(...idleSamples)}–${Math.max(...idleSamples)})`);

		const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
		for (const name of cases) {
			const input = inputs[name];
			const key = `bench/${name}/original`;
			// Node and raw runs alternate (medians), so machine noise hits both alike: three times for the 60 s
			// inputs, five for the 30 min remux (about a second of ffmpeg each, where one run is too noisy), once
			// for the 30 min encode (four minutes each).
			const repeats = input.seconds <= 60 ? 3 : name === 'mp4-30min' ? 5 : 1;
			const withRaw = !(name === 'webm-30min' && !longBaseline);
			const nodeRuns: Array<Sampled<Record<string, unknown>>> = [];
			const rawRuns: Array<{ ffmpegMs: number; totalMs: number; peak: number }> = [];
			for (let run = 0; run < repeats; run++) {
				nodeRuns.push(await sampled(pid, () => call(ours, { key, out: `bench/${name}/training.mp4` })));
				if (!withRaw) continue;
				// The same job by hand: raw ffmpeg with the node's exact argv on the same presigned URL, then the upload.
				const url = await store.presignGet(key, 6 * 3600);
				const facts = await probeFacts(ffprobe, url, { timeoutMs: 60_000 });
				const output = join(workDir, `raw-${name}.mp4`);
				const args = renditionArgs(ffmpeg, url, output, facts, planRendition(facts, DEFAULT_RENDITION), DEFAULT_RENDITION, 4096 * MiB);
				const raw = await sampled(undefined, () => ffmpegOnce(args));
				const uploadStarted = Date.now();
				await store.uploadStream(`bench/${name}/raw.mp4`, createReadStream(output, { highWaterMark: MiB }), { contentType: 'video/mp4' });
				rawRuns.push({ ffmpegMs: raw.ms, totalMs: raw.ms + (Date.now() - uploadStarted), peak: raw.ffmpegPeakMiB });
				rmSync(output, { force: true });
			}
			const renditions = nodeRuns.map((run) => run.result.rendition as { mode: string; sizeBytes: number; ffmpegMs: number; uploadMs: number });
			const nodeMs = median(nodeRuns.map((run) => run.ms));
			const nodeFfmpegMs = median(renditions.map((rendition) => rendition.ffmpegMs));
			const n8nPeak = Math.max(...nodeRuns.map((run) => run.n8nPeakMiB));
			const ffmpegPeak = Math.max(...nodeRuns.map((run) => run.ffmpegPeakMiB));
			const factor = (ms: number) => (ms / 1000 / input.seconds).toFixed(3);
			let line =
				`${name.padEnd(10)} ${renditions[0].mode.padEnd(6)} node ${(nodeMs / 1000).toFixed(1)} s (ffmpeg ${(nodeFfmpegMs / 1000).toFixed(1)} s + upload ${(median(renditions.map((r) => r.uploadMs)) / 1000).toFixed(1)} s), realtime factor ${factor(nodeMs)}`;
			if (rawRuns.length) {
				const rawFfmpeg = median(rawRuns.map((run) => run.ffmpegMs));
				const rawTotal = median(rawRuns.map((run) => run.totalMs));
				line +=
					`; raw ffmpeg ${(rawFfmpeg / 1000).toFixed(1)} s, ratio ffmpeg ${(nodeFfmpegMs / rawFfmpeg).toFixed(3)}; ` +
					`raw ffmpeg + upload ${(rawTotal / 1000).toFixed(1)} s, ratio whole job (webhook to answer) ${(nodeMs / rawTotal).toFixed(3)}`;
			} else {
				line += '; raw ffmpeg not run (--long-encode-baseline)';
			}
			line += `; peak RSS n8n ${n8nPeak} MiB (+${n8nPeak - idle}), ffmpeg ${ffmpegPeak} MiB; output ${(renditions[0].sizeBytes / MiB).toFixed(1)} MiB; runs ${repeats}`;
			if (repeats > 1 && rawRuns.length === repeats) {
				const paired = renditions.map((rendition, run) => rendition.ffmpegMs / rawRuns[run].ffmpegMs).sort((a, b) => a - b);
				line +=
					` (ffmpeg s per run: node ${renditions.map((r) => (r.ffmpegMs / 1000).toFixed(2)).join(' ')}, raw ${rawRuns.map((r) => (r.ffmpegMs / 1000).toFixed(2)).join(' ')}; ` +
					`paired ratios ${paired.map((r) => r.toFixed(2)).join(' ')})`;
			}
			console.log(line);
		}

		for (const name of stockCases) {
			const key = `bench/${name}/original`;
			await delay(3000);
			const before = processMemory(pid).rssMiB;
			const url = await store.presignGet(key, 6 * 3600);
			const result = await sampled(pid, () => call(stock, { url, out: `bench/${name}/stock-copy.mp4` }).catch((error: Error) => ({ error: error.message })));
			const failed = (result.result as { error?: string }).error;
			console.log(
				`stock n8n ${name.padEnd(10)} HTTP Request (binary) → S3 node: ${failed ? `FAILED (${failed.slice(0, 160)})` : `${(result.ms / 1000).toFixed(1)} s`}, ` +
					`peak RSS n8n ${result.n8nPeakMiB} MiB (+${result.n8nPeakMiB - before} over ${before}); input ${(statSync(inputs[name].file).size / MiB).toFixed(0)} MiB`,
			);
		}
	} finally {
		await slice.stop();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
