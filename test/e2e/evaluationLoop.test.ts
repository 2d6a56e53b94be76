import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import type { EvaluationForm, EvaluationResponse } from '../../nodes/shared/ccaas/genesys/evaluations';
import { PROJECT_ROOT, loadTemplate, outputOf, packPackage, type ExecutionSummary, randomPortBlock } from '../../scripts/lib/n8n';
import { startGenesysSimulator, type GenesysSimulator, type SimApiExtensionFactory } from '../simulators/genesysCloud';
import { createQualitySimulator, type QualitySimulator } from '../simulators/genesysQuality';
import { startXapiLrs, type XapiLrsSimulator, type XapiStatement } from '../simulators/xapiLrs';
import { assignmentsOf as assignmentsOfAgent } from '../support/assignments';
import { startPostgres, type PostgresCluster } from '../support/postgres';
import { startQueueModeN8n, type QueueModeN8n } from '../support/queueMode';
import { startRedis, type RedisServer } from '../support/redis';
import { genesysCredentialData } from '../support/stack';

/**
 * The shipped evaluation template (Genesys evaluation → Get Evaluation → Taxonomy Map → LMS Update → Guarded
 * Assign) in real n8n queue mode: a main process that receives the webhooks and enqueues them in Redis, and two
 * workers (one execution at a time each) that run them, with n8n's database and the state store on PostgreSQL.
 */
jest.setTimeout(300000);

const TEMPLATE = 'genesys-evaluation-to-lms-and-assign.json';
const TRIGGER = 'n8n-nodes-cx-training.genesysRecordingTrigger';
const SECRET = 'e2e-evaluation-secret-0123456789';
const HEADER = 'X-CX-Webhook-Secret';
const BASE_PORT = randomPortBlock(6000, 66, 6);

const FORM: EvaluationForm = {
	id: 'form-e2e',
	name: 'Support QA',
	questionGroups: [
		{ id: 'qg-compliance', name: 'Compliance', questions: [{ id: 'q-verify', text: 'Verified the caller?', isKill: true, answerOptions: [{ id: 'y', value: 10 }, { id: 'n', value: 0 }] }] },
		{ id: 'qg-empathy', name: 'Empathy', questions: [{ id: 'q-empathy', text: 'Showed empathy?', answerOptions: [{ id: 'y', value: 10 }, { id: 'p', value: 5 }, { id: 'n', value: 0 }] }] },
	],
};

let postgres: PostgresCluster;
let redis: RedisServer;
let genesys: GenesysSimulator;
let quality: QualitySimulator;
let lrs: XapiLrsSimulator;
let n8n: QueueModeN8n;
const workflows: Record<'plain' | 'approval', { id: string; url: string }> = {} as never;
const workDir = join(PROJECT_ROOT, '.e2e', `loop-${process.pid}`);

/**
 * Holds the evaluation reads of the named evaluations until all of them have arrived (or 20 s passed), so the
 * executions that read them are provably running at the same moment. Then the quality simulator answers.
 */
const barrier = { ids: new Set<string>(), arrived: new Set<string>(), release: undefined as (() => void) | undefined };
const holdUntilAllArrive: SimApiExtensionFactory = () => async (request) => {
	const evaluationId = request.segments[0] === 'quality' && request.segments[3] === 'evaluations' ? request.segments[4] : undefined;
	if (!evaluationId || !barrier.ids.has(evaluationId)) return false;
	barrier.arrived.add(evaluationId);
	if (barrier.arrived.size === barrier.ids.size) barrier.release?.();
	else await new Promise<void>((resolve) => {
		const timer = setTimeout(resolve, 20000);
		barrier.release = () => {
			clearTimeout(timer);
			resolve();
		};
	});
	return false;
};

/** A released evaluation: compliance (a kill question) and empathy scores out of 10. */
function seed(id: string, conversationId: string, agentId: string, compliance: number, empathy: number): EvaluationResponse {
	const evaluation: EvaluationResponse = {
		id,
		conversation: { id: conversationId },
		evaluationForm: { id: FORM.id, name: FORM.name },
		agent: { id: agentId, name: `Agent ${agentId}` },
		status: 'FINISHED',
		answers: {
			totalScore: ((compliance + empathy) / 20) * 100,
			anyFailedKillQuestions: compliance < 10,
			questionGroupScores: [
				{ questionGroupId: 'qg-compliance', totalScore: compliance, maxTotalScore: 10, questionScores: [{ questionId: 'q-verify', score: compliance, failedKillQuestion: compliance < 10 }] },
				{ questionGroupId: 'qg-empathy', totalScore: empathy, maxTotalScore: 10, questionScores: [{ questionId: 'q-empathy', score: empathy }] },
			],
		},
		releaseDate: new Date().toISOString(),
		changedDate: new Date().toISOString(),
		neverRelease: false,
	};
	quality.seedEvaluation(evaluation);
	return evaluation;
}

