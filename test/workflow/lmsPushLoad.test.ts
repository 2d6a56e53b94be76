import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import type { EvaluationItem, RecordingRef } from '../../nodes/shared/recordingRef';
import { closeAllStateStores, openStateStore } from '../../nodes/shared/state';
import { startRestLms, type RestLmsSimulator } from '../simulators/restLms';
import { runWorkflow } from '../support/workflowHarness';

/**
 * Issue contract for LMS Push: 200 evaluations for 50 recordings, delivered out of order and with duplicates,
 * racing their recordings, through an LMS answering 10 % of requests with 429 and 5 % with 500, end with exactly
 * 50 final assets, no duplicates, no loss, and never more requests per minute than the credential allows.
 */
jest.setTimeout(600000);

const RECORDINGS = 50;
const PER_MINUTE = 300;
const CONCURRENCY = 8;

const FAULTS = { seed: 20261121, rate429: 0.1, rate500: 0.05, retryAfter: 'seconds' as const, retryAfterSec: 1 };

let lms: RestLmsSimulator;
let dir: string;
let credentials: Record<string, ICredentialDataDecryptedObject>;

beforeAll(async () => {
	lms = await startRestLms({
		auth: { type: 'bearer', token: 'load-test-token' },
		faults: FAULTS,
		// The LMS enforces the same limit: a client exceeding it would collect extra 429s.
		rateLimit: { limit: PER_MINUTE, windowMs: 60000 },
	});
	dir = await mkdtemp(join(tmpdir(), 'cx-load-'));
	credentials = {
		restLmsApi: { baseUrl: lms.url, authType: 'bearer', token: 'load-test-token', requestsPerMinute: PER_MINUTE, allowInsecureHttp: true, updateMethod: 'PATCH' },
		cxStateStoreApi: { driver: 'sqlite', sqlitePath: join(dir, 'state.sqlite') },
	};
});

afterAll(async () => {
	await closeAllStateStores();
	await lms.close();
	await rm(dir, { recursive: true, force: true });
});

function flow(parameters: IDataObject) {
	return {
		nodes: [
			{ id: 'start', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'push',
				name: 'LMS Push',
				type: 'n8n-nodes-cx-training.lmsPush',
				typeVersion: 1,
				position: [200, 0],
				parameters: { target: 'rest', options: {}, ...parameters },
				credentials: { restLmsApi: { id: 'rest', name: 'rest' }, cxStateStoreApi: { id: 'state', name: 'state' } },
				onError: 'continueRegularOutput',
			},
		] as unknown as INode[],
		connections: { Start: { main: [[{ node: 'LMS Push', type: 'main' as const, index: 0 }]] } },
	};
}

function recording(n: number): RecordingRef {
	const conversationId = `conv-load-${n}`;
	return {
		source: 'genesys-cloud',
		conversationId,
		recordingId: `rec-load-${n}`,
		agent: { id: `agent-load-${n % 7}` },
		mediaType: 'screen',
		startTime: '2026-11-02T09:00:00.000Z',
		stateKey: `genesys-cloud:${conversationId}:rec-load-${n}`,
		pii: { verdict: 'clean', findings: [] },
	};
}

/** Revision r of recording n's evaluation: a rescore moves the score and the revision forward. */
function evaluation(n: number, revision: 1 | 2): EvaluationItem {
	const totalScore = revision === 1 ? 50 + (n % 40) : 60 + (n % 40);
	return {
		source: 'genesys-cloud',
		conversationId: `conv-load-${n}`,
		agentId: `agent-load-${n % 7}`,
		evaluation: {
			id: `eval-load-${n}`,
			totalScore,
			status: 'FINISHED',
			released: true,
			revision: `2026-11-0${2 + revision}T10:00:00.000Z`,
			evaluatedAt: '2026-11-03T10:00:00.000Z',
			criteria: [{ id: 'qg-empathy', name: 'Empathy', score: totalScore / 10, maxScore: 10, failed: totalScore < 70 }],
		},
		training: { drivesTraining: true, rescore: revision === 2, retracted: false },
		taxonomy: { tags: ['load'], category: 'Billing', assetType: 'coaching', visibility: 'public', remedialModuleIds: [] },
	};
}

/** Seeded shuffle, so a failure can be replayed exactly. */
function shuffle<T>(items: T[], seed: number): T[] {
	let state = seed >>> 0;
	const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
	const copy = [...items];
	for (let i = copy.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[copy[i], copy[j]] = [copy[j], copy[i]];
	}
	return copy;
}

