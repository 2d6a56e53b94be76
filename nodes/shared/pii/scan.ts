import { writeFile } from 'node:fs/promises';

import { runTool, type ToolInfo } from '../media/tools';
import type { Workspace } from '../media/workspace';
import { detectPii, type DetectorOptions, type OcrWord, type PiiType } from './detectors';
import { sampleFrames, type SamplerOptions } from './sampler';

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
	stats: { sampled: number; sentToOcr: number; ocrShare: number; unreadableFrames: number; ocrMs: number; wallMs: number };
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

/**
 * Samples the recording, OCRs the frames that changed, runs the detectors on the rebuilt text and merges
 * the same value at the same place across frames into one finding with a time range. A finding stays open
 * until an OCR'd frame no longer shows it; frames skipped as unchanged keep what was on screen.
 */
export async function scanRecording(ffmpeg: ToolInfo, input: string, ocr: OcrEngine, settings: ScanSettings): Promise<ScanResult> {
	const started = Date.now();
	const open: ScanFinding[] = [];
	const closed: ScanFinding[] = [];
	const evidence: ScanResult['evidence'] = [];
	const pages: Array<{ atSec: number; found: ReturnType<typeof detectPii> }> = [];
	let ocrMs = 0;
	let unreadable = 0;
	let lastAt = 0;
	// OCR runs on every worker at once; frames are merged in time order afterwards.
	const inFlight = new Set<Promise<void>>();
	let failure: unknown;
	const stats = await sampleFrames(ffmpeg, input, { ...settings, signal: settings.signal }, async (frame) => {
		if (failure) throw failure;
		lastAt = Math.max(lastAt, frame.atSec);
		const task = (async () => {
			const ocrStarted = Date.now();
			const page = await ocr.recognize(frame.pgm);
			ocrMs += Date.now() - ocrStarted;
			if (page.words.length > 0 && page.meanConfidence < settings.minOcrConfidence) unreadable++;
			const found = detectPii(page.words, settings.detectors);
			pages.push({ atSec: frame.atSec, found });
			if (found.length && evidence.length < settings.evidenceFrames) {
				evidence.push({ atSec: frame.atSec, pgm: frame.pgm, boxes: found.map((finding) => finding.box) });
			}
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
		// Whatever was open and is gone now disappeared between the previous OCR'd frame and this one.
		for (let index = open.length - 1; index >= 0; index--) {
			if (!seen.has(open[index])) closed.push(...open.splice(index, 1));
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