/** The v2.quality.evaluations notification Genesys sends through EventBridge (integer score, Pascal-case status). */
async function notify(url: string, evaluation: EvaluationResponse): Promise<number> {
	const body = {
		'detail-type': 'v2.quality.evaluations',
		detail: {
			topicName: 'v2.quality.evaluations',
			eventBody: {
				id: evaluation.id,
				conversationId: evaluation.conversation?.id,
				agent: { id: evaluation.agent?.id },
				evaluationFormId: FORM.id,
				status: 'Finished',
				totalScore: Math.round(Number(evaluation.answers?.totalScore)),
				releaseDate: evaluation.releaseDate,
			},
		},
	};
	const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [HEADER]: SECRET }, body: JSON.stringify(body) });
	return response.status;
}

const assignmentsOf = (agentId: string): XapiStatement[] => assignmentsOfAgent(lrs, agentId);

async function newestExecution(workflow: keyof typeof workflows, count: number): Promise<ExecutionSummary> {
	const list = await n8n.client.waitForExecutions(workflows[workflow].id, count, 120000);
	return list[0];
}

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	[postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
	quality = createQualitySimulator();
	quality.seedForm(FORM);
	genesys = await startGenesysSimulator({ extensions: [holdUntilAllArrive, quality.extension] });
	lrs = await startXapiLrs();
	n8n = await startQueueModeN8n({ workDir, tarball: packPackage(join(workDir, 'pack')), basePort: BASE_PORT, redis, postgres, workers: 2, concurrency: 1 });
	const ids = await n8n.client.createCredentials({
		genesysWebhookAuthApi: { headerName: HEADER, secret: SECRET },
		genesysCloudApi: genesysCredentialData(genesys),
		xapiLrsApi: { endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' },
		cxStateStoreApi: { driver: 'postgres', host: postgres.host, port: postgres.port, database: postgres.database, user: postgres.user, password: '', schema: 'cx_training', ssl: 'disable' },
	});
	const template = loadTemplate(TEMPLATE);
	for (const variant of ['plain', 'approval'] as const) {
		const copy = JSON.parse(JSON.stringify(template)) as typeof template;
		// Each workflow needs its own production webhook path.
		const trigger = copy.nodes.find((node) => node.type === TRIGGER)!;
		trigger.webhookId = `${String(trigger.webhookId).slice(0, 24)}${variant === 'plain' ? '0' : '1'}${'0'.repeat(11)}`;
		const waitNode = copy.nodes.find((node) => node.type === 'n8n-nodes-base.wait')!;
		waitNode.webhookId = `${String(waitNode.webhookId).slice(0, 24)}${variant === 'plain' ? '0' : '1'}${'1'.repeat(11)}`;
		if (variant === 'approval') copy.nodes.find((node) => node.name === 'Guarded Assign')!.parameters.requireApproval = true;
		copy.name = `${template.name} (${variant})`;
		workflows[variant] = await n8n.client.publishTemplate(copy, ids, { type: TRIGGER, path: 'genesys-recording' });
	}
});

afterAll(async () => {
	await n8n?.stop();
	await Promise.allSettled([genesys?.close(), lrs?.close(), postgres?.stop(), redis?.stop()]);
	rmSync(workDir, { recursive: true, force: true });
});

