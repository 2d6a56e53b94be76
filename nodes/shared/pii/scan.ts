import { writeFile } from 'node:fs/promises';

import { runTool, type ToolInfo } from '../media/tools';
import type { Workspace } from '../media/workspace';
import { detectPii, suspectLines, type DetectorOptions, type OcrBox, type OcrWord, type PiiType } from './detectors';
import { scalePgm } from './ocr';
import { sampleFrames, snapBackground, type Rect, type SampledFrame, type SamplerOptions } from './sampler';

/** What PII Scan needs from an OCR engine: words with boxes for one image (the pool in ocr.ts). */
export interface OcrEngine {
	recognize(image: Buffer): Promise<{ words: OcrWord[]; meanConfidence: number }>;
}

export interface ScanSettings extends Omit<SamplerOptions, 'signal'> {
	detectors: DetectorOptions;
	/** Findings below this confidence make the verdict `unsure` instead of `found`. */
	minFindingConfidence: number;
	/** A frame whose OCR words average below this (0–100) is unreadable. */
	minOcrConfidence: number;
	/** Share of OCR'd frames that may be unreadable before the verdict is `unsure`. */
	maxUnreadableShare: number;
	/** Frames kept for the evidence image. */
	evidenceFrames: number;
	/** OCR calls in flight at once (the pool's worker count). */
	concurrency?: number;
	/**
	 * A line that looks like a value the detectors could not confirm (see suspectLines) is read again, enlarged
	 * by this factor on top of the OCR's own scale, and if that confirms nothing, once more at the OCR's own
	 * scale; 1 turns the second look off. Default {@link SECOND_LOOK_SCALE}.
	 */
	secondLookScale?: number;
	signal?: AbortSignal;
}

export interface ScanFinding {
	type: PiiType;
	name?: string;
	/** Masked: never the raw value. */
	masked: string;
	atSec: number;
	untilSec: number;
	box: [number, number, number, number];
	confidence: number;
	labelled: boolean;
}

export interface ScanResult {
	verdict: 'clean' | 'found' | 'unsure';
	reasons: string[];
	findings: ScanFinding[];
	stats: {
		sampled: number;
		/** Sampled frames of which some part was read. */
		sentToOcr: number;
		ocrShare: number;
		/** Area read over the area sampled (1 = every sampled frame read whole). */
		ocrAreaShare: number;
		/** OCR calls (one per region read, plus the second looks). */
		ocrCalls: number;
		/** Suspect lines read again, larger. */
		secondLooks: number;
		unreadableFrames: number;
		ocrMs: number;
		wallMs: number;
	};
	/** Frames with findings (at most `evidenceFrames`), for the evidence image. */
	evidence: Array<{ atSec: number; pgm: Buffer; boxes: Array<[number, number, number, number]> }>;
}

function iou(a: [number, number, number, number], b: [number, number, number, number]): number {
	const x1 = Math.max(a[0], b[0]);
	const y1 = Math.max(a[1], b[1]);
	const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
	const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
	const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
	const union = a[2] * a[3] + b[2] * b[3] - inter;
	return union > 0 ? inter / union : 0;
}

/** The part of a frame in `region`, as a PGM of its own (a copy). */
export function cropPgm(frame: Pick<SampledFrame, 'pgm' | 'width' | 'height'>, region: Rect): Buffer {
	const { width, height } = frame;
	const header = Buffer.from(`P5\n${region.w} ${region.h}\n255\n`, 'latin1');
	const out = Buffer.allocUnsafe(header.length + region.w * region.h);
	header.copy(out);
	const pixels = frame.pgm.length - width * height;
	for (let row = 0; row < region.h; row++) {
		const from = pixels + (region.y + row) * width + region.x;
		frame.pgm.copy(out, header.length + row * region.w, from, from + region.w);
	}
	return out;
}

/**
 * On the corpus, 12–14 px values lost to one misread character (`@` read as `G`, a digit too many) were read
 * right at twice the size.
 */
export const SECOND_LOOK_SCALE = 2;

/** Pixels from the edge of a region within which a freshly read word counts as cut by the crop. */
const CROP_EDGE = 2;

/**
 * What is on screen, as OCR words in frame pixels, kept across reads: a read of some regions replaces the
 * words lying inside them and keeps the rest, whose cells did not change. A word straddling a region's edge is
 * kept from before (the crop cut it); a new word touching an inner edge of the crop is dropped for the same
 * reason.
 */
