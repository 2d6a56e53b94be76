import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { VERB_EXPERIENCED, assetStateProfileId, extensionIri } from '../../nodes/shared/lms/xapiStatements';
import type { ObjectStore } from '../../nodes/shared/store/objectStore';
import { PROJECT_ROOT, loadTemplate, outputOf, type ExecutionSummary, type N8nClient, randomPortBlock } from '../../scripts/lib/n8n';
import { startRecordingStack, type RecordingStack } from '../../scripts/lib/recordingStack';
import type { GenesysSimulator } from '../simulators/genesysCloud';
import type { XapiLrsSimulator, XapiStatement } from '../simulators/xapiLrs';
import { mp4TopLevelBoxes } from '../support/mediaClips';
import type { S3TestServer } from '../support/s3';
import { fullPipelineRecordings, type GeneratedRecording } from '../support/syntheticRecording';

/**
 * The full recording half in real n8n 2.x: the shipped template (Genesys conversation end → Stage Screen
 * Recordings → Media Probe → Media Transcode → PII Scan → Clean: Taxonomy Map → LMS Push / Quarantine: held for
 * compliance review) driven through its production webhook with two synthetic agent-desktop recordings, one
 * clean and one showing a test payment card number.
 */
jest.setTimeout(300000);

const TEMPLATE = 'genesys-screen-recording-full-pipeline.json';
const FIRST_SLICE_TEMPLATE = 'genesys-screen-recording-to-lms.json';
const TRIGGER = 'n8n-nodes-cx-training.genesysRecordingTrigger';
const SECRET = 'e2e-full-pipeline-secret-0123456789';
const HEADER = 'X-CX-Webhook-Secret';
const PORT = randomPortBlock(7000, 100, 4);
const IRI_BASE = 'https://xapi.cx-training.dev';
const QUARANTINE_NODE = 'Quarantined (compliance review)';

const CLEAN = { conversationId: 'full-conv-clean', recordingId: 'full-conv-clean-screen', agentId: 'agent-full-clean' };
const DIRTY = { conversationId: 'full-conv-card', recordingId: 'full-conv-card-screen', agentId: 'agent-full-card' };
const folderOf = (c: typeof CLEAN) => `recordings/genesys-cloud/${c.conversationId}/${c.recordingId}`;

const workDir = join(PROJECT_ROOT, '.e2e', `full-${process.pid}`);
let stack: RecordingStack;
let s3: S3TestServer;
let store: ObjectStore;
let genesys: GenesysSimulator;
let lrs: XapiLrsSimulator;
let client: N8nClient;
let workflowId: string;
let url: string;
let recordings: { clean: GeneratedRecording; card: GeneratedRecording };
const executions: Record<string, ExecutionSummary> = {};

type Json = Record<string, any>;

const statementsFor = (conversationId: string): XapiStatement[] =>
	lrs.statements().filter((statement) => JSON.stringify(statement).includes(conversationId));

const objectBytes = (key: string) => stack.objectBytes(key);

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	// The recordings are encoded while n8n boots.
	stack = await startRecordingStack({
		workDir,
		port: PORT,
		webhookAuth: { headerName: HEADER, secret: SECRET },
		stateSqlitePath: join(workDir, 'state.sqlite'),
		whileN8nStarts: async () => {
			recordings = await fullPipelineRecordings(workDir);
		},
	});
	({ s3, store, genesys, lrs, client } = stack);
	({ id: workflowId, url } = await client.publishTemplate(loadTemplate(TEMPLATE), stack.credentialIds, { type: TRIGGER, path: 'genesys-recording' }));

	for (const [conversation, recording] of [
		[CLEAN, recordings.clean],
		[DIRTY, recordings.card],
	] as const) {
		stack.seedScreenRecording(conversation, recording);
	}
});

afterAll(async () => {
	await stack?.stop();
	rmSync(workDir, { recursive: true, force: true });
});

