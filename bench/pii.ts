import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';

import { resolveTool, runTool } from '../nodes/shared/media/tools';
import { closeAllOcrPools, sharedOcrPool, type OcrPool } from '../nodes/shared/pii/ocr';
import { cellMeans, sampleFrames } from '../nodes/shared/pii/sampler';
import { scanRecording, type OcrEngine, type ScanFinding, type ScanResult, type ScanSettings } from '../nodes/shared/pii/scan';
import {
	generateDesktopRecording,
	piiCorpus,
	type Appearance,
	type Box,
	type Decoy,
	type DesktopSpec,
	type PiiType,
	type ScreenSpec,
} from '../test/support/syntheticRecording';

/**
 * PII Scan numbers, in one process run, with the node's default settings (1 s interval, change threshold 3,
 * 2 OCR workers, scale 1.5, sparse-text OCR, all five detectors, phone region US):
 * - accuracy on the labelled synthetic corpus (piiCorpus, generated with ffmpeg into a temp folder): per PII
 *   type, recall on appearances and false positives, and findings on decoys, against the targets
 *   (recall >= 0.98, no false positive on a decoy);
 * - scan time per minute of a 60 s 1920x1080 desktop recording (median of 3), the share of sampled frames that
 *   reached OCR, the wall-time split between OCR and decoding/sampling, and the floor: ffmpeg alone decoding
 *   the same video at the sampling rate, in the same process (ratio scan/decode).
 * The scan reads local files (scanRecording takes a path or URL; the node passes a presigned URL).
 * `npm run bench -- pii` (`--short`: 6 clips and one timing run; `--only corpus` / `--only timing`; `--variant N`:
 * a held-out corpus instead of the one the detectors were tuned on).
 */
const TARGET_RECALL = 0.98;
const TARGET_SEC_PER_MIN = 6;
const TYPES: PiiType[] = ['payment_card', 'us_ssn', 'email', 'phone', 'iban'];
/** Pixels of slack when a finding's box is compared with a ground-truth box. */
const BOX_SLACK = 8;

const ffmpeg = resolveTool('ffmpeg');
const args = process.argv.slice(2);
const short = args.includes('--short');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;
const variantIndex = args.indexOf('--variant');
/** 0: the corpus the detectors were tuned on; 1, 2, …: held-out corpora of the same kinds (see piiCorpus). */
const variant = variantIndex >= 0 ? Number(args[variantIndex + 1]) : 0;
if (!Number.isInteger(variant) || variant < 0) {
	console.error('--variant takes a whole number (0 = the tuning corpus)');
	process.exit(2);
}
if (only !== undefined && only !== 'corpus' && only !== 'timing') {
	console.error('--only takes corpus or timing');
	process.exit(2);
}

/** The settings the PII Scan node passes with its defaults (see nodes/PiiScan/PiiScan.node.ts). */
function nodeDefaults(width: number, height: number, workers: number): ScanSettings {
	return {
		intervalSec: 1,
		cellThreshold: 3,
		maxGapSec: 30,
		width,
		height,
		timeoutMs: 60 * 60_000,
		detectors: { phoneRegion: 'US', types: [...TYPES], compiledPatterns: [] },
		minFindingConfidence: 0.5,
		minOcrConfidence: 45,
		maxUnreadableShare: 0.5,
		evidenceFrames: 6,
		concurrency: workers,
	};
}

/** The pool, with the wall time during which at least one recognition was in flight. */
class TimedOcr implements OcrEngine {
	calls = 0;
	/** Sum of the pool's per-image times (preprocessing + recognition, without queueing). */
	imageMs = 0;
	/** Wall time with at least one image in OCR. */
	busyMs = 0;
	private inFlight = 0;
	private busySince = 0;

	constructor(private readonly pool: OcrPool) {}

	reset(): void {
		this.calls = 0;
		this.imageMs = 0;
		this.busyMs = 0;
	}

	async recognize(image: Buffer) {
		this.calls++;
		if (this.inFlight++ === 0) this.busySince = performance.now();
		try {
			const page = await this.pool.recognize(image);
			this.imageMs += page.ms;
			return page;
		} finally {
			if (--this.inFlight === 0) this.busyMs += performance.now() - this.busySince;
		}
	}
}

function overlapsTime(finding: ScanFinding, item: { fromSec: number; toSec: number }): boolean {
	return finding.atSec < item.toSec && finding.untilSec > item.fromSec;
}