export class ScreenWords {
	words: OcrWord[] = [];
	private reads = 0;

	update(regions: Rect[], read: OcrWord[][], width: number, height: number): { words: OcrWord[]; fresh: Set<number> } {
		const inside = (box: OcrWord['box'], r: Rect) => box.x0 >= r.x && box.y0 >= r.y && box.x1 <= r.x + r.w && box.y1 <= r.y + r.h;
		const kept = this.words.filter((word) => !regions.some((region) => inside(word.box, region)));
		const prefix = `r${this.reads++}`;
		const added: OcrWord[] = [];
		regions.forEach((region, index) => {
			const cut = (box: OcrWord['box']) =>
				(region.x > 0 && box.x0 - region.x < CROP_EDGE) ||
				(region.y > 0 && box.y0 - region.y < CROP_EDGE) ||
				(region.x + region.w < width && region.x + region.w - box.x1 < CROP_EDGE) ||
				(region.y + region.h < height && region.y + region.h - box.y1 < CROP_EDGE);
			for (const word of read[index] ?? []) {
				if (cut(word.box)) continue;
				added.push({ ...word, lineId: `${prefix}.${index}.${word.lineId ?? ''}` });
			}
		});
		this.words = [...kept, ...added];
		const fresh = new Set<number>();
		for (let index = kept.length; index < this.words.length; index++) fresh.add(index);
		return { words: this.words, fresh };
	}

	/** The screen with the words inside `region` replaced by `read` (not applied). */
	with(region: Rect, read: OcrWord[]): OcrWord[] {
		const inside = (box: OcrWord['box']) => box.x0 >= region.x && box.y0 >= region.y && box.x1 <= region.x + region.w && box.y1 <= region.y + region.h;
		const prefix = `s${this.reads++}`;
		return [...this.words.filter((word) => !inside(word.box)), ...read.map((word) => ({ ...word, lineId: `${prefix}.${word.lineId ?? ''}` }))];
	}
}

/** A suspect line's box grown for a second read: half a line above and below, two line heights left, four right. */
function secondLookRegion(line: OcrBox, width: number, height: number): Rect {
	const lineHeight = Math.max(4, line.y1 - line.y0);
	const x = Math.max(0, Math.floor(line.x0 - 2 * lineHeight));
	const y = Math.max(0, Math.floor(line.y0 - 0.5 * lineHeight));
	return { x, y, w: Math.min(width, Math.ceil(line.x1 + 4 * lineHeight)) - x, h: Math.min(height, Math.ceil(line.y1 + 0.5 * lineHeight)) - y };
}

/**
 * Samples the recording, OCRs the regions that changed, runs the detectors on the text rebuilt from what is on
 * screen (the words just read plus the words of unchanged regions read before) and merges the same value at
 * the same place across reads into one finding with a time range. A finding stays open until a read no longer
 * shows it; frames skipped as unchanged keep what was on screen.
 */
