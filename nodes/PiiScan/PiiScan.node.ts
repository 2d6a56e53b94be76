import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { probeFacts, type MediaFacts } from '../shared/media/probe';
import { withWorkspace } from '../shared/media/workspace';
import { credentialTest } from '../shared/n8n/credentialTests';
import { h264QualityOptions, mediaError, mediaToolOptions, mediaToolsFor, readableObject, toolVersions, type MediaTools } from '../shared/n8n/media';
import { objectStoreFor } from '../shared/n8n/resources';
import { compileCustomPatterns, PatternError, type CustomPattern, type PiiType } from '../shared/pii/detectors';
import { sharedOcrPool } from '../shared/pii/ocr';
import { DEFAULT_REDACTION_ENCODING, redactRecording, tryPlanRedaction, type RedactionEncoding } from '../shared/pii/redact';
import { evidenceSheet, scanRecording, type OcrEngine, type ScanResult, type ScanSettings } from '../shared/pii/scan';
import type { ObjectStore } from '../shared/store/objectStore';

const TYPE_NAMES: Record<Exclude<PiiType, 'custom'>, string> = {
	payment_card: 'Payment Card (IIN + Luhn)',
	us_ssn: 'US Social Security Number',
	email: 'E-Mail Address',
	phone: 'Phone Number',
	iban: 'IBAN (Mod-97)',
};

