import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { assetStateProfileId } from '../../nodes/shared/lms/xapiStatements';
import { closeAllStateStores, openStateStore, type StateStore } from '../../nodes/shared/state';
import { PROJECT_ROOT, loadTemplate, outputOf, type ExecutionSummary, type N8nClient, type N8nInstance, type Template, randomPortBlock } from '../../scripts/lib/n8n';
import { startRecordingStack, type RecordingStack } from '../../scripts/lib/recordingStack';
import type { GenesysRequestLogEntry, GenesysSimulator, SimRecording } from '../simulators/genesysCloud';
import type { XapiLrsSimulator } from '../simulators/xapiLrs';
import type { S3TestServer } from '../support/s3';

/**
 * Every Genesys recording state through the shipped first-slice template in real n8n 2.x: the packed package
 * installed as a community package, the template published and driven through its production webhook, one
 * conversation per state, against the Genesys Cloud simulator, s3rver, the xAPI LRS simulator and the default
 * SQLite state store in n8n's user folder. Recordings that come back later loop through the template's own
 * "Comes back later?" → "Wait for Retry-After" → Stage Screen Recordings branch inside one execution.
 */
jest.setTimeout(300000);

const TEMPLATE = 'genesys-screen-recording-to-lms.json';
const TRIGGER_TYPE = 'n8n-nodes-cx-training.genesysRecordingTrigger';
const TRIGGER = 'Genesys Recording Trigger';
const STAGE = 'Stage Screen Recordings';
const LATER = 'Comes back later?';
const DEDUPE = 'One retry per conversation';
const WAIT = 'Wait for Retry-After';
const FINAL = 'Not staged (final — see state store)';
const PUSH = 'LMS Push';
const WEBHOOK_ID = '5b0f2f0e-8a3c-4f8e-9c61-2f1d3c4b5a60';
const DEAD_LETTER_NODE = 'Genesys Cloud: Stage Screen Recordings';
const MAX_RETRIES = 5;
const SECRET = 'e2e-recording-states-secret-0123456789';
const HEADER = 'X-CX-Webhook-Secret';
const PORT = randomPortBlock(6400, 100, 2);
const IRI_BASE = 'https://xapi.cx-training.dev';
const HOUR = 3_600_000;

type Json = Record<string, any>;

interface Scenario {
	conversationId: string;
	recordingId: string;
	agentId: string;
}

const scenario = (state: string): Scenario => ({
	conversationId: `rs-${state}`,
	recordingId: `rs-${state}-screen`,
	agentId: `agent-${state}`,
});

const RESTORED = scenario('restored');
const DELETED = scenario('deleted');
const ERRORED = scenario('error');
const TRANSCODING = scenario('transcoding');
const REDELIVERED = scenario('redelivered');
const EXPIRING = scenario('expiring-url');
const STORM = scenario('429-storm');
const UPLOADING = scenario('uploading');
const STUCK = scenario('stuck-uploading');
const ARCHIVED = scenario('archived');

const workDir = join(PROJECT_ROOT, '.e2e', `states-${process.pid}`);
const expiringFile = join(workDir, 'expiring-url.webm');
let expiringBytes: Buffer;
let stack: RecordingStack;
let s3: S3TestServer;
let genesys: GenesysSimulator;
let lrs: XapiLrsSimulator;
let n8n: N8nInstance;
let client: N8nClient;
let workflowId: string;
let url: string;
let state: StateStore | undefined;
/** Finished executions per conversation, oldest first. */
const executions: Record<string, ExecutionSummary[]> = {};

/** The shipped template, with the two time knobs of its retry loop shortened for the test (see beforeAll). */
function publishedCopy(template: Template): Template {
	const copy = JSON.parse(JSON.stringify(template)) as Template;
	const wait = copy.nodes.find((node) => node.name === WAIT)!;
	if (wait.parameters.amount !== '={{ $json.retryAfterSec }}') throw new Error(`unexpected Wait amount ${wait.parameters.amount}`);
	// Real hints are 120 s (uploading), 300 s (restoring) and ≥ 30 s (transcoding); a sixtieth keeps the
	// expression and the retryAfterSec it reads under test while each wait takes 0.5–5 s in n8n's process.
	wait.parameters.amount = '={{ $json.retryAfterSec / 60 }}';
	// 2 s of 202 answers instead of 120 s before a pass gives up, so transcoding also takes the retry loop.
	copy.nodes.find((node) => node.name === STAGE)!.parameters.options.maxTranscodeWaitSec = 2;
	return copy;
}