describe('end to end: Genesys screen recording → probe → transcode → PII scan → LMS or quarantine, in real n8n', () => {
	it('the template routes Clean to Taxonomy Map → LMS Push and Quarantine to a node that never publishes', () => {
		const template = loadTemplate(TEMPLATE);
		const first = loadTemplate(FIRST_SLICE_TEMPLATE);
		const connections = template.connections as Record<string, { main: Array<Array<{ node: string }>> }>;
		expect(connections['PII Scan'].main.map((output) => output.map((target) => target.node))).toEqual([['Taxonomy Map'], [QUARANTINE_NODE]]);
		expect(connections['Taxonomy Map'].main[0].map((target) => target.node)).toEqual(['LMS Push']);
		expect(connections[QUARANTINE_NODE]).toBeUndefined();
		// Its own webhook path and node ids: both templates can be active on one instance.
		const trigger = template.nodes.find((node) => node.type === TRIGGER)!;
		expect(trigger.webhookId).not.toBe(first.nodes.find((node) => node.type === TRIGGER)!.webhookId);
		const ids = template.nodes.map((node) => node.id);
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids.filter((id) => first.nodes.some((node) => node.id === id))).toEqual([]);
		const push = template.nodes.find((node) => node.name === 'LMS Push')!;
		expect(push.parameters).toMatchObject({ target: 'xapi', operation: 'pushPlaceholder' });
		expect(Object.keys(push.credentials).sort()).toEqual(['cxObjectStoreApi', 'cxStateStoreApi', 'xapiLrsApi']);
	});

	it('both conversation-end events are accepted and each runs the pipeline to the end', async () => {
		const emitted = await Promise.all(
			[CLEAN, DIRTY].map((conversation) =>
				genesys.emitConversationEnd({
					webhookUrl: url,
					conversationId: conversation.conversationId,
					userId: conversation.agentId,
					shape: 'eventbridge',
					headers: { [HEADER]: SECRET },
				}),
			),
		);
		for (const result of emitted) {
			expect(result.status).toBe(200);
			expect(JSON.parse(result.body)).toEqual({ received: 1, accepted: 1 });
		}
		const list = await client.waitForExecutions(workflowId, 2, 240000);
		expect(list).toHaveLength(2);
		for (const execution of list) {
			const [event] = outputOf(execution, 'Genesys Recording Trigger');
			executions[event.conversationId as string] = execution;
		}
		expect(Object.keys(executions).sort()).toEqual([DIRTY.conversationId, CLEAN.conversationId]);
		for (const execution of list) {
			expect({ id: execution.id, status: execution.status, error: execution.data?.resultData.error?.message }).toEqual({ id: execution.id, status: 'success', error: undefined });
		}
	});

	it('the clean recording is probed, transcoded next to the original, scanned clean, mapped and pushed as a private placeholder', async () => {
		const execution = executions[CLEAN.conversationId];
		expect(execution).toBeDefined();
		const runData = execution.data!.resultData.runData;
		expect(Object.keys(runData).sort()).toEqual([
			'Genesys Recording Trigger',
			'LMS Push',
			'Media Probe',
			'Media Transcode',
			'PII Scan',
			'Stage Screen Recordings',
			'Taxonomy Map',
		]);
		const folder = folderOf(CLEAN);

		const [probed] = outputOf(execution, 'Media Probe');
		expect(probed.object).toMatchObject({ key: `${folder}/original.webm`, contentType: 'video/webm' });
		expect(probed.probe).toMatchObject({ hasVideo: true, hasAudio: true, blackVideo: false, silentAudio: false, width: 1920, height: 1080, codecs: ['vp8', 'opus'], flags: [] });
		expect(probed.probe.durationSec).toBeGreaterThan(5.5);
		expect(probed.probe.durationSec).toBeLessThan(6.5);

		const [transcoded] = outputOf(execution, 'Media Transcode');
		expect(transcoded.rendition).toMatchObject({ key: `${folder}/training.mp4`, contentType: 'video/mp4', mode: 'encode', codecs: ['h264', 'aac'], posterKey: `${folder}/poster.jpg` });
		const mp4 = await objectBytes(`${folder}/training.mp4`);
		expect(mp4.length).toBeGreaterThan(0);
		expect(mp4.length).toBe(transcoded.rendition.sizeBytes);
		expect(mp4TopLevelBoxes(mp4).slice(0, 2)).toEqual(['ftyp', 'moov']);
		expect((await store.head(`${folder}/original.webm`))?.size).toBe(statSync(recordings.clean.file).size);
		expect((await store.head(`${folder}/poster.jpg`))?.contentType).toBe('image/jpeg');

		expect(outputOf(execution, 'PII Scan', 1)).toEqual([]);
		const [scanned] = outputOf(execution, 'PII Scan', 0);
		expect(scanned.pii).toMatchObject({ verdict: 'clean', findings: [], scanned: true });
		expect(scanned.pii.evidenceKey).toBeUndefined();
		expect(await store.head(`${folder}/evidence.png`)).toBeUndefined();

		const [mapped] = outputOf(execution, 'Taxonomy Map');
		expect(mapped.taxonomy).toMatchObject({ courseId: 'course-cx-general', category: 'General', assetType: 'standard', visibility: 'private', mappedBy: 'default', unmapped: ['queue'] });

		const [pushed] = outputOf(execution, 'LMS Push');
		expect(pushed).toMatchObject({
			conversationId: CLEAN.conversationId,
			recordingId: CLEAN.recordingId,
			agent: { id: CLEAN.agentId },
			pii: { verdict: 'clean' },
			lms: { target: 'xapi', stage: 'placeholder' },
			lmsPush: { created: true, assetState: { stage: 'placeholder', status: 'pending_review', visibility: 'private' } },
		});

		const statements = statementsFor(CLEAN.conversationId);
		expect(statements).toHaveLength(1);
		const [statement] = statements;
		expect(statement.verb).toMatchObject({ id: VERB_EXPERIENCED.id });
		expect(statement.actor).toEqual({ objectType: 'Agent', account: { homePage: 'https://apps.mypurecloud.com', name: CLEAN.agentId } });
		const activity = statement.object as Json;
		expect(activity.id).toBe(`${IRI_BASE}/recordings/genesys-cloud/${CLEAN.conversationId}/${CLEAN.recordingId}`);
		expect(activity.definition.extensions).toMatchObject({
			[extensionIri(IRI_BASE, 'visibility')]: 'private',
			[extensionIri(IRI_BASE, 'status')]: 'pending_review',
		});
		// The asset state links the training rendition, not the WebM original.
		const state = lrs.activityProfiles().find((document) => document.activityId === activity.id && document.id === assetStateProfileId(IRI_BASE));
		expect(state?.json).toMatchObject({ stage: 'placeholder', visibility: 'private', conversationId: CLEAN.conversationId });
		expect(new URL((state!.json as Json).mediaUrl).pathname).toBe(`/${s3.bucket}/${folder}/training.mp4`);
	});

	it('the card recording goes to Quarantine with a masked payment_card finding and evidence in S3, and nothing reaches the LRS', async () => {
		const execution = executions[DIRTY.conversationId];
		expect(execution).toBeDefined();
		const runData = execution.data!.resultData.runData;
		expect(Object.keys(runData).sort()).toEqual([
			'Genesys Recording Trigger',
			'Media Probe',
			'Media Transcode',
			'PII Scan',
			QUARANTINE_NODE,
			'Stage Screen Recordings',
		]);
		const folder = folderOf(DIRTY);
		const [probed] = outputOf(execution, 'Media Probe');
		expect(probed.probe).toMatchObject({ hasVideo: true, hasAudio: false, codecs: ['vp8'], flags: ['video_only_no_audio'] });
		expect((await store.head(`${folder}/training.mp4`))?.size).toBeGreaterThan(0);

		expect(outputOf(execution, 'PII Scan', 0)).toEqual([]);
		const [held] = outputOf(execution, 'PII Scan', 1);
		expect(held.visibility).toBe('private');
		expect(held.pii.verdict).toBe('found');
		const findings = held.pii.findings as Json[];
		expect(findings.map((finding) => finding.type)).toEqual(['payment_card']);
		expect(findings[0]).toMatchObject({ masked: '**** **** **** 1111', labelled: true });
		// Shown from 1 s to the end of the 8-s clip.
		expect(findings[0].atSec).toBeGreaterThanOrEqual(0.9);
		expect(findings[0].atSec).toBeLessThanOrEqual(2.1);
		expect(findings[0].untilSec).toBeGreaterThanOrEqual(6.9);
		expect(held.pii.evidenceKey).toBe(`${folder}/evidence.png`);
		const evidence = await store.head(`${folder}/evidence.png`);
		expect(evidence?.contentType).toBe('image/png');
		expect(evidence?.size).toBeGreaterThan(0);
		const png = await objectBytes(`${folder}/evidence.png`);
		expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

		// Held for review with the finding on the item; never mapped, never pushed.
		const [quarantined] = outputOf(execution, QUARANTINE_NODE);
		expect(quarantined).toMatchObject({ conversationId: DIRTY.conversationId, recordingId: DIRTY.recordingId, pii: { verdict: 'found', evidenceKey: `${folder}/evidence.png` } });
		expect(runData['Taxonomy Map']).toBeUndefined();
		expect(runData['LMS Push']).toBeUndefined();
		expect(statementsFor(DIRTY.conversationId)).toEqual([]);
		expect(lrs.activityProfiles().filter((document) => String(document.activityId).includes(DIRTY.conversationId))).toEqual([]);
		// The raw number is nowhere in the execution.
		expect(JSON.stringify(execution)).not.toMatch(/4111[ -]?1111[ -]?1111[ -]?1111/);
		// Exactly one statement in the LRS overall: the clean recording's placeholder.
		expect(lrs.statements()).toHaveLength(1);
	});
});