it('200 evaluations for 50 recordings, out of order, duplicated, through 10 % 429 and 5 % 500: exactly 50 final assets, none lost, rate within the limit', async () => {
	type Delivery = { operation: 'pushPlaceholder' | 'pushFinal'; json: IDataObject };
	const deliveries: Delivery[] = [];
	for (let n = 0; n < RECORDINGS; n++) {
		deliveries.push({ operation: 'pushPlaceholder', json: recording(n) as unknown as IDataObject });
		// Each evaluation four times: both revisions, each delivered twice (redelivery).
		for (const revision of [1, 2, 1, 2] as const) deliveries.push({ operation: 'pushFinal', json: evaluation(n, revision) as unknown as IDataObject });
	}
	const order = shuffle(deliveries, 7);
	expect(order.filter((delivery) => delivery.operation === 'pushFinal')).toHaveLength(200);

	const started = Date.now();
	let failedItems = 0;
	let next = 0;
	const deliver = async (delivery: Delivery) => {
		const run = await runWorkflow(flow({ operation: delivery.operation }), { credentials, triggerItems: [delivery.json], startNode: 'Start' });
		if (run.error) throw new Error(run.error);
		failedItems += run.output('LMS Push').filter((item) => item.error).length;
	};
	// A short outage first: every request fails, so the first deliveries exhaust their retries into dead letters.
	const outage = order.filter((delivery) => delivery.operation === 'pushPlaceholder').slice(0, 3);
	const rest = order.filter((delivery) => !outage.includes(delivery));
	lms.setFaults({ rate500: 1 });
	for (const delivery of outage) await deliver(delivery);
	expect(failedItems).toBe(3);
	lms.setFaults(FAULTS);
	const worker = async () => {
		while (next < rest.length) {
			await deliver(rest[next++]);
		}
	};
	await Promise.all(Array.from({ length: CONCURRENCY }, worker));

	// Whatever exhausted its retries is in the dead letters; replay until none is left.
	const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
	const deadLettersWritten = (await state.listDeadLetters({ includeReplayed: true, limit: 10000 })).length;
	let replayRounds = 0;
	while ((await state.listDeadLetters({ limit: 10000 })).length > 0 && replayRounds < 5) {
		replayRounds++;
		const replay = await runWorkflow(flow({ operation: 'replayDeadLetters', limit: 500 }), { credentials, startNode: 'Start' });
		expect(replay.error).toBeUndefined();
	}
	expect(await state.listDeadLetters({ limit: 10000 })).toHaveLength(0);
	expect(deadLettersWritten).toBe(failedItems);
	expect(replayRounds).toBeGreaterThanOrEqual(1);
	const elapsedSec = (Date.now() - started) / 1000;

	const assets = [...lms.assets.values()];
	expect(assets).toHaveLength(RECORDINGS);
	expect(new Set(assets.map((asset) => asset.externalId)).size).toBe(RECORDINGS);
	for (let n = 0; n < RECORDINGS; n++) {
		const asset = assets.find((candidate) => candidate.externalId === `genesys-cloud:conv-load-${n}:rec-load-${n}`);
		// The rescored revision wins whatever the arrival order.
		expect(asset).toMatchObject({ status: 'published', score: evaluation(n, 2).evaluation.totalScore, revision: evaluation(n, 2).evaluation.revision, visibility: 'public' });
		const row = await state.getRecording(`genesys-cloud:conv-load-${n}:rec-load-${n}`);
		expect(row?.stage).toBe('pushed_final');
	}

	const log = lms.requestLog;
	const faults429 = log.filter((entry) => entry.refused === 'fault-429').length;
	const faults500 = log.filter((entry) => entry.refused === 'fault-500').length;
	// The LMS's own limit never had to refuse anything: the client stayed under it.
	expect(log.filter((entry) => entry.refused === 'rate-limit')).toHaveLength(0);
	const peakMinute = lms.maxInWindow(60000);
	expect(peakMinute).toBeLessThanOrEqual(PER_MINUTE);
	expect(faults429).toBeGreaterThan(0);
	expect(faults500).toBeGreaterThan(0);
	process.stdout.write(
		`LMS Push load: ${order.length} deliveries (${RECORDINGS} recordings, 200 evaluations) in ${elapsedSec.toFixed(1)} s; ` +
			`${log.length} requests, ${faults429} answered 429 and ${faults500} answered 500; ${deadLettersWritten} dead letters replayed in ${replayRounds} round(s); ` +
			`peak ${peakMinute} requests in any 60 s (limit ${PER_MINUTE}), peak ${lms.maxInWindow(1000)} in any 1 s\n`,
	);
	await state.close();
});