export async function scanRecording(ffmpeg: ToolInfo, input: string, ocr: OcrEngine, settings: ScanSettings): Promise<ScanResult> {
	const started = Date.now();
	const open: ScanFinding[] = [];
	const closed: ScanFinding[] = [];
	const evidence: ScanResult['evidence'] = [];
	const pages: Array<{ atSec: number; found: ReturnType<typeof detectPii> }> = [];
	const screen = new ScreenWords();
	let ocrMs = 0;
	let ocrCalls = 0;
	let unreadable = 0;
	let lastAt = 0;
	// Reads run on every worker at once; their words are merged into the screen in frame order.
	const inFlight = new Set<Promise<void>>();
	const done = new Map<number, { frame: SampledFrame; read: OcrWord[][] }>();
	let sequence = 0;
	let nextToMerge = 0;
	const scale = settings.secondLookScale ?? SECOND_LOOK_SCALE;
	let secondLooks = 0;
	/** Reads suspect lines again (2×, then 1×) from the decoded frame; keeps a re-read that confirms more. */
	const secondLook = async (frame: SampledFrame, words: OcrWord[], fresh: Set<number>, found: ReturnType<typeof detectPii>) => {
		if (scale <= 1) return { words, found };
		for (const line of suspectLines(words, found, settings.detectors, fresh)) {
			const region = secondLookRegion(line, frame.width, frame.height);
			const crop = cropPgm(frame, region);
			// Larger first; then the first read's own scale on the tight, unsnapped crop (tesseract's misreads
			// depend on the scale: a value misread at one is often read right at the other).
			for (const factor of [scale, 1]) {
				const image = scalePgm(crop, factor);
				if (!image) break;
				secondLooks++;
				const ocrStarted = Date.now();
				const page = await ocr.recognize(image);
				ocrMs += Date.now() - ocrStarted;
				ocrCalls++;
				const read = page.words.map((word) => ({
					...word,
					box: {
						x0: region.x + Math.floor(word.box.x0 / factor),
						y0: region.y + Math.floor(word.box.y0 / factor),
						x1: region.x + Math.ceil(word.box.x1 / factor),
						y1: region.y + Math.ceil(word.box.y1 / factor),
					},
				}));
				const candidate = screen.with(region, read);
				const again = detectPii(candidate, settings.detectors);
				// Kept when it confirms more: a higher sum of finding confidences (a value read whole outweighs a
				// low-confidence misread of it as another type; a read that loses a finding is not kept).
				const weight = (findings: typeof found) => findings.reduce((sum, finding) => sum + finding.confidence, 0);
				if (weight(again) > weight(found) + 0.01) {
					screen.words = candidate;
					words = candidate;
					found = again;
					break;
				}
			}
		}
		return { words, found };
	};
	// In frame order: each read changes the screen the next one starts from.
	let merging: Promise<void> = Promise.resolve();
	const drain = async () => {
		for (let ready = done.get(nextToMerge); ready; ready = done.get(nextToMerge)) {
			done.delete(nextToMerge++);
			const { frame, read } = ready;
			const updated = screen.update(frame.regions, read, frame.width, frame.height);
			// Readability of the screen as it now stands (a region of pictures alone reads as noise).
			const { words } = updated;
			if (words.length > 0 && words.reduce((sum, word) => sum + word.confidence, 0) / words.length < settings.minOcrConfidence) unreadable++;
			const { found } = await secondLook(frame, words, updated.fresh, detectPii(words, settings.detectors));
			pages.push({ atSec: frame.atSec, found });
			// Evidence: the frames where a finding was first read, not every frame it stays on screen.
			if (evidence.length < settings.evidenceFrames && found.some((finding) => !pages.at(-2)?.found.some((before) => before.masked === finding.masked && before.type === finding.type))) {
				evidence.push({ atSec: frame.atSec, pgm: frame.pgm, boxes: found.map((finding) => finding.box) });
			}
		}
	};
	const merge = () => {
		merging = merging.then(drain);
		return merging;
	};
	let failure: unknown;
	const stats = await sampleFrames(ffmpeg, input, { ...settings, signal: settings.signal }, async (frame) => {
		if (failure) throw failure;
		lastAt = Math.max(lastAt, frame.atSec);
		const seq = sequence++;
		const task = (async () => {
			const ocrStarted = Date.now();
			// Encoder ghosts (faint remnants of the previous screen) are snapped away before the first read; the
			// frame itself stays as decoded for the second look and the evidence image.
			const results = await Promise.all(
				frame.regions.map((region) => {
					const crop = cropPgm(frame, region);
					snapBackground(crop.subarray(crop.length - region.w * region.h), region.w, region.h);
					return ocr.recognize(crop);
				}),
			);
			ocrMs += Date.now() - ocrStarted;
			ocrCalls += results.length;
			const read = results.map((page, index) =>
				page.words.map((word) => ({
					...word,
					box: { x0: word.box.x0 + frame.regions[index].x, y0: word.box.y0 + frame.regions[index].y, x1: word.box.x1 + frame.regions[index].x, y1: word.box.y1 + frame.regions[index].y },
				})),
			);
			done.set(seq, { frame, read });
			await merge();
		})().catch((error: unknown) => {
			failure ??= error;
		});
		inFlight.add(task);
		void task.finally(() => inFlight.delete(task));
		if (inFlight.size >= Math.max(1, settings.concurrency ?? 1)) await Promise.race(inFlight);
	});
	await Promise.all(inFlight);
	if (failure) throw failure;
	pages.sort((a, b) => a.atSec - b.atSec);
	evidence.sort((a, b) => a.atSec - b.atSec);
	for (const { atSec, found } of pages) {
		const seen = new Set<ScanFinding>();
		for (const finding of found) {
			const match = open.find((candidate) => candidate.type === finding.type && candidate.masked === finding.masked && iou(candidate.box, finding.box) > 0.3);
			if (match) {
				match.untilSec = atSec + settings.intervalSec;
				match.confidence = Math.max(match.confidence, Math.round(finding.confidence * 1000) / 1000);
				match.labelled ||= finding.labelled;
				seen.add(match);
				continue;
			}
			const created: ScanFinding = {
				type: finding.type,
				masked: finding.masked,
				atSec,
				untilSec: atSec + settings.intervalSec,
				box: finding.box,
				confidence: Math.round(finding.confidence * 1000) / 1000,
				labelled: finding.labelled,
			};
			if (finding.name) created.name = finding.name;
			open.push(created);
			seen.add(created);
		}
		// Whatever was open and is gone now was on screen until this read's change (its cells held still before).
		for (let index = open.length - 1; index >= 0; index--) {
			if (seen.has(open[index])) continue;
			const [gone] = open.splice(index, 1);
			gone.untilSec = Math.max(gone.untilSec, atSec);
			closed.push(gone);
		}
	}
	// Still on screen at the end: open until the last sample (plus one interval).
	const endSec = Math.max(lastAt, (stats.sampled - 1) * settings.intervalSec) + settings.intervalSec;
	for (const finding of open) finding.untilSec = Math.max(finding.untilSec, endSec);
	const findings = [...closed, ...open].sort((a, b) => a.atSec - b.atSec || a.type.localeCompare(b.type));

	const reasons: string[] = [];
	const confident = findings.filter((finding) => finding.confidence >= settings.minFindingConfidence);
	let verdict: ScanResult['verdict'] = 'clean';
	if (confident.length) {
		verdict = 'found';
		const types = [...new Set(confident.map((finding) => finding.type))];
		reasons.push(`${confident.length} finding(s): ${types.join(', ')}`);
	} else if (findings.length) {
		verdict = 'unsure';
		reasons.push(`${findings.length} low-confidence candidate(s) below ${settings.minFindingConfidence}`);
	}
	if (stats.sampled === 0) {
		verdict = verdict === 'found' ? verdict : 'unsure';
		reasons.push('no frame could be decoded');
	} else if (stats.sentToOcr > 0 && unreadable / stats.sentToOcr > settings.maxUnreadableShare) {
		verdict = verdict === 'found' ? verdict : 'unsure';
		reasons.push(`${unreadable} of ${stats.sentToOcr} OCR'd frames were unreadable (mean confidence below ${settings.minOcrConfidence})`);
	}
	return {
		verdict,
		reasons,
		findings,
		stats: {
			sampled: stats.sampled,
			sentToOcr: stats.sentToOcr,
			ocrShare: stats.sampled ? Math.round((stats.sentToOcr / stats.sampled) * 1000) / 1000 : 0,
			ocrAreaShare: stats.ocrAreaShare,
			ocrCalls,
			secondLooks,
			unreadableFrames: unreadable,
			ocrMs,
			wallMs: Date.now() - started,
		},
		evidence,
	};
}

