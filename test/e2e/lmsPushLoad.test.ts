import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { openStateStore, type StateStore } from '../../nodes/shared/state';
import { PROJECT_ROOT, bindCredentials, loadTemplate, packPackage, startPackagedN8n, waitForWebhook, type N8nClient, type N8nInstance, randomPortBlock } from '../../scripts/lib/n8n';
import { startRestLms, type RestLmsSimulator } from '../simulators/restLms';
import { LOAD_RECORDINGS, expectedFinalAsset, loadDeliveries, loadStateKey, type LoadDelivery } from '../support/loadCorpus';

/**
 * Issue contract for LMS Push, in real n8n: 200 evaluations for 50 recordings, delivered out of order and with
 * duplicates through production webhooks, racing their recordings, against a REST LMS answering 10 % of requests
 * with 429 and 5 % with 500 after a short outage — exactly 50 final assets, no duplicates, nothing lost (what gave
 * up lands in the dead-letter table and the shipped replay template re-sends it), and never more requests per
 * minute than the credential allows.
 */
jest.setTimeout(600000);

const PORT = randomPortBlock(8000, 100, 4);
const PER_MINUTE = 300;
const CONCURRENCY = 8;
const TOKEN = 'e2e-load-token';
const FAULTS = { seed: 20261121, rate429: 0.1, rate500: 0.05, retryAfter: 'seconds' as const, retryAfterSec: 1 };
const REPLAY_TEMPLATE = 'lms-push-dead-letter-replay.json';

const workDir = join(PROJECT_ROOT, '.e2e', `load-${process.pid}`);
let lms: RestLmsSimulator;
let n8n: N8nInstance;
let client: N8nClient;
let credentials: Record<string, { id: string; name: string }>;
let state: StateStore;

type Json = Record<string, any>;

/** Webhook → the delivered body as the item → LMS Push; the webhook answers with LMS Push's first item. */
function deliveryWorkflow() {
	const branch = (key: string, y: number, operation: LoadDelivery['operation'], pushName: string) => [
		{
			id: `load-${key}-hook`,
			name: `${key} Delivered`,
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			position: [0, y],
			webhookId: key === 'Recording' ? '0e6f1b9a-2d3c-4e5f-8a7b-1c2d3e4f5a01' : '0e6f1b9a-2d3c-4e5f-8a7b-1c2d3e4f5a02',
			parameters: { httpMethod: 'POST', path: `cx-load-${key.toLowerCase()}`, responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} },
		},
		{
			id: `load-${key}-set`,
			name: `${key} Item`,
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			position: [220, y],
			parameters: { mode: 'raw', jsonOutput: '={{ JSON.stringify($json.body) }}', options: {} },
		},
		{
			id: `load-${key}-push`,
			name: pushName,
			type: 'n8n-nodes-cx-training.lmsPush',
			typeVersion: 1,
			position: [440, y],
			onError: 'continueRegularOutput',
			parameters: { target: 'rest', operation, options: {} },
			credentials: { restLmsApi: { id: '', name: '' }, cxStateStoreApi: { id: '', name: '' } },
		},
	];
	const link = (from: string, to: string) => ({ [from]: { main: [[{ node: to, type: 'main', index: 0 }]] } });
	return {
		name: 'LMS Push load (recordings and evaluations by webhook)',
		nodes: [...branch('Recording', 0, 'pushPlaceholder', 'LMS Push'), ...branch('Evaluation', 300, 'pushFinal', 'LMS Update')],
		connections: {
			...link('Recording Delivered', 'Recording Item'),
			...link('Recording Item', 'LMS Push'),
			...link('Evaluation Delivered', 'Evaluation Item'),
			...link('Evaluation Item', 'LMS Update'),
		},
	};
}

