import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { assetStateProfileId } from '../../nodes/shared/lms/xapiStatements';
import type { ObjectStore } from '../../nodes/shared/store/objectStore';
import { PROJECT_ROOT, loadTemplate, outputOf, type ExecutionSummary, type N8nClient, type Template, randomPortBlock } from '../../scripts/lib/n8n';
import { startRecordingStack, type RecordingStack } from '../../scripts/lib/recordingStack';
import type { GenesysSimulator } from '../simulators/genesysCloud';
import type { XapiLrsSimulator } from '../simulators/xapiLrs';
import { mp4TopLevelBoxes } from '../support/mediaClips';
import type { S3TestServer } from '../support/s3';
import { cardPaymentScreens, generateDesktopRecording, type GeneratedRecording } from '../support/syntheticRecording';

/**
 * The full recording half in real n8n 2.x with PII Scan's redaction switched on (a copy of the shipped
 * full-pipeline template, changed in memory only): a recording showing a test card number is redacted,
 * re-scanned clean, mapped and pushed, and the LMS asset links redacted.mp4, never the original or the
 * unredacted training rendition.
 */
jest.setTimeout(300000);

const TEMPLATE = 'genesys-screen-recording-full-pipeline.json';
const TRIGGER = 'n8n-nodes-cx-training.genesysRecordingTrigger';
const SECRET = 'e2e-pii-redaction-secret-0123456789';
const HEADER = 'X-CX-Webhook-Secret';
const PORT = randomPortBlock(7400, 100, 4);
const QUARANTINE_NODE = 'Quarantined (compliance review)';
const CONVERSATION = { conversationId: 'redact-conv-card', recordingId: 'redact-conv-card-screen', agentId: 'agent-redact-card' };
const FOLDER = `recordings/genesys-cloud/${CONVERSATION.conversationId}/${CONVERSATION.recordingId}`;

const workDir = join(PROJECT_ROOT, '.e2e', `redact-${process.pid}`);
let stack: RecordingStack;
let s3: S3TestServer;
let store: ObjectStore;
let genesys: GenesysSimulator;
let lrs: XapiLrsSimulator;
let client: N8nClient;
let workflowId: string;
let url: string;
let recording: GeneratedRecording;
let execution: ExecutionSummary;

/** The shipped template with PII Scan's redaction on; nothing else changes. */
function redactingTemplate(): Template {
	const template = JSON.parse(JSON.stringify(loadTemplate(TEMPLATE))) as Template;
	const scan = template.nodes.find((node) => node.name === 'PII Scan');
	if (!scan) throw new Error('the template has no PII Scan node');
	scan.parameters = { ...scan.parameters, redaction: 'redactFindings', redactionSettings: {} };
	return template;
}

const objectBytes = (key: string) => stack.objectBytes(key);

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	stack = await startRecordingStack({
		workDir,
		port: PORT,
		webhookAuth: { headerName: HEADER, secret: SECRET },
		stateSqlitePath: join(workDir, 'state.sqlite'),
		whileN8nStarts: async () => {
			recording = await generateDesktopRecording(join(workDir, 'card.webm'), { width: 1920, height: 1080, fps: 5, seconds: 8, audio: 'tone', screens: cardPaymentScreens(8, 1) });
		},
	});
	({ s3, store, genesys, lrs, client } = stack);
	const ids = stack.credentialIds;
	({ id: workflowId, url } = await client.publishTemplate(redactingTemplate(), ids, { type: TRIGGER, path: 'genesys-recording' }));
	stack.seedScreenRecording(CONVERSATION, recording);
});

afterAll(async () => {
	await stack?.stop();
	rmSync(workDir, { recursive: true, force: true });
});

describe('end to end with redaction on: a card recording is published as its redacted rendition, in real n8n', () => {
	it('the conversation-end event runs the pipeline to LMS Push, not to Quarantine', async () => {
		const emitted = await genesys.emitConversationEnd({
			webhookUrl: url,
			conversationId: CONVERSATION.conversationId,
			userId: CONVERSATION.agentId,
			shape: 'eventbridge',
			headers: { [HEADER]: SECRET },
		});
		expect(emitted.status).toBe(200);
		[execution] = await client.waitForExecutions(workflowId, 1, 240000);
		expect({ status: execution.status, error: execution.data?.resultData.error?.message }).toEqual({ status: 'success', error: undefined });
		const ran = Object.keys(execution.data!.resultData.runData);
		expect(ran).toEqual(expect.arrayContaining(['PII Scan', 'Taxonomy Map', 'LMS Push']));
		expect(ran).not.toContain(QUARANTINE_NODE);
	});

	it('PII Scan wrote redacted.mp4 next to the original, re-scanned it clean and pointed the item at it', async () => {
		expect(outputOf(execution, 'PII Scan', 1)).toEqual([]);
		const [scanned] = outputOf(execution, 'PII Scan', 0);
		expect(scanned.rendition).toMatchObject({ key: `${FOLDER}/redacted.mp4`, contentType: 'video/mp4', codecs: ['h264', 'aac'], sources: [`${FOLDER}/training.mp4`] });
		expect(scanned.pii).toMatchObject({ verdict: 'clean', findings: [], redaction: { status: 'redacted', rescan: 'clean', sourceVerdict: 'found', sourceKey: `${FOLDER}/training.mp4` } });
		expect(scanned.pii.redaction.sourceFindings.map((finding: Record<string, unknown>) => finding.masked)).toEqual(['**** **** **** 1111']);
		const bytes = await objectBytes(`${FOLDER}/redacted.mp4`);
		expect(bytes.length).toBe(scanned.rendition.sizeBytes);
		expect(mp4TopLevelBoxes(bytes).slice(0, 2)).toEqual(['ftyp', 'moov']);
		// The original and the unredacted rendition are kept (private), untouched.
		expect((await store.head(`${FOLDER}/original.webm`))?.size).toBeGreaterThan(0);
		expect((await store.head(`${FOLDER}/training.mp4`))?.size).toBeGreaterThan(0);
	});

	it('LMS Push links redacted.mp4 in the asset state, never the original or training.mp4, and the raw number is nowhere', async () => {
		const [pushed] = outputOf(execution, 'LMS Push');
		expect(pushed).toMatchObject({ pii: { verdict: 'clean' }, lms: { target: 'xapi', stage: 'placeholder' } });
		const statements = lrs.statements().filter((statement) => JSON.stringify(statement).includes(CONVERSATION.conversationId));
		expect(statements).toHaveLength(1);
		const activityId = (statements[0].object as { id: string }).id;
		const state = lrs.activityProfiles().find((document) => document.activityId === activityId && document.id === assetStateProfileId('https://xapi.cx-training.dev'));
		expect(state).toBeDefined();
		const mediaUrl = (state!.json as { mediaUrl: string }).mediaUrl;
		expect(new URL(mediaUrl).pathname).toBe(`/${s3.bucket}/${FOLDER}/redacted.mp4`);
		expect(JSON.stringify(execution)).not.toMatch(/4111[ -]?1111[ -]?1111[ -]?1111/);
		expect(JSON.stringify(lrs.statements())).not.toMatch(/4111[ -]?1111[ -]?1111[ -]?1111/);
	});
});