/**
 * The evidence image: the frames with findings side by side (3 per row, 640 px wide each) with every
 * finding boxed in red, so a reviewer sees at a glance why an asset was held. Values are on the picture
 * (that is the point); the image goes to the quarantine path only.
 */
export async function evidenceSheet(ffmpeg: ToolInfo, workspace: Workspace, evidence: ScanResult['evidence'], output: string, timeoutMs: number): Promise<boolean> {
	if (!evidence.length) return false;
	const filters: string[] = [];
	for (const [index, frame] of evidence.entries()) {
		const file = workspace.path(`evidence-${String(index).padStart(3, '0')}.pgm`);
		await writeFile(file, frame.pgm);
		for (const [x, y, w, h] of frame.boxes) {
			filters.push(`drawbox=x=${Math.max(0, Math.round(x) - 6)}:y=${Math.max(0, Math.round(y) - 6)}:w=${Math.round(w) + 12}:h=${Math.round(h) + 12}:color=red:t=5:enable='eq(n\\,${index})'`);
		}
	}
	const columns = Math.min(3, evidence.length);
	const rows = Math.ceil(evidence.length / columns);
	const graph = ['format=rgb24', ...filters, 'scale=640:-2', `tile=${columns}x${rows}:padding=6:color=white`].join(',');
	await runTool(
		ffmpeg,
		['-hide_banner', '-nostdin', '-y', '-v', 'error', '-framerate', '1', '-i', workspace.path('evidence-%03d.pgm'), '-vf', graph, '-frames:v', '1', output],
		{ timeoutMs },
	);
	return true;
}