async function deliver(delivery: LoadDelivery): Promise<Json> {
	const path = delivery.operation === 'pushPlaceholder' ? 'cx-load-recording' : 'cx-load-evaluation';
	const response = await fetch(`${n8n.baseUrl}/webhook/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(delivery.json),
	});
	const text = await response.text();
	if (response.status !== 200) throw new Error(`webhook ${path} → ${response.status}: ${text.slice(0, 300)}`);
	return JSON.parse(text) as Json;
}

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	lms = await startRestLms({
		auth: { type: 'bearer', token: TOKEN },
		faults: FAULTS,
		// The LMS enforces the same limit: a client exceeding it would collect extra 429s.
		rateLimit: { limit: PER_MINUTE, windowMs: 60000 },
	});
	({ n8n, client } = await startPackagedN8n({ userFolder: join(workDir, 'n8n'), port: PORT, tarball: packPackage(join(workDir, 'pack')) }));
	const sqlitePath = join(workDir, 'state.sqlite');
	credentials = await client.createCredentials({
		restLmsApi: { baseUrl: lms.url, authType: 'bearer', token: TOKEN, requestsPerMinute: PER_MINUTE, allowInsecureHttp: true, updateMethod: 'PATCH' },
		cxStateStoreApi: { driver: 'sqlite', sqlitePath },
	});
	const id = await client.createWorkflow(bindCredentials(deliveryWorkflow(), credentials));
	await client.activate(id);
	await Promise.all(['cx-load-recording', 'cx-load-evaluation'].map((path) => waitForWebhook(`${n8n.baseUrl}/webhook/${path}`)));
	state = await openStateStore({ driver: 'sqlite', path: sqlitePath });
});

afterAll(async () => {
	await state?.close();
	await n8n?.stop();
	await lms?.close();
	rmSync(workDir, { recursive: true, force: true });
});

it('250 webhook deliveries (50 recordings, 200 evaluations) out of order with duplicates, through 10 % 429 / 5 % 500 and an outage: exactly 50 final assets, none lost, rate within the limit', async () => {
	const order = loadDeliveries(11);
	expect(order.filter((delivery) => delivery.operation === 'pushFinal')).toHaveLength(200);
	const started = Date.now();
	const failed: Json[] = [];

	// A short outage first: every request fails, so the first recordings exhaust their retries into dead letters.
	const outage = order.filter((delivery) => delivery.operation === 'pushPlaceholder').slice(0, 3);
	lms.setFaults({ rate500: 1 });
	for (const delivery of outage) failed.push(await deliver(delivery));
	expect(failed.map((item) => typeof item.error)).toEqual(['string', 'string', 'string']);
	expect(await state.listDeadLetters({ limit: 100 })).toHaveLength(3);
	lms.setFaults(FAULTS);

	const rest = order.filter((delivery) => !(outage as LoadDelivery[]).includes(delivery));
	let next = 0;
	const sender = async () => {
		while (next < rest.length) {
			const answer = await deliver(rest[next++]);
			if (answer.error) failed.push(answer);
		}
	};
	await Promise.all(Array.from({ length: CONCURRENCY }, sender));
	const deadLettersWritten = (await state.listDeadLetters({ includeReplayed: true, limit: 10000 })).length;
	// Every item that reached the error path has its dead letter, and nothing else has one.
	expect(deadLettersWritten).toBe(failed.length);

	// The shipped replay template, switched to the REST target and a 5-second schedule, drains the dead letters.
	const template = loadTemplate(REPLAY_TEMPLATE);
	const replay = template.nodes.find((node) => node.type === 'n8n-nodes-cx-training.lmsPush')!;
	replay.parameters.target = 'rest';
	replay.credentials = { restLmsApi: { id: '', name: '' }, cxStateStoreApi: { id: '', name: '' } };
	template.nodes.find((node) => node.type === 'n8n-nodes-base.scheduleTrigger')!.parameters.rule = { interval: [{ field: 'seconds', secondsInterval: 5 }] };
	const replayId = await client.createWorkflow(bindCredentials(template, credentials));
	await client.activate(replayId);
	for (let waited = 0; (await state.listDeadLetters({ limit: 10000 })).length > 0; waited += 500) {
		if (waited > 120000) throw new Error('dead letters still pending 120 s after the replay workflow was published');
		await delay(500);
	}
	// The execution that marked the last dead letter replayed may still be finishing: wait for it to be listed.
	let replayRuns = 0;
	for (let waited = 0; replayRuns === 0 && waited <= 30000; waited += 500) {
		replayRuns = (await client.executions(replayId, 100)).filter((execution) => execution.status === 'success').length;
		if (replayRuns === 0) await delay(500);
	}
	expect(replayRuns).toBeGreaterThanOrEqual(1);
	const elapsedSec = (Date.now() - started) / 1000;

	const assets = [...lms.assets.values()];
	expect(assets).toHaveLength(LOAD_RECORDINGS);
	expect(new Set(assets.map((asset) => asset.externalId)).size).toBe(LOAD_RECORDINGS);
	for (let n = 0; n < LOAD_RECORDINGS; n++) {
		// The rescored revision wins whatever the arrival order.
		expect(assets.find((candidate) => candidate.externalId === loadStateKey(n))).toMatchObject(expectedFinalAsset(n));
		expect((await state.getRecording(loadStateKey(n)))?.stage).toBe('pushed_final');
	}

	const log = lms.requestLog;
	const faults429 = log.filter((entry) => entry.refused === 'fault-429').length;
	const faults500 = log.filter((entry) => entry.refused === 'fault-500').length;
	// The LMS's own limit never had to refuse anything: n8n's executions shared one bucket and stayed under it.
	expect(log.filter((entry) => entry.refused === 'rate-limit')).toHaveLength(0);
	const peakMinute = lms.maxInWindow(60000);
	expect(peakMinute).toBeLessThanOrEqual(PER_MINUTE);
	expect(faults429).toBeGreaterThan(0);
	expect(faults500).toBeGreaterThan(0);
	const memory = n8n.memory();
	process.stdout.write(
		`LMS Push load in real n8n: ${order.length} webhook deliveries (${LOAD_RECORDINGS} recordings, 200 evaluations, ${CONCURRENCY} at a time) in ${elapsedSec.toFixed(1)} s; ` +
			`${log.length} requests, ${faults429} answered 429 and ${faults500} answered 500; ${deadLettersWritten} dead letters replayed by ${replayRuns} scheduled run(s); ` +
			`peak ${peakMinute} requests in any 60 s (limit ${PER_MINUTE}), peak ${lms.maxInWindow(1000)} in any 1 s; n8n peak RSS ${memory.peakMiB} MiB\n`,
	);
});