function boxesTouch(a: Box | [number, number, number, number], b: Box, slack = BOX_SLACK): boolean {
	return a[0] < b[0] + b[2] + slack && b[0] < a[0] + a[2] + slack && a[1] < b[1] + b[3] + slack && b[1] < a[1] + a[3] + slack;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ratio = (part: number, whole: number) => (whole ? (part / whole).toFixed(3) : 'n/a');
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mark = (ok: boolean) => (ok ? 'meets' : 'MISSES');

/** Test processes running beside the bench (their CPU use inflates every time below). */
function otherLoad(): string {
	const jest: number[] = [];
	for (const pid of readdirSync('/proc')) {
		if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
		try {
			if (/\bjest\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '))) jest.push(Number(pid));
		} catch {
			// ended between readdir and read
		}
	}
	const [one] = loadavg();
	return `load average ${one.toFixed(2)} on ${availableParallelism()} cores${jest.length ? `, UNDER LOAD: jest running (${jest.length} process(es))` : ', no test run beside it'}`;
}

/** CPU ticks: the whole machine's busy time, and this process's own plus its reaped children's (ffmpeg). */
function cpuTicks(): { machine: number; ours: number } {
	const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
	const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
	const self = readFileSync('/proc/self/stat', 'utf8');
	const [utime, stime, cutime, cstime] = self.slice(self.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
	return { machine: user + nice + system + irq + softirq + (steal || 0), ours: utime + stime + cutime + cstime };
}

/** CPU seconds other processes used since `from` (at 100 ticks/s): what inflated a timing. */
function foreignCpuSec(from: { machine: number; ours: number }): number {
	const now = cpuTicks();
	return Math.max(0, now.machine - from.machine - (now.ours - from.ours)) / 100;
}

interface ClipOutcome {
	name: string;
	spec: DesktopSpec;
	appearances: Appearance[];
	decoys: Decoy[];
	scan: ScanResult;
	ocr: { calls: number; imageMs: number; busyMs: number };
}

async function scanCorpus(dir: string, engine: TimedOcr, workers: number): Promise<ClipOutcome[]> {
	let corpus = piiCorpus(variant);
	if (short) corpus = [...corpus.slice(0, 4), corpus[4 + 4], ...corpus.filter((clip) => clip.name.includes('clean-')).slice(0, 1)];
	const generateStarted = Date.now();
	// Two encodes at a time (libvpx runs one thread each) on this 2-core machine.
	const generated = new Array<Awaited<ReturnType<typeof generateDesktopRecording>>>(corpus.length);
	let next = 0;
	await Promise.all(
		[0, 1].map(async () => {
			while (next < corpus.length) {
				const index = next++;
				const { name, spec } = corpus[index];
				generated[index] = await generateDesktopRecording(join(dir, `${name}.${spec.container ?? 'webm'}`), spec);
			}
		}),
	);
	const totalSeconds = corpus.reduce((sum, clip) => sum + clip.spec.seconds, 0);
	console.log(`corpus: ${corpus.length} clips, ${totalSeconds} s of 1920x1080 video, generated in ${seconds(Date.now() - generateStarted)} s`);

	const outcomes: ClipOutcome[] = [];
	for (const [index, { name, spec }] of corpus.entries()) {
		const recording = generated[index];
		const width = spec.width ?? 1920;
		const height = spec.height ?? 1080;
		engine.reset();
		const scan = await scanRecording(ffmpeg, recording.file, engine, nodeDefaults(width, height, workers));
		outcomes.push({
			name,
			spec,
			appearances: recording.truth.appearances,
			decoys: recording.truth.decoys,
			scan,
			ocr: { calls: engine.calls, imageMs: engine.imageMs, busyMs: engine.busyMs },
		});
		const found = recording.truth.appearances.filter((a) => scan.findings.some((f) => f.type === a.type && overlapsTime(f, a))).length;
		console.log(
			`  ${name.padEnd(22)} ${(spec.container ?? 'webm').padEnd(4)} ${spec.seconds} s: verdict ${scan.verdict.padEnd(6)} ` +
				`appearances ${found}/${recording.truth.appearances.length} found, findings ${scan.findings.length}, ` +
				`OCR ${scan.stats.sentToOcr}/${scan.stats.sampled} frames (area ${scan.stats.ocrAreaShare}, ${scan.stats.ocrCalls} reads, ${scan.stats.secondLooks} second looks), scan ${seconds(scan.stats.wallMs)} s`,
		);
	}
	return outcomes;
}

function reportCorpus(outcomes: ClipOutcome[]): void {
	interface Row {
		appearances: number;
		found: number;
		foundAtBox: number;
		falsePositives: number;
		onDecoys: number;
	}
	const empty = (): Row => ({ appearances: 0, found: 0, foundAtBox: 0, falsePositives: 0, onDecoys: 0 });
	const rows = new Map<string, Row>(TYPES.map((type) => [type, empty()]));
	const bySize = new Map<string, Row>();
	const decoyKinds = new Map<string, { shown: number; hit: number }>();
	const misses: string[] = [];
	const falsePositives: string[] = [];
	let pii = 0;
	let piiQuarantined = 0;
	let clean = 0;
	let cleanClean = 0;

	for (const outcome of outcomes) {
		const { appearances, decoys, scan } = outcome;
		if (appearances.length) {
			pii++;
			if (scan.verdict !== 'clean') piiQuarantined++;
		} else {
			clean++;
			if (scan.verdict === 'clean') cleanClean++;
		}
		for (const appearance of appearances) {
			const row = rows.get(appearance.type) ?? empty();
			rows.set(appearance.type, row);
			const sizeKey = `${appearance.fontSize <= 14 ? '12-14' : appearance.fontSize <= 20 ? '16-20' : '22-40'} px ${appearance.theme}`;
			const sizeRow = bySize.get(sizeKey) ?? empty();
			bySize.set(sizeKey, sizeRow);
			const sameType = scan.findings.filter((f) => f.type === appearance.type && overlapsTime(f, appearance));
			const found = sameType.length > 0;
			const atBox = sameType.some((f) => boxesTouch(f.box, appearance.box));
			for (const target of [row, sizeRow]) {
				target.appearances++;
				if (found) target.found++;
				if (atBox) target.foundAtBox++;
			}
			if (!atBox) {
				misses.push(
					`  missed: ${outcome.name} ${appearance.type} "${appearance.label}" ${appearance.fromSec}-${appearance.toSec} s` +
						`${found ? ' (a finding of that type at that time, elsewhere on screen)' : ''}`,
				);
			}
		}
		for (const decoy of decoys) {
			const kind = decoyKinds.get(decoy.kind) ?? { shown: 0, hit: 0 };
			decoyKinds.set(decoy.kind, kind);
			kind.shown++;
			if (scan.findings.some((f) => overlapsTime(f, decoy) && boxesTouch(f.box, decoy.box, 2))) kind.hit++;
		}
		for (const finding of scan.findings) {
			// A true positive has the type, the time and the place of an appearance.
			if (appearances.some((a) => a.type === finding.type && overlapsTime(finding, a) && boxesTouch(finding.box, a.box))) continue;
			const type = finding.type === 'custom' ? `custom:${finding.name ?? ''}` : finding.type;
			const row = rows.get(type) ?? empty();
			rows.set(type, row);
			row.falsePositives++;
			const decoy = decoys.find((d) => overlapsTime(finding, d) && boxesTouch(finding.box, d.box, 2));
			if (decoy) row.onDecoys++;
			const other = appearances.find((a) => overlapsTime(finding, a) && boxesTouch(finding.box, a.box, 2));
			const where = decoy ? ` ON DECOY ${decoy.kind} "${decoy.label}"` : other ? ` on the ${other.type} value "${other.label}" (type confusion)` : '';
			falsePositives.push(`  false positive: ${outcome.name} ${type} ${finding.masked} ${finding.atSec}-${finding.untilSec} s conf ${finding.confidence}${where}`);
		}
	}

	const total = [...rows.values()].reduce(
		(sum, row) => ({
			appearances: sum.appearances + row.appearances,
			found: sum.found + row.found,
			foundAtBox: sum.foundAtBox + row.foundAtBox,
			falsePositives: sum.falsePositives + row.falsePositives,
			onDecoys: sum.onDecoys + row.onDecoys,
		}),
		empty(),
	);
	const recall = (row: Row, key: 'found' | 'foundAtBox') => (row.appearances ? row[key] / row.appearances : 1);
	console.log('');
	console.log(`PII accuracy on the synthetic corpus${variant ? ` variant ${variant} (held out)` : ' (the tuning corpus)'} (${outcomes.length} clips; target recall >= ${TARGET_RECALL}, 0 false positives on decoys)`);
	console.log('recall: a finding of the type overlaps the appearance in time; "at box": and on its place (+-8 px)');
	console.log('false positives: findings matching no appearance by type, time and place; "on decoys": of those, on a decoy');
	console.log('| PII type | appearances | found | recall | found at box | recall at box | false positives | on decoys |');
	console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
	const line = (name: string, row: Row) =>
		console.log(
			`| ${name} | ${row.appearances} | ${row.found} | ${recall(row, 'found').toFixed(3)} | ${row.foundAtBox} | ${recall(row, 'foundAtBox').toFixed(3)} | ${row.falsePositives} | ${row.onDecoys} |`,
		);
	for (const [type, row] of rows) line(type, row);
	line('**total**', total);
	console.log('');
	console.log('| text size, theme | appearances | found | recall | found at box | recall at box |');
	console.log('|---|---:|---:|---:|---:|---:|');
	for (const [key, row] of [...bySize].sort(([a], [b]) => a.localeCompare(b))) {
		console.log(`| ${key} | ${row.appearances} | ${row.found} | ${recall(row, 'found').toFixed(3)} | ${row.foundAtBox} | ${recall(row, 'foundAtBox').toFixed(3)} |`);
	}
	console.log('');
	console.log('| decoy kind | shown | with a finding on it |');
	console.log('|---|---:|---:|');
	for (const [kind, count] of [...decoyKinds].sort(([a], [b]) => a.localeCompare(b))) console.log(`| ${kind} | ${count.shown} | ${count.hit} |`);
	const decoyHits = [...decoyKinds.values()].reduce((sum, kind) => sum + kind.hit, 0);
	console.log('');
	console.log(`verdicts: ${piiQuarantined}/${pii} clips with PII quarantined (found or unsure), ${cleanClean}/${clean} decoy-only clips clean`);
	for (const text of [...misses, ...falsePositives]) console.log(text);
	const sampled = outcomes.reduce((sum, o) => sum + o.scan.stats.sampled, 0);
	const sent = outcomes.reduce((sum, o) => sum + o.scan.stats.sentToOcr, 0);
	console.log(`corpus frames: ${sent} of ${sampled} sampled frames reached OCR (${ratio(sent, sampled)})`);
	console.log(
		`TARGET recall >= ${TARGET_RECALL}: ${recall(total, 'found').toFixed(3)} ${mark(recall(total, 'found') >= TARGET_RECALL)}` +
			` (lowest type ${Math.min(...TYPES.map((type) => recall(rows.get(type) ?? empty(), 'found'))).toFixed(3)}` +
			`, at box ${recall(total, 'foundAtBox').toFixed(3)})`,
	);
	console.log(`TARGET 0 false positives on decoys: ${decoyHits} decoy(s) with a finding ${mark(decoyHits === 0)} (all false positives: ${total.falsePositives})`);
}

/** 60 s of agent work: ten screens of 4–8 s taken from the corpus (so the values are varied), 14 px UI text. */
function timingSpec(durationSec: number): DesktopSpec {
	const bodies: Array<Omit<ScreenSpec, 'fromSec' | 'toSec'>> = [];
	const seen = new Set<string>();
	for (const { spec } of piiCorpus()) {
		for (const screen of spec.screens ?? []) {
			const key = `${screen.title}:${screen.fields.map((field) => field.value).join('|')}`;
			if (seen.has(key)) continue;
			seen.add(key);
			bodies.push({ title: screen.title, fields: screen.fields });
		}
	}
	// Alternate the kinds of screen rather than taking the first clip's screens in a row.
	const byTitle = new Map<string, Array<Omit<ScreenSpec, 'fromSec' | 'toSec'>>>();
	for (const body of bodies) byTitle.set(body.title, [...(byTitle.get(body.title) ?? []), body]);
	const titles = [...byTitle.keys()];
	const lengths = [5, 6, 7, 4, 8, 6, 5, 7, 6, 6];
	const screens: ScreenSpec[] = [];
	let from = 0;
	for (let index = 0; from < durationSec; index++) {
		const to = Math.min(durationSec, from + lengths[index % lengths.length]);
		const pool = byTitle.get(titles[index % titles.length]) ?? [];
		const body = pool[Math.floor(index / titles.length) % pool.length];
		screens.push({ fromSec: from, toSec: to, ...body });
		from = to;
	}
	return { seconds: durationSec, width: 1920, height: 1080, fps: 15, theme: 'light', fontSize: 14, audio: 'tone', container: 'webm', screens };
}

/** ffmpeg alone with the sampler's decode arguments, its raw gray frames read and dropped: the floor. */
async function decodeOnly(file: string, width: number, height: number, intervalSec: number): Promise<{ ms: number; frames: number }> {
	let bytes = 0;
	const sink = new Writable({
		write(chunk: Buffer, _encoding, callback) {
			bytes += chunk.length;
			callback();
		},
	});
	const started = performance.now();
	await runTool(
		ffmpeg,
		['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-vf', `fps=1/${intervalSec},scale=${width}:${height}:flags=bicubic,format=gray`, '-f', 'rawvideo', 'pipe:1'],
		{ timeoutMs: 600_000, stdout: sink },
	);
	return { ms: performance.now() - started, frames: Math.round(bytes / (width * height)) };
}

/** Grid of the sampler's change test (16x9); on the timing input, columns 13-15 (x >= 1560) hold the widget and the clock, no form. */
const GRID_COLUMNS = 16;
const SIDE_COLUMN = 13;

/**
 * The sampler alone (decode and change test; no OCR): its time, and why frames go to OCR.
 * The changed cells of a frame are recomputed here from consecutive OCR'd frames, so that
 * split is approximate.
 */
async function samplerOnly(file: string, settings: ScanSettings) {
	const { intervalSec, cellThreshold, maxGapSec, width, height, timeoutMs } = settings;
	const counts = { change: 0, sideOnly: 0, settleOrGap: 0 };
	let previous: Float64Array | undefined;
	const started = performance.now();
	const stats = await sampleFrames(ffmpeg, file, { intervalSec, cellThreshold, maxGapSec, width, height, timeoutMs }, async (frame) => {
		const means = cellMeans(frame.pgm.subarray(frame.pgm.length - frame.width * frame.height), frame.width, frame.height);
		if (frame.changedShare > 0 && previous) {
			counts.change++;
			const changed: number[] = [];
			for (let cell = 0; cell < means.length; cell++) if (Math.abs(means[cell] - previous[cell]) >= cellThreshold) changed.push(cell);
			if (changed.length && changed.every((cell) => cell % GRID_COLUMNS >= SIDE_COLUMN)) counts.sideOnly++;
		} else if (previous) {
			counts.settleOrGap++;
		}
		previous = means;
	});
	return { ms: performance.now() - started, sampled: stats.sampled, sent: stats.sentToOcr, ...counts };
}

async function timing(dir: string, engine: TimedOcr, workers: number): Promise<void> {
	const durationSec = 60;
	const spec = timingSpec(durationSec);
	const file = join(dir, 'desktop-60s.webm');
	const generateStarted = Date.now();
	const recording = await generateDesktopRecording(file, spec);
	console.log('');
	console.log(
		`timing input: ${durationSec} s 1920x1080 15 fps VP8 WebM, ${spec.screens?.length} screens (${spec.fontSize} px text, moving widget, clock), ` +
			`${recording.truth.appearances.length} PII appearances; generated in ${seconds(Date.now() - generateStarted)} s`,
	);
	const settings = nodeDefaults(1920, 1080, workers);
	const runs = short ? 1 : 3;
	const decodes: number[] = [];
	const samplers: Array<Awaited<ReturnType<typeof samplerOnly>>> = [];
	const scans: Array<{ wallMs: number; busyMs: number; imageMs: number; sampled: number; sent: number; findings: number; verdict: string }> = [];
	for (let run = 0; run < runs; run++) {
		console.log(`  run ${run + 1}: ${otherLoad()}`);
		const ticks = cpuTicks();
		const decode = await decodeOnly(file, 1920, 1080, settings.intervalSec);
		decodes.push(decode.ms);
		const sampler = await samplerOnly(file, settings);
		samplers.push(sampler);
		engine.reset();
		const started = performance.now();
		const scan = await scanRecording(ffmpeg, file, engine, settings);
		const wallMs = performance.now() - started;
		scans.push({
			wallMs,
			busyMs: engine.busyMs,
			imageMs: engine.imageMs,
			sampled: scan.stats.sampled,
			sent: scan.stats.sentToOcr,
			findings: scan.findings.length,
			verdict: scan.verdict,
		});
		console.log(
			`  run ${run + 1}: decode-only ${seconds(decode.ms)} s (${decode.frames} frames); sampler without OCR ${seconds(sampler.ms)} s; scan ${seconds(wallMs)} s, ` +
				`OCR ${scan.stats.sentToOcr}/${scan.stats.sampled} frames (area ${scan.stats.ocrAreaShare}, ${scan.stats.ocrCalls} reads of which ${scan.stats.secondLooks} second looks), OCR in flight ${seconds(engine.busyMs)} s, ` +
				`verdict ${scan.verdict} with ${scan.findings.length} findings; other processes used ${foreignCpuSec(ticks).toFixed(1)} CPU-s meanwhile`,
		);
	}
	const pick = <K extends keyof (typeof scans)[number]>(key: K) => scans.map((scan) => scan[key] as number);
	const scanMs = median(pick('wallMs'));
	const decodeMs = median(decodes);
	const busyMs = median(pick('busyMs'));
	const imageMs = median(pick('imageMs'));
	const sampled = median(pick('sampled'));
	const sent = median(pick('sent'));
	const perMinute = (ms: number) => ((ms / 1000) * 60) / durationSec;
	console.log('');
	console.log(`Scan time, 1080p (median of ${runs}; ${workers} OCR workers; node defaults)`);
	console.log('| measure | value |');
	console.log('|---|---:|');
	console.log(`| scan time per minute of 1080p video | ${perMinute(scanMs).toFixed(1)} s (target <= ${TARGET_SEC_PER_MIN} s: ${mark(perMinute(scanMs) <= TARGET_SEC_PER_MIN)}) |`);
	console.log(`| realtime factor | ${(scanMs / 1000 / durationSec).toFixed(3)} (target <= 0.100) |`);
	console.log(`| sampled frames that reached OCR | ${sent} of ${sampled} (${ratio(sent, sampled)}) |`);
	console.log(`| wall time with OCR in flight | ${seconds(busyMs)} s (${ratio(busyMs, scanMs)} of the scan) |`);
	console.log(`| wall time decoding/sampling only | ${seconds(scanMs - busyMs)} s (${ratio(scanMs - busyMs, scanMs)} of the scan) |`);
	console.log(`| OCR time per frame (preprocess + recognise, per worker) | ${sent ? seconds(imageMs / sent) : 'n/a'} s |`);
	console.log(`| floor: ffmpeg decode at 1 frame/s to gray 1080p | ${seconds(decodeMs)} s per minute |`);
	console.log(`| ratio scan / decode | ${(scanMs / decodeMs).toFixed(1)} |`);
	const samplerMs = median(samplers.map((sampler) => sampler.ms));
	const [why] = samplers;
	console.log(`| sampler alone (decode + change test, no OCR) | ${seconds(samplerMs)} s (${ratio(samplerMs, scanMs)} of the scan) |`);
	console.log(
		`| why frames reached OCR (first frame aside) | ${why.change} on a change, ${why.sideOnly} of them changed only in the widget/clock column (x >= 1560, no form text; approximate); ${why.settleOrGap} settle or max-gap |`,
	);
	const needed = sent ? ((TARGET_SEC_PER_MIN * 1000 - decodeMs) * workers) / (imageMs / sent) : 0;
	console.log(`| OCR'd frames per minute that fit the target at this OCR speed | about ${Math.max(0, Math.floor(needed))} |`);
}

async function main(): Promise<void> {
	const started = Date.now();
	console.log(`ffmpeg: ${ffmpeg.version} (${ffmpeg.origin}); ${otherLoad()}`);
	const dir = await mkdtemp(join(tmpdir(), 'cx-bench-pii-'));
	try {
		const poolStarted = Date.now();
		const pool = await sharedOcrPool({});
		const workers = pool.settings.workers;
		console.log(`OCR pool: ${workers} workers, psm ${pool.settings.psm}, upscale ${pool.settings.upscale}, started in ${seconds(Date.now() - poolStarted)} s`);
		const engine = new TimedOcr(pool);
		if (only !== 'timing') reportCorpus(await scanCorpus(dir, engine, workers));
		if (only !== 'corpus') await timing(dir, engine, workers);
		console.log('');
		console.log(`bench pii finished in ${seconds(Date.now() - started)} s`);
	} finally {
		await closeAllOcrPools();
		await rm(dir, { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
	void closeAllOcrPools().finally(() => process.exit(1));
});