export class PiiScan implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'PII Scan',
		name: 'piiScan',
		icon: { light: 'file:piiScan.svg', dark: 'file:piiScan.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ "every " + $parameter["intervalSec"] + " s" }}',
		description: 'Find personal data on screen in a recording (offline OCR + checksummed detectors); anything not clean goes to Quarantine',
		defaults: { name: 'PII Scan' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#pii-scan',
		inputs: [NodeConnectionTypes.Main],
		outputs: [
			{ type: NodeConnectionTypes.Main, displayName: 'Clean' },
			{ type: NodeConnectionTypes.Main, displayName: 'Quarantine' },
		],
		usableAsTool: true,
		credentials: [{ name: 'cxObjectStoreApi', required: true, testedBy: 'cxObjectStoreTest' }],
		properties: [
			{
				displayName: 'Object Key',
				name: 'objectKey',
				type: 'string',
				required: true,
				default: '={{ $json.rendition?.key ?? $json.object.key }}',
				description: 'The video to scan: the training rendition when there is one, else the staged original',
			},
			{
				displayName: 'Platform Flags',
				name: 'platformFlags',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Quarantine Without Scanning', value: 'quarantine', description: 'Recordings the platform marks as sensitive or SecurePause-annotated go to Quarantine as unsure' },
					{ name: 'Scan, but Never Clean', value: 'scan', description: 'Scan for the evidence, yet a flagged recording is at best unsure' },
				],
				default: 'quarantine',
				description: 'What to do with a recording the contact-center platform flags (platformFlags.sensitiveData / securePause): it is never treated as clean',
			},
			{
				displayName: 'Sample Interval (Seconds)',
				name: 'intervalSec',
				type: 'number',
				typeOptions: { minValue: 0.2, maxValue: 30, numberPrecision: 1 },
				default: 1,
				description: 'One frame per interval is compared with the last OCR\'d frame; only changed frames are OCR\'d',
			},
			{
				displayName: 'Detect',
				name: 'types',
				type: 'multiOptions',
				options: Object.entries(TYPE_NAMES).map(([value, name]) => ({ name, value })),
				default: ['payment_card', 'us_ssn', 'email', 'phone', 'iban'],
			},
			{
				displayName: 'Phone Region',
				name: 'phoneRegion',
				type: 'string',
				default: 'US',
				description: 'ISO 3166 country code for phone numbers written without a country code',
			},
			{
				displayName: 'Custom Patterns',
				name: 'customPatterns',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Pattern',
				default: {},
				description: 'Your own identifiers (regular expressions, matched as data, never run as code), each with a name',
				options: [
					{
						name: 'pattern',
						displayName: 'Pattern',
						values: [
							{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'employee_id' },
							{ displayName: 'Regular Expression', name: 'pattern', type: 'string', default: '', placeholder: 'EMP-\\d{6}' },
							{ displayName: 'Ignore Case', name: 'ignoreCase', type: 'boolean', default: false },
						],
					},
				],
			},
			{
				displayName: 'Redaction',
				name: 'redaction',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Off', value: 'off', description: 'Any finding sends the recording to Quarantine' },
					{
						name: 'Redact Findings',
						value: 'redactFindings',
						description: 'Black boxes over the findings give redacted.mp4 next to the original; only if its re-scan is clean does the item go to Clean, pointing at redacted.mp4',
					},
				],
				default: 'off',
				description: 'Whether a recording with findings may be published as a redacted copy. Unsure results, platform-flagged recordings and a re-scan that is not clean always go to Quarantine.',
			},
			{
				displayName: 'Redaction Settings',
				name: 'redactionSettings',
				type: 'collection',
				placeholder: 'Add Setting',
				default: {},
				displayOptions: { show: { redaction: ['redactFindings'] } },
				options: [
					{ displayName: 'Audio Bitrate (Kbit/s)', name: 'audioBitrateK', type: 'number', typeOptions: { minValue: 32, maxValue: 320 }, default: 96, description: 'AAC audio is copied; other audio is encoded to AAC at this rate (as in the Training Rendition)' },
					{ displayName: 'Box Padding (Px)', name: 'boxPaddingPx', type: 'number', typeOptions: { minValue: 0, maxValue: 200 }, default: 8, description: 'Pixels of the video added around each box, so the edges of the characters are covered too' },
					{ displayName: 'Max Temp Space (MiB)', name: 'maxTempMiB', type: 'number', typeOptions: { minValue: 16 }, default: 4096, description: 'Largest redacted file written to the temp folder before it is streamed to the object store; the item fails cleanly above it' },
					...h264QualityOptions,
					{ displayName: 'Temp Folder', name: 'tempDir', type: 'string', default: '', description: 'Where the redacted file is written before upload; empty means the system temp folder. Always cleaned up.' },
					{
						displayName: 'Time Padding (Seconds)',
						name: 'timePaddingSec',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 30, numberPrecision: 1 },
						default: 1,
						description: 'Seconds added before and after the time each finding was seen. At least one sample interval is always added: a value can appear any time between two samples.',
					},
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{ displayName: 'Change Threshold', name: 'cellThreshold', type: 'number', typeOptions: { minValue: 0.5, maxValue: 64, numberPrecision: 1 }, default: 3, description: 'Gray-level change of the mean of one of 16×9 screen cells that sends that cell to OCR (a cell whose pixels changed, such as text replaced by other text, is sent as well)' },
					{ displayName: 'Evidence Image', name: 'evidence', type: 'boolean', default: true, description: 'Whether to write evidence.png (frames with findings boxed) next to the object and attach it as binary' },
					{ displayName: 'Language Data Path', name: 'langPath', type: 'string', default: '', description: 'Folder with eng.traineddata(.gz) (or the language you use). Empty: the data shipped in @tesseract.js-data/eng. Nothing is downloaded.' },
					{ displayName: 'Max OCR Gap (Seconds)', name: 'maxGapSec', type: 'number', typeOptions: { minValue: 0 }, default: 30, description: 'OCR the whole frame at least this often even when nothing seems to change; 0 = only on change' },
					{ displayName: 'Min Finding Confidence', name: 'minFindingConfidence', type: 'number', typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 }, default: 0.5, description: 'Findings below this make the verdict unsure rather than found (both quarantine)' },
					{ displayName: 'Min OCR Confidence', name: 'minOcrConfidence', type: 'number', typeOptions: { minValue: 0, maxValue: 100 }, default: 45, description: 'Frames read with a lower mean word confidence count as unreadable' },
					{ displayName: 'OCR Workers', name: 'workers', type: 'number', typeOptions: { minValue: 1, maxValue: 16 }, default: 2, description: 'Tesseract workers, reused across executions' },
					{ displayName: 'Scan Width', name: 'scanWidth', type: 'number', typeOptions: { minValue: 320, maxValue: 3840 }, default: 1920, description: 'Frames wider than this are scaled down before OCR (small UI text needs full 1080p)' },
					...mediaToolOptions,
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const clean: INodeExecutionData[] = [];
		const quarantine: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			let key = '';
			try {
				key = this.getNodeParameter('objectKey', i, '') as string;
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const json = items[i].json;
				const flags = (json.platformFlags ?? {}) as IDataObject;
				const flagged = Boolean(flags.sensitiveData || flags.securePause);
				const flagReason = flagged ? `platform flags: ${Object.keys(flags).filter((name) => flags[name]).join(', ')}` : '';
				if (flagged && this.getNodeParameter('platformFlags', i) === 'quarantine') {
					quarantine.push({
						json: { ...json, pii: { verdict: 'unsure', findings: [], reasons: [flagReason], scanned: false }, visibility: 'private' },
						pairedItem: { item: i },
					});
					continue;
				}
				const patterns = customPatterns(this, i);
				const tools = mediaToolsFor(this, options, i);
				const store = await objectStoreFor(this, i);
				const object = await readableObject(this, store, key, i, 'Object Key');
				const signal = this.getExecutionCancelSignal();
				const facts = await probeFacts(tools.ffprobe, object.url, { timeoutMs: tools.timeoutMs, signal });
				if (!facts.video) throw new NodeOperationError(this.getNode(), `Object ${key} has no video stream to scan`, { itemIndex: i, description: 'Field: Object Key' });
				const scanWidth = Number(options.scanWidth ?? 1920);
				const intervalSec = Number(this.getNodeParameter('intervalSec', i, 1));
				const detectorOptions = {
					phoneRegion: String(this.getNodeParameter('phoneRegion', i, 'US') || 'US').toUpperCase(),
					types: [...(this.getNodeParameter('types', i, []) as PiiType[]), ...(patterns.length ? (['custom'] as PiiType[]) : [])],
					compiledPatterns: patterns,
				};
				const ocr = await sharedOcrPool({ langPath: (options.langPath as string) || undefined, workers: Number(options.workers ?? 2) });
				// The re-scan of a redacted copy uses exactly these settings, at that copy's own frame size.
				const settingsFor = (video: { width: number; height: number }): ScanSettings => ({
					intervalSec,
					cellThreshold: Number(options.cellThreshold ?? 3),
					maxGapSec: Number(options.maxGapSec ?? 30),
					...scanSize(video, scanWidth),
					timeoutMs: tools.timeoutMs,
					signal,
					detectors: detectorOptions,
					minFindingConfidence: Number(options.minFindingConfidence ?? 0.5),
					minOcrConfidence: Number(options.minOcrConfidence ?? 45),
					maxUnreadableShare: 0.5,
					evidenceFrames: 6,
					concurrency: ocr.settings.workers,
				});
				const settings = settingsFor(facts.video);
				const result = await withWorkspace({ maxBytes: 256 * 1048576 }, async (workspace) => {
					const scan = await scanRecording(tools.ffmpeg, object.url, ocr, settings);
					let evidenceKey: string | undefined;
					let evidenceBinary: INodeExecutionData['binary'];
					if (scan.findings.length && options.evidence !== false) {
						const file = workspace.path('evidence.png');
						if (await evidenceSheet(tools.ffmpeg, workspace, scan.evidence, file, 120_000)) {
							evidenceKey = key.replace(/[^/]+$/, 'evidence.png');
							await store.uploadStream(evidenceKey, createReadStream(file), { contentType: 'image/png', signal });
							if ((await stat(file)).size < 20 * 1048576) {
								evidenceBinary = { evidence: await this.helpers.prepareBinaryData(await readFile(file), 'evidence.png', 'image/png') };
							}
						}
					}
					return { scan, evidenceKey, evidenceBinary };
				});
				const pii = piiSection(result.scan, flagged ? flagReason : undefined, result.evidenceKey);
				// Fail closed: only a confident `found` on an unflagged recording is redacted; unsure stays held.
				if (this.getNodeParameter('redaction', i, 'off') === 'redactFindings' && result.scan.verdict === 'found' && !flagged) {
					const redacted = await redactAndRescan(this, i, {
						json,
						key,
						input: { url: object.url, facts },
						scan: result.scan,
						scanFrame: { width: settings.width, height: settings.height },
						pii,
						intervalSec,
						settingsFor,
						ocr,
						store,
						tools,
						signal,
					});
					if (redacted.clean) {
						// The evidence image shows the raw values: it stays on the quarantine path, never on a clean item.
						clean.push({ json: redacted.json, pairedItem: { item: i } });
					} else {
						const held: INodeExecutionData = { json: redacted.json, pairedItem: { item: i } };
						if (result.evidenceBinary) held.binary = { ...(items[i].binary ?? {}), ...result.evidenceBinary };
						quarantine.push(held);
					}
					continue;
				}
				const output: INodeExecutionData = {
					json: { ...json, pii: { ...pii, tools: toolVersions(tools) }, ...(pii.verdict === 'clean' ? {} : { visibility: 'private' }) },
					pairedItem: { item: i },
				};
				if (result.evidenceBinary) output.binary = { ...(items[i].binary ?? {}), ...result.evidenceBinary };
				(pii.verdict === 'clean' ? clean : quarantine).push(output);
			} catch (error) {
				const nodeError =
					error instanceof PatternError
						? new NodeOperationError(this.getNode(), error.message, { itemIndex: i, description: 'Field: Custom Patterns' })
						: mediaError(this, error, key, i);
				if (this.continueOnFail()) {
					// Fail closed: an item that could not be scanned is quarantined, never passed as clean.
					quarantine.push({ json: { ...items[i].json, error: nodeError.message, pii: { verdict: 'unsure', findings: [], reasons: [nodeError.message] }, visibility: 'private' }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [clean, quarantine];
	}
}

function customPatterns(ctx: IExecuteFunctions, itemIndex: number) {
	const collection = ctx.getNodeParameter('customPatterns', itemIndex, {}) as { pattern?: Array<{ name: string; pattern: string; ignoreCase?: boolean }> };
	const patterns: CustomPattern[] = (collection.pattern ?? []).map((entry) => ({ name: entry.name, pattern: entry.pattern, flags: entry.ignoreCase ? 'i' : '' }));
	return compileCustomPatterns(patterns);
}

function piiSection(scan: ScanResult, flagReason: string | undefined, evidenceKey: string | undefined): IDataObject {
	let verdict = scan.verdict;
	const reasons = [...scan.reasons];
	if (flagReason && verdict === 'clean') {
		verdict = 'unsure';
		reasons.push(flagReason);
	}
	const section: IDataObject = {
		verdict,
		findings: scan.findings.map((finding) => ({ ...finding })) as unknown as IDataObject[],
		reasons,
		scanned: true,
		stats: scan.stats,
	};
	if (evidenceKey) section.evidenceKey = evidenceKey;
	return section;
}

/** The frame size frames are OCR'd at: at most `scanWidth` wide, even, keeping the aspect ratio. */
function scanSize(video: { width: number; height: number }, scanWidth: number): { width: number; height: number } {
	const scale = Math.min(1, scanWidth / video.width);
	return {
		width: Math.max(2, Math.round((video.width * scale) / 2) * 2),
		height: Math.max(2, Math.round((video.height * scale) / 2) * 2),
	};
}

interface RedactionJob {
	json: IDataObject;
	/** The scanned object (the rendition when there is one). */
	key: string;
	input: { url: string; facts: MediaFacts };
	scan: ScanResult;
	/** The frame size the findings' boxes are in. */
	scanFrame: { width: number; height: number };
	/** The scan's own pii section, kept for the quarantine path. */
	pii: IDataObject;
	intervalSec: number;
	settingsFor: (video: { width: number; height: number }) => ScanSettings;
	ocr: OcrEngine;
	store: ObjectStore;
	tools: MediaTools;
	signal?: AbortSignal;
}

/**
 * Draws the findings out into redacted.mp4 next to the original and re-scans that object with the same
 * settings. Clean: the item points at redacted.mp4 as its rendition (what LMS Push publishes) with verdict
 * `clean` for that file; the original and its findings stay recorded under `pii.redaction`. Anything else
 * (a finding that cannot be placed, a re-scan that is not clean) keeps the item quarantined with the reason.
 */
async function redactAndRescan(ctx: IExecuteFunctions, itemIndex: number, job: RedactionJob): Promise<{ clean: boolean; json: IDataObject }> {
	const { json, key, scan, store, tools, signal } = job;
	const settings = ctx.getNodeParameter('redactionSettings', itemIndex, {}) as IDataObject;
	const encoding: RedactionEncoding = {
		...DEFAULT_REDACTION_ENCODING,
		...(settings.preset ? { preset: settings.preset as RedactionEncoding['preset'] } : {}),
		...(settings.crf !== undefined ? { crf: Number(settings.crf) } : {}),
		...(settings.audioBitrateK !== undefined ? { audioBitrateK: Number(settings.audioBitrateK) } : {}),
	};
	const boxPaddingPx = Number(settings.boxPaddingPx ?? 8);
	// A value may show up any time after the sample before the one that saw it: pad by at least one interval.
	const timePaddingSec = Math.max(Number(settings.timePaddingSec ?? 1), job.intervalSec);
	const original = (json.object as IDataObject | undefined)?.key;
	const redactedKey = (typeof original === 'string' && original ? original : key).replace(/[^/]+$/, 'redacted.mp4');
	const held = (reasons: string[], redaction: IDataObject): { clean: false; json: IDataObject } => ({
		clean: false,
		json: {
			...json,
			pii: { ...job.pii, reasons: [...(job.pii.reasons as string[]), ...reasons], redaction, tools: toolVersions(tools) },
			visibility: 'private',
		},
	});

	const plan =
		redactedKey === key
			? { problem: `the scanned object is ${key} itself; it is not redacted over itself` }
			: tryPlanRedaction(scan.findings, { scan: job.scanFrame, video: job.input.facts.video ?? { width: 0, height: 0 }, boxPaddingPx, timePaddingSec });
	if ('problem' in plan) return held([`not redacted: ${plan.problem}`], { status: 'not_redacted', reason: plan.problem });
	const { regions } = plan;

	const maxBytes = Number(settings.maxTempMiB ?? 4096) * 1048576;
	const redacted = await withWorkspace({ maxBytes, root: (settings.tempDir as string) || undefined }, async (workspace) =>
		await redactRecording(tools, job.input, regions, { store, key: redactedKey, sourceKey: key }, { encoding, timeoutMs: tools.timeoutMs, signal, workspace }),
	);
	// The re-scan reads the object as stored, the way a learner's player would get it.
	const stored = await readableObject(ctx, store, redactedKey, itemIndex, 'Object Key');
	const rescan = await scanRecording(tools.ffmpeg, stored.url, job.ocr, job.settingsFor(redacted.facts.video ?? job.scanFrame));
	const types = [...new Set(scan.findings.map((finding) => finding.type))];
	const redaction: IDataObject = {
		key: redactedKey,
		sourceKey: key,
		rescan: rescan.verdict,
		boxes: regions as unknown as IDataObject[],
		boxPaddingPx,
		timePaddingSec,
		preset: encoding.preset,
		crf: encoding.crf,
		ffmpegMs: redacted.ffmpegMs,
		uploadMs: redacted.uploadMs,
		rescanMs: rescan.stats.wallMs,
	};
	if (rescan.verdict !== 'clean') {
		return held([`re-scan of ${redactedKey} is ${rescan.verdict}: ${rescan.reasons.join('; ')}`], {
			...redaction,
			status: 'rescan_not_clean',
			rescanFindings: rescan.findings.map((finding) => ({ ...finding })) as unknown as IDataObject[],
			rescanReasons: rescan.reasons,
			rescanStats: rescan.stats,
		});
	}
	const { evidenceKey, ...scanned } = job.pii;
	return {
		clean: true,
		json: {
			...json,
			// LMS Push publishes `rendition.key` (else `object.key`): the public asset is the redacted file, never the original.
			// The poster of an earlier rendition showed unredacted frames, so none is carried over.
			rendition: {
				key: redacted.object.key,
				contentType: 'video/mp4',
				durationSec: redacted.facts.durationSec ?? 0,
				sizeBytes: redacted.object.size,
				sha256: redacted.object.sha256,
				width: redacted.facts.video?.width,
				height: redacted.facts.video?.height,
				codecs: redacted.facts.codecs,
				mode: 'redacted',
				reason: `${regions.length} box(es) over ${scan.findings.length} finding(s)`,
				sources: [key],
				ffmpegMs: redacted.ffmpegMs,
				uploadMs: redacted.uploadMs,
			},
			pii: {
				// The verdict, findings and stats describe the file the item now carries: redacted.mp4.
				verdict: 'clean',
				findings: [],
				reasons: [`${scan.findings.length} finding(s) (${types.join(', ')}) covered by ${regions.length} box(es) in ${redactedKey}; its re-scan is clean`],
				scanned: true,
				stats: rescan.stats,
				redaction: {
					...redaction,
					status: 'redacted',
					sourceVerdict: scanned.verdict,
					sourceFindings: scanned.findings,
					sourceReasons: scanned.reasons,
					sourceStats: scanned.stats,
					...(evidenceKey ? { evidenceKey } : {}),
				},
				tools: toolVersions(tools),
			},
		},
	};
}
