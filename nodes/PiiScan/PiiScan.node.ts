import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { probeFacts } from '../shared/media/probe';
import { withWorkspace } from '../shared/media/workspace';
import { credentialTest } from '../shared/n8n/credentialTests';
import { mediaError, mediaToolOptions, mediaToolsFor, readableObject, toolVersions } from '../shared/n8n/media';
import { objectStoreFor } from '../shared/n8n/resources';
import { compileCustomPatterns, PatternError, type CustomPattern, type PiiType } from '../shared/pii/detectors';
import { sharedOcrPool } from '../shared/pii/ocr';
import { evidenceSheet, scanRecording, type ScanResult } from '../shared/pii/scan';

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
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{ displayName: 'Change Threshold', name: 'cellThreshold', type: 'number', typeOptions: { minValue: 0.5, maxValue: 64, numberPrecision: 1 }, default: 3, description: 'Gray-level change of one of 16×9 screen cells that sends a frame to OCR' },
					{ displayName: 'Evidence Image', name: 'evidence', type: 'boolean', default: true, description: 'Whether to write evidence.png (frames with findings boxed) next to the object and attach it as binary' },
					{ displayName: 'Language Data Path', name: 'langPath', type: 'string', default: '', description: 'Folder with eng.traineddata(.gz) (or the language you use). Empty: the data shipped in @tesseract.js-data/eng. Nothing is downloaded.' },
					{ displayName: 'Max OCR Gap (Seconds)', name: 'maxGapSec', type: 'number', typeOptions: { minValue: 0 }, default: 30, description: 'OCR a frame at least this often even when nothing seems to change; 0 = only on change' },
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
				const scale = Math.min(1, scanWidth / facts.video.width);
				const width = Math.max(2, Math.round((facts.video.width * scale) / 2) * 2);
				const height = Math.max(2, Math.round((facts.video.height * scale) / 2) * 2);
				const ocr = await sharedOcrPool({ langPath: (options.langPath as string) || undefined, workers: Number(options.workers ?? 2) });
				const result = await withWorkspace({ maxBytes: 256 * 1048576 }, async (workspace) => {
					const scan = await scanRecording(tools.ffmpeg, object.url, ocr, {
						intervalSec: Number(this.getNodeParameter('intervalSec', i, 1)),
						cellThreshold: Number(options.cellThreshold ?? 3),
						maxGapSec: Number(options.maxGapSec ?? 30),
						width,
						height,
						timeoutMs: tools.timeoutMs,
						signal,
						detectors: {
							phoneRegion: String(this.getNodeParameter('phoneRegion', i, 'US') || 'US').toUpperCase(),
							types: [...(this.getNodeParameter('types', i, []) as PiiType[]), ...(patterns.length ? (['custom'] as PiiType[]) : [])],
							compiledPatterns: patterns,
						},
						minFindingConfidence: Number(options.minFindingConfidence ?? 0.5),
						minOcrConfidence: Number(options.minOcrConfidence ?? 45),
						maxUnreadableShare: 0.5,
						evidenceFrames: 6,
						concurrency: ocr.settings.workers,
					});
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