describe('end to end: Genesys evaluation → LMS update → Guarded Assign, in real n8n queue mode (main + 2 workers, Redis, PostgreSQL)', () => {
	it('the main process enqueues, a worker runs: a low score assigns the mapped module once, due on a weekday; a second low score that week is skipped as a recent assignment', async () => {
		expect(await notify(workflows.plain.url, seed('eval-low-1', 'conv-low-1', 'agent-low', 0, 10))).toBe(200);
		const first = await newestExecution('plain', 1);
		expect(first.status).toBe('success');
		expect(n8n.workerOf(first.id)).toBeGreaterThanOrEqual(0);
		const [assigned] = outputOf(first, 'Guarded Assign', 0);
		expect(assigned.assignment).toMatchObject({ moduleId: 'mod-compliance-101', agentId: 'agent-low', status: 'assigned', created: true });
		const dueDate = (assigned.assignment as { dueDate: string }).dueDate;
		expect([1, 2, 3, 4, 5]).toContain(new Date(`${dueDate}T12:00:00Z`).getUTCDay());
		const statements = assignmentsOf('agent-low');
		expect(statements).toHaveLength(1);
		expect(JSON.stringify(statements[0].object)).toContain('/modules/mod-compliance-101');

		expect(await notify(workflows.plain.url, seed('eval-low-2', 'conv-low-2', 'agent-low', 10, 0))).toBe(200);
		const second = await newestExecution('plain', 2);
		expect(outputOf(second, 'Guarded Assign', 0)).toHaveLength(0);
		expect(outputOf(second, 'Guarded Assign', 1)[0].skipped).toMatchObject({ reason: 'recent_assignment' });
		expect(assignmentsOf('agent-low')).toHaveLength(1);
	});

	it('two simultaneous low scores for one agent, running at the same moment on the two workers, assign exactly once', async () => {
		const one = seed('eval-race-a', 'conv-race-a', 'agent-race', 0, 5);
		const two = seed('eval-race-b', 'conv-race-b', 'agent-race', 0, 0);
		barrier.ids = new Set([one.id!, two.id!]);
		const before = (await n8n.client.executions(workflows.plain.id, 50)).length;
		expect(await Promise.all([notify(workflows.plain.url, one), notify(workflows.plain.url, two)])).toEqual([200, 200]);
		const list = (await n8n.client.waitForExecutions(workflows.plain.id, before + 2, 120000)).slice(0, 2);
		// Both evaluation reads were in flight together, and each worker runs one execution at a time.
		expect([...barrier.arrived].sort()).toEqual([one.id, two.id].sort());
		expect(list.map((execution) => n8n.workerOf(execution.id)).sort()).toEqual([0, 1]);
		const outcomes = list.map((execution) => ({
			assigned: outputOf(execution, 'Guarded Assign', 0).length,
			skipped: outputOf(execution, 'Guarded Assign', 1).map((item) => (item.skipped as { reason: string }).reason),
		}));
		expect(outcomes.map((outcome) => outcome.assigned).sort()).toEqual([0, 1]);
		expect(outcomes.flatMap((outcome) => outcome.skipped)).toEqual(['recent_assignment']);
		expect(assignmentsOf('agent-race')).toHaveLength(1);
	});

	it('the approval path holds the assignment at the Wait node and, resumed through the main process, assigns once', async () => {
		expect(await notify(workflows.approval.url, seed('eval-ap', 'conv-ap', 'agent-ap', 0, 10))).toBe(200);
		let waiting: ExecutionSummary | undefined;
		for (let attempt = 0; attempt < 300 && !waiting; attempt++) {
			waiting = (await n8n.client.executions(workflows.approval.id, 5)).find((execution) => execution.status === 'waiting');
			if (!waiting) await delay(200);
		}
		expect(waiting).toBeDefined();
		expect(outputOf(waiting!, 'Guarded Assign', 2)[0].assignment).toMatchObject({ status: 'approval_pending', moduleId: 'mod-compliance-101' });
		expect(assignmentsOf('agent-ap')).toHaveLength(0);

		// The approver receives the signed resume URL the template puts on the item (n8n signs waiting webhooks).
		const approvalUrl = String(outputOf(waiting!, 'Approval Request', 0)[0].approvalUrl);
		expect(approvalUrl).toContain(`/webhook-waiting/${waiting!.id}`);
		const resumed = await fetch(approvalUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ approved: true }),
		});
		expect(resumed.status).toBe(200);
		let done: ExecutionSummary | undefined;
		for (let attempt = 0; attempt < 300; attempt++) {
			done = (await n8n.client.executions(workflows.approval.id, 5)).find((execution) => execution.id === waiting!.id);
			if (done?.status === 'success') break;
			await delay(200);
		}
		expect(done?.status).toBe('success');
		expect(outputOf(done!, 'Complete Approved Assignment', 0)[0].assignment).toMatchObject({ status: 'assigned', created: true, moduleId: 'mod-compliance-101' });
		expect(assignmentsOf('agent-ap')).toHaveLength(1);
	});
});