function seed(conversation: Scenario, recording: Partial<SimRecording>, extra: { queueId?: string } = {}): void {
	genesys.seedConversation({
		conversationId: conversation.conversationId,
		queueId: extra.queueId ?? 'queue-states',
		recordings: [
			{
				recordingId: conversation.recordingId,
				media: 'screen',
				users: [{ id: conversation.agentId }],
				sizeBytes: 640 * 1024,
				seed: conversation.conversationId,
				...recording,
			},
			{ recordingId: `${conversation.conversationId}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 4096 },
		],
	});
}

async function endConversation(conversation: Scenario): Promise<Json> {
	const emitted = await genesys.emitConversationEnd({
		webhookUrl: url,
		conversationId: conversation.conversationId,
		userId: conversation.agentId,
		shape: 'eventbridge',
		headers: { [HEADER]: SECRET },
	});
	expect({ conversationId: conversation.conversationId, status: emitted.status, body: JSON.parse(emitted.body) }).toEqual({
		conversationId: conversation.conversationId,
		status: 200,
		body: { received: 1, accepted: 1 },
	});
	return emitted.payload;
}

/** Waits until each conversation has `count` finished executions; keeps them oldest first. */
async function collect(expected: Record<string, number>, timeoutMs = 150000): Promise<void> {
	const started = Date.now();
	for (;;) {
		const list = await client.executions(workflowId, 100);
		const finished = list.filter((execution) => execution.stoppedAt);
		const mine = (conversationId: string) => finished.filter((execution) => outputOf(execution, TRIGGER)[0]?.conversationId === conversationId);
		if (Object.entries(expected).every(([conversationId, count]) => mine(conversationId).length >= count)) {
			for (const conversationId of Object.keys(expected)) {
				executions[conversationId] = mine(conversationId).sort((a, b) => Number(a.id) - Number(b.id));
			}
			return;
		}
		if (Date.now() - started > timeoutMs) throw new Error(`executions still missing for ${JSON.stringify(expected)}`);
		await delay(500);
	}
}

/** Each run (pass) of a node in one execution: its items per output. */
function passes(execution: ExecutionSummary, node: string): Array<Array<Json[]>> {
	return (execution.data?.resultData.runData[node] ?? []).map((run) => (run.data?.main ?? []).map((items) => (items ?? []).map((item) => item.json)));
}

function onlyExecution(conversation: Scenario): ExecutionSummary {
	const list = executions[conversation.conversationId] ?? [];
	expect(list).toHaveLength(1);
	const [execution] = list;
	expect({ status: execution.status, error: execution.data?.resultData.error?.message }).toEqual({ status: 'success', error: undefined });
	return execution;
}

async function objectKeys(conversation: Scenario): Promise<string[]> {
	const s3Client = new S3Client({
		endpoint: s3.endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	// No MaxKeys: s3rver's continuation tokens need OpenSSL's legacy provider.
	const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `recordings/genesys-cloud/${conversation.conversationId}/` }));
	s3Client.destroy();
	return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

const objectBytes = (key: string) => stack.objectBytes(key);

const objectKeyOf = (conversation: Scenario) => `recordings/genesys-cloud/${conversation.conversationId}/${conversation.recordingId}/original.webm`;
const statementsFor = (conversation: Scenario) => lrs.statements().filter((statement) => JSON.stringify(statement.object).includes(`/${conversation.conversationId}/`));
const assetStatesFor = (conversation: Scenario) =>
	lrs.activityProfiles().filter((document) => document.id === assetStateProfileId(IRI_BASE) && String(document.activityId).includes(`/${conversation.conversationId}/`));
const requestsTo = (method: string, path: string | RegExp): GenesysRequestLogEntry[] =>
	genesys.requests.filter((entry) => entry.method === method && (typeof path === 'string' ? entry.path === path : path.test(entry.path)));
const recordingsPath = (conversation: Scenario) => `/api/v2/conversations/${conversation.conversationId}/recordings`;
const mediaPath = (conversation: Scenario) => new RegExp(`^/media/${conversation.conversationId}/`);

/** Exactly one staged object (the original) and one private xAPI placeholder with its asset state document. */
async function expectOneObjectOneAsset(conversation: Scenario): Promise<void> {
	expect(await objectKeys(conversation)).toEqual([objectKeyOf(conversation)]);
	const statements = statementsFor(conversation);
	expect(statements).toHaveLength(1);
	expect(statements[0].actor).toEqual({ objectType: 'Agent', account: { homePage: 'https://apps.mypurecloud.com', name: conversation.agentId } });
	const assets = assetStatesFor(conversation);
	expect(assets).toHaveLength(1);
	expect(assets[0].json).toMatchObject({ stage: 'placeholder', visibility: 'private', conversationId: conversation.conversationId });
}

async function expectNothingPublished(conversation: Scenario): Promise<void> {
	expect(statementsFor(conversation)).toEqual([]);
	expect(assetStatesFor(conversation)).toEqual([]);
	expect(requestsTo('GET', mediaPath(conversation))).toEqual([]);
	expect(await objectKeys(conversation)).toEqual([]);
}

async function stateStore(): Promise<StateStore> {
	// The template names no state store credential: both nodes use <n8n folder>/storage/n8n-nodes-cx-training/.
	state ??= await openStateStore({ driver: 'sqlite', path: join(n8n.userFolder, '.n8n', 'storage', 'n8n-nodes-cx-training', 'state.sqlite') });
	return state;
}

/** Polls the simulator's request log (never a fixed sleep) until `done` holds. */
async function until(what: string, done: () => boolean, timeoutMs = 60000): Promise<void> {
	const started = Date.now();
	while (!done()) {
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await delay(20);
	}
}

/** A pass that came back later: it staged nothing and went round the loop; a final pass staged the recording. */
function expectLoopedThenStaged(execution: ExecutionSummary, conversation: Scenario): { notStaged: Json[][]; staged: Json } {
	const stagePasses = passes(execution, STAGE);
	expect(stagePasses.length).toBeGreaterThanOrEqual(2);
	expect(stagePasses.length).toBeLessThanOrEqual(MAX_RETRIES + 1);
	const last = stagePasses[stagePasses.length - 1];
	const earlier = stagePasses.slice(0, -1);
	for (const pass of earlier) {
		expect(pass[0]).toEqual([]);
		expect(pass[1]).toHaveLength(1);
	}
	expect(last[1] ?? []).toEqual([]);
	expect(last[0]).toHaveLength(1);
	const [staged] = last[0];
	expect(staged).toMatchObject({ conversationId: conversation.conversationId, recordingId: conversation.recordingId, staging: { reused: false } });
	// Every pass that staged nothing went through the If's true branch, the dedupe and the Wait exactly once.
	expect(passes(execution, LATER)).toHaveLength(earlier.length);
	expect(passes(execution, LATER).map((pass) => pass[0].length)).toEqual(earlier.map(() => 1));
	expect(passes(execution, DEDUPE)).toHaveLength(earlier.length);
	expect(passes(execution, WAIT)).toHaveLength(earlier.length);
	expect(passes(execution, FINAL)).toEqual([]);
	const pushed = passes(execution, PUSH);
	expect(pushed).toHaveLength(1);
	expect(pushed[0][0]).toEqual([expect.objectContaining({ recordingId: conversation.recordingId, lmsPush: expect.objectContaining({ created: true }) })]);
	return { notStaged: earlier.map((pass) => pass[1]), staged };
}

/** A final state: one pass, straight to the final node, a dead letter and a failed row in the state store. */
async function expectFinal(conversation: Scenario, fileState: string, status: string, reason: string): Promise<void> {
	const execution = onlyExecution(conversation);
	const stagePasses = passes(execution, STAGE);
	expect(stagePasses).toHaveLength(1);
	expect(stagePasses[0][0]).toEqual([]);
	const expected = { conversationId: conversation.conversationId, recordingId: conversation.recordingId, fileState, status, outcome: status, reason };
	expect(stagePasses[0][1]).toEqual([expect.objectContaining(expected)]);
	expect(stagePasses[0][1][0].retryAfterSec).toBeUndefined();
	expect(passes(execution, LATER)).toEqual([[[], [expect.objectContaining(expected)]]]);
	expect(passes(execution, FINAL)).toEqual([[[expect.objectContaining(expected)]]]);
	for (const node of [DEDUPE, WAIT, PUSH]) expect(execution.data!.resultData.runData[node]).toBeUndefined();
	await expectNothingPublished(conversation);

	const store = await stateStore();
	const stateKey = `genesys-cloud:${conversation.conversationId}:${conversation.recordingId}`;
	expect((await store.getRecording(stateKey))?.stage).toBe('failed');
	const letters = (await store.listDeadLetters({ node: DEAD_LETTER_NODE })).filter((letter) => letter.stateKey === stateKey);
	expect(letters).toHaveLength(1);
	expect(letters[0]).toMatchObject({ error: reason, replayedAt: null, payload: { recordingId: conversation.recordingId, fileState } });
}

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	expiringBytes = randomBytes(3 * 1024 * 1024 + 4321);
	writeFileSync(expiringFile, expiringBytes);
	stack = await startRecordingStack({ workDir, port: PORT, webhookAuth: { headerName: HEADER, secret: SECRET } });
	({ s3, genesys, lrs, n8n, client } = stack);
	({ id: workflowId, url } = await client.publishTemplate(publishedCopy(loadTemplate(TEMPLATE)), stack.credentialIds, { type: TRIGGER_TYPE, path: 'genesys-recording' }));
});

afterAll(async () => {
	await state?.close();
	await closeAllStateStores();
	await stack?.stop();
	rmSync(workDir, { recursive: true, force: true });
});

describe('end to end: every Genesys recording state through the shipped template in real n8n', () => {
	it('the template sends Not Staged round a bounded Wait loop back into Stage Screen Recordings, everything else to one final node', () => {
		const template = loadTemplate(TEMPLATE);
		const connections = template.connections as Record<string, { main: Array<Array<{ node: string; index: number }>> }>;
		const targets = (node: string) => connections[node].main.map((output) => output.map((target) => target.node));
		expect(targets(STAGE)).toEqual([[PUSH], [LATER]]);
		expect(targets(LATER)).toEqual([[DEDUPE], [FINAL]]);
		expect(targets(DEDUPE)).toEqual([[WAIT]]);
		expect(targets(WAIT)).toEqual([[STAGE]]);
		expect(connections[FINAL]).toBeUndefined();
		expect(connections[PUSH]).toBeUndefined();
		const node = (name: string) => template.nodes.find((candidate) => candidate.name === name)!;
		expect(node(TRIGGER).webhookId).toBe(WEBHOOK_ID);
		const ids = template.nodes.map((candidate) => candidate.id);
		expect(new Set(ids).size).toBe(ids.length);
		expect(node(WAIT).parameters).toEqual({ resume: 'timeInterval', amount: '={{ $json.retryAfterSec }}', unit: 'seconds' });
		const conditions = node(LATER).parameters.conditions;
		expect(conditions.combinator).toBe('and');
		expect(conditions.conditions.map((condition: Json) => [condition.leftValue, condition.operator.operation, condition.rightValue])).toEqual([
			["={{ ['not_ready', 'restoring', 'transcoding'].includes($json.status) }}", 'true', ''],
			['={{ $runIndex }}', 'lt', MAX_RETRIES],
		]);
		expect(node(DEDUPE).parameters).toMatchObject({ operation: 'removeDuplicateInputItems', compare: 'selectedFields', fieldsToCompare: 'conversationId' });
		// A looped item reaches Stage again: the Not Staged item carries conversationId and userId for these.
		expect(node(STAGE).parameters).toMatchObject({ conversationId: '={{ $json.conversationId }}', agentId: '={{ $json.userId }}' });
	});

	describe('without clock moves: RESTORED, DELETED, ERROR, 202 transcoding, retries running out and a redelivered event', () => {
		let redeliveredPayload: Json;

		it('six conversations end at once; the redelivered event is posted again twice, concurrently', async () => {
			seed(RESTORED, { fileState: 'RESTORED' });
			seed(DELETED, { fileState: 'DELETED' });
			seed(ERRORED, { fileState: 'ERROR' });
			// Four 202 answers: more than one 2-s pass can take (at most three requests, one a second).
			seed(TRANSCODING, { transcode202Count: 4 });
			seed(REDELIVERED, {});
			// Never finishes uploading: the retries run out.
			seed(STUCK, { fileState: 'UPLOADING' });
			const payloads = await Promise.all([RESTORED, DELETED, ERRORED, TRANSCODING, REDELIVERED, STUCK].map(endConversation));
			redeliveredPayload = payloads[4];
			await collect(Object.fromEntries([RESTORED, DELETED, ERRORED, TRANSCODING, REDELIVERED, STUCK].map((conversation) => [conversation.conversationId, 1])));

			// EventBridge delivers at least once: the very same event (same id) twice more, at the same time.
			const again = await Promise.all(
				[1, 2].map(() =>
					fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [HEADER]: SECRET }, body: JSON.stringify(redeliveredPayload) }),
				),
			);
			expect(again.map((response) => response.status)).toEqual([200, 200]);
			await collect({ [REDELIVERED.conversationId]: 3 });
		});

		it('RESTORED is staged on the first pass: one object, one asset, no loop', async () => {
			const execution = onlyExecution(RESTORED);
			const stagePasses = passes(execution, STAGE);
			expect(stagePasses).toHaveLength(1);
			expect(stagePasses[0][1]).toEqual([]);
			expect(stagePasses[0][0]).toEqual([
				expect.objectContaining({ recordingId: RESTORED.recordingId, agent: expect.objectContaining({ id: RESTORED.agentId }), staging: { reused: false, resumes: 0 } }),
			]);
			expect(stagePasses[0][0][0].object).toMatchObject({ key: objectKeyOf(RESTORED), size: 640 * 1024 });
			for (const node of [LATER, DEDUPE, WAIT, FINAL]) expect(execution.data!.resultData.runData[node]).toBeUndefined();
			expect(requestsTo('PUT', /.*/).filter((entry) => entry.path.includes(RESTORED.conversationId))).toEqual([]);
			await expectOneObjectOneAsset(RESTORED);
		});

		it('DELETED ends at once in the final node with its reason and one dead letter; nothing is downloaded or published', async () => {
			await expectFinal(DELETED, 'DELETED', 'deleted', 'the recording was deleted by its retention policy');
		});

		it('ERROR ends at once in the final node with its reason and one dead letter; nothing is downloaded or published', async () => {
			await expectFinal(ERRORED, 'ERROR', 'error', 'Genesys reports fileState ERROR');
		});

		it('202 transcoding: a pass gives up after its bounded wait, the item comes back after Retry-After and is staged', async () => {
			const execution = onlyExecution(TRANSCODING);
			const { notStaged } = expectLoopedThenStaged(execution, TRANSCODING);
			expect(notStaged[0]).toEqual([
				expect.objectContaining({ conversationId: TRANSCODING.conversationId, userId: TRANSCODING.agentId, queueId: 'queue-states', status: 'transcoding', retryAfterSec: 30 }),
			]);
			// Bounded: one 2-s pass asks at most three times (one request a second), then hands the item to the loop.
			const polls = Number(/^recordings still transcoding after \d+ s \((\d+) requests\)$/.exec(notStaged[0][0].reason)?.[1]);
			expect(polls).toBeGreaterThanOrEqual(1);
			expect(polls).toBeLessThanOrEqual(3);
			// The simulator answered 202 exactly four times, then 200: no request was lost or repeated after the 200.
			const answers = requestsTo('GET', recordingsPath(TRANSCODING)).map((entry) => entry.status);
			expect(answers).toEqual([202, 202, 202, 202, 200]);
			await expectOneObjectOneAsset(TRANSCODING);
		});

		it(`a recording that never finishes uploading is retried ${MAX_RETRIES} times, then ends in the final node; no dead letter, nothing published`, async () => {
			const execution = onlyExecution(STUCK);
			const stagePasses = passes(execution, STAGE);
			expect(stagePasses).toHaveLength(MAX_RETRIES + 1);
			for (const pass of stagePasses) {
				expect(pass[0]).toEqual([]);
				expect(pass[1]).toEqual([expect.objectContaining({ conversationId: STUCK.conversationId, userId: STUCK.agentId, status: 'not_ready', retryAfterSec: 120 })]);
			}
			// Retries 1-5 take the true branch; the sixth pass finds the attempts used up.
			const decisions = passes(execution, LATER).map((pass) => [pass[0].length, pass[1].length]);
			expect(decisions).toEqual([...Array.from({ length: MAX_RETRIES }, () => [1, 0]), [0, 1]]);
			expect(passes(execution, WAIT)).toHaveLength(MAX_RETRIES);
			expect(passes(execution, FINAL)).toEqual([[[expect.objectContaining({ recordingId: STUCK.recordingId, status: 'not_ready' })]]]);
			expect(execution.data!.resultData.runData[PUSH]).toBeUndefined();
			await expectNothingPublished(STUCK);
			// The row stays not_ready for the next event of the conversation; only deleted and error are dead letters.
			const store = await stateStore();
			const stateKey = `genesys-cloud:${STUCK.conversationId}:${STUCK.recordingId}`;
			expect((await store.getRecording(stateKey))?.stage).toBe('not_ready');
			expect((await store.listDeadLetters()).filter((letter) => letter.stateKey === stateKey)).toEqual([]);
		});

		it('a redelivered event (three deliveries, two of them concurrent) still ends with one object and one asset', async () => {
			const list = executions[REDELIVERED.conversationId];
			expect(list).toHaveLength(3);
			for (const execution of list) expect(execution.status).toBe('success');
			const staged = list.map((execution) => outputOf(execution, STAGE)[0]);
			expect(staged.map((item) => item.staging.reused)).toEqual([false, true, true]);
			expect(list.map((execution) => outputOf(execution, PUSH)[0].lmsPush.created)).toEqual([true, false, false]);
			// Downloaded once; the redeliveries reused the intact object.
			expect(requestsTo('GET', mediaPath(REDELIVERED)).map((entry) => entry.status)).toEqual([200]);
			await expectOneObjectOneAsset(REDELIVERED);
		});
	});

	describe('a signed URL expiring mid-download and a 429 storm', () => {
		it('both conversations end at once and each is staged in one pass', async () => {
			seed(EXPIRING, { filePath: expiringFile, contentType: 'video/webm', sizeBytes: undefined, seed: undefined });
			seed(STORM, {});
			// The download breaks off after 1 MiB and, meanwhile, the signed URL's hour runs out (simulator clock).
			genesys.setFault({ path: `/media/${EXPIRING.conversationId}/**`, dropAfterBytes: 1024 * 1024, advanceClockMs: 2 * HOUR });
			// Three 429s on the recordings list (Retry-After 2 s), then two on the media download (Retry-After 1 s).
			genesys.setFault({ path: recordingsPath(STORM), status: 429, retryAfterSec: 2, count: 3 });
			genesys.setFault({ path: `/media/${STORM.conversationId}/**`, status: 429, retryAfterSec: 1, count: 2 });
			await Promise.all([EXPIRING, STORM].map(endConversation));
			await collect({ [EXPIRING.conversationId]: 1, [STORM.conversationId]: 1 });
		});

		it('expired URL mid-download: resumed by Range from a fresh URL; the object matches the source file byte for byte', async () => {
			const execution = onlyExecution(EXPIRING);
			expect(passes(execution, STAGE)).toHaveLength(1);
			const [staged] = outputOf(execution, STAGE);
			expect(staged.staging.reused).toBe(false);
			expect(staged.staging.resumes).toBeGreaterThanOrEqual(1);
			const media = requestsTo('GET', mediaPath(EXPIRING));
			// First answer broken off, the old URL refused as expired, then a Range request on a fresh URL.
			expect(media[0]).toMatchObject({ status: 200, fault: true });
			expect(media[0].range).toBeUndefined();
			const refused = media.findIndex((entry) => entry.status === 403);
			expect(refused).toBeGreaterThan(0);
			const resumed = media.slice(refused + 1).find((entry) => entry.status === 206);
			expect(resumed?.range).toMatch(/^bytes=[1-9]\d*-$/);
			expect(resumed!.query).not.toBe(media[refused].query);

			const sha256 = createHash('sha256').update(expiringBytes).digest('hex');
			expect(staged.object).toMatchObject({ key: objectKeyOf(EXPIRING), size: expiringBytes.length, sha256 });
			const bytes = await objectBytes(objectKeyOf(EXPIRING));
			expect(bytes.length).toBe(expiringBytes.length);
			expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
			await expectOneObjectOneAsset(EXPIRING);
		});

		it('429 storm: every retry waited at least its Retry-After; one object, one asset', async () => {
			const execution = onlyExecution(STORM);
			expect(passes(execution, STAGE)).toHaveLength(1);
			expect(outputOf(execution, STAGE)).toHaveLength(1);
			for (const [log, retryAfterSec] of [
				[requestsTo('GET', recordingsPath(STORM)), 2],
				[requestsTo('GET', mediaPath(STORM)), 1],
			] as const) {
				const statuses = log.map((entry) => entry.status);
				expect(statuses.slice(0, -1)).toEqual(retryAfterSec === 2 ? [429, 429, 429] : [429, 429]);
				expect([200, 206]).toContain(statuses[statuses.length - 1]);
				for (let i = 1; i < log.length; i++) {
					expect(log[i - 1].retryAfter).toBe(String(retryAfterSec));
					// A lower bound only: the next request may come later, never sooner (timers may fire a few ms early).
					expect(log[i].at - log[i - 1].at).toBeGreaterThanOrEqual(retryAfterSec * 1000 - 25);
				}
			}
			await expectOneObjectOneAsset(STORM);
		});
	});

	describe('finished on a later pass of the same execution: UPLOADING and ARCHIVED', () => {
		let restores = 0;

		it('both conversations end; the simulator clock moves on only after each first answer was given', async () => {
			// Seeded now: the clock jumps of the previous tests must not finish the upload early.
			// No users on the uploading recording: its agent is only known from the event, and must survive the loop.
			seed(UPLOADING, { fileState: 'UPLOADING', uploadMs: HOUR, users: [] }, { queueId: 'queue-payments' });
			seed(ARCHIVED, { fileState: 'ARCHIVED', restoreMs: 2 * HOUR });
			restores = genesys.stats.restoreRequests;
			await Promise.all([UPLOADING, ARCHIVED].map(endConversation));
			const answered = (conversation: Scenario) => requestsTo('GET', recordingsPath(conversation)).filter((entry) => entry.status === 200).length;

			// The upload completes an hour after seeding; the restore needs two hours after its request.
			await until('the first answer for the uploading recording', () => answered(UPLOADING) >= 1);
			genesys.advanceTime(HOUR + 1000);
			// Two answers for the archived recording: ARCHIVED (restore requested), then RESTORING.
			await until('two answers for the archived recording', () => answered(ARCHIVED) >= 2);
			genesys.advanceTime(2 * HOUR + 1000);
			await collect({ [UPLOADING.conversationId]: 1, [ARCHIVED.conversationId]: 1 });
		});

		it('UPLOADING: first pass Not Staged not_ready with the agent and queue kept; a later pass stages it; one object, one asset', async () => {
			const execution = onlyExecution(UPLOADING);
			const { notStaged, staged } = expectLoopedThenStaged(execution, UPLOADING);
			for (const items of notStaged) {
				expect(items).toEqual([
					expect.objectContaining({
						conversationId: UPLOADING.conversationId,
						recordingId: UPLOADING.recordingId,
						userId: UPLOADING.agentId,
						queueId: 'queue-payments',
						status: 'not_ready',
						fileState: 'UPLOADING',
						retryAfterSec: 120,
					}),
				]);
			}
			// The agent and queue of the staged ref come from the event, carried through the loop.
			expect(staged).toMatchObject({ agent: { id: UPLOADING.agentId }, queue: { id: 'queue-payments' }, direction: 'INBOUND' });
			expect((await (await stateStore()).getRecording(`genesys-cloud:${UPLOADING.conversationId}:${UPLOADING.recordingId}`))?.stage).toBe('pushed_placeholder');
			await expectOneObjectOneAsset(UPLOADING);
		});

		it('ARCHIVED: one restore request (PUT with a future archiveDate), "restoring" passes, then staged; one object, one asset', async () => {
			const execution = onlyExecution(ARCHIVED);
			const { notStaged } = expectLoopedThenStaged(execution, ARCHIVED);
			expect(notStaged.length).toBeGreaterThanOrEqual(2);
			expect(notStaged[0]).toEqual([expect.objectContaining({ status: 'restoring', fileState: 'ARCHIVED', retryAfterSec: 300, reason: expect.stringMatching(/^restore requested \(archived until \d{4}-/) })]);
			for (const items of notStaged.slice(1)) {
				expect(items).toEqual([expect.objectContaining({ status: 'restoring', fileState: 'RESTORING', reason: 'the recording is being restored from the archive' })]);
			}
			const puts = requestsTo('PUT', `${recordingsPath(ARCHIVED)}/${ARCHIVED.recordingId}`);
			expect(puts.map((entry) => entry.status)).toEqual([200]);
			expect(genesys.stats.restoreRequests - restores).toBe(1);
			await expectOneObjectOneAsset(ARCHIVED);
		});
	});
});
