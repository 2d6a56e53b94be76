import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
	PROJECT_ROOT,
	bindCredentials,
	loadTemplate,
	outputOf,
	packPackage,
	startPackagedN8n,
	type N8nClient,
	type N8nInstance,
	randomPortBlock,
} from '../../scripts/lib/n8n';
import { startNiceCxoneSimulator, type NiceSimulator, type SimNiceEvaluation } from '../simulators/niceCxone';
import { startXapiLrs, type XapiLrsSimulator, type XapiStatement } from '../simulators/xapiLrs';
import { assignmentsOf as assignmentsOfAgent } from '../support/assignments';
import { niceCredentialData } from '../support/nice';

/**
 * The shipped NICE template (NICE Evaluation Trigger → Taxonomy Map → LMS Update → Guarded Assign) published in a
 * real n8n process: the trigger's own scheduled polls run Data Extraction jobs against the NICE CXone simulator,
 * the assignment lands in the xAPI LRS simulator, and the state store is SQLite in the n8n user folder.
 */
jest.setTimeout(330_000);

const TEMPLATE = 'nice-evaluation-to-lms-and-assign.json';
const TRIGGER = 'n8n-nodes-cx-training.niceEvaluationTrigger';
const TRIGGER_NAME = 'NICE Evaluation Trigger';
const ACTOR_HOME_PAGE = 'https://cxone.niceincontact.com';
const AGENT = 'agent-nice-7001';
const BASE_PORT = randomPortBlock(6600, 100, 4);
/** The simulated tenant refuses a second Data Extraction call within 1 s; the credential spaces calls 2 s apart. */
const SIM_EXTRACTION_INTERVAL_MS = 1000;
const CREDENTIAL_EXTRACTION_INTERVAL_SEC = 2;

let nice: NiceSimulator;
let lrs: XapiLrsSimulator;
let n8n: N8nInstance;
let client: N8nClient;
let workflowId: string;
const workDir = join(PROJECT_ROOT, '.e2e', `nice-loop-${process.pid}`);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A completed QM evaluation of AGENT: two form sections of one question each, Compliance's question critical.
 * `failing` names the section answered with 0 of 10; the other scores 10 of 10, so the total is 50 %.
 */
function lowScore(workflowId: string, acdId: string, completedAtMs: number, failing: 'Compliance' | 'Empathy'): SimNiceEvaluation {
	const compliance = failing === 'Compliance' ? 0 : 10;
	const empathy = failing === 'Empathy' ? 0 : 10;
	return {
		workflowId,
		acdId,
		agentId: AGENT,
		agentFirstName: 'Noor',
		agentLastName: 'Haddad',
		formName: 'Support QA',
		maximumPossibleScore: 20,
		history: [
			{ workflowState: 'InProgress', lastUpdated: iso(completedAtMs - 5 * 60_000) },
			{
				workflowState: 'Completed',
				lastUpdated: iso(completedAtMs),
				submissionDate: iso(completedAtMs),
				scorePercentage: 50,
				failedCriticalQuestion: compliance < 10,
			},
		],
		questions: [
			{
				sectionId: 's-compliance',
				sectionTitle: 'Compliance',
				questionId: 'q-verify-identity',
				questionTitle: 'Verified the caller’s identity before discussing the account?',
				actualScore: compliance,
				maxScore: 10,
				critical: true,
				failedCritical: compliance < 10,
			},
			{
				sectionId: 's-empathy',
				sectionTitle: 'Empathy',
				questionId: 'q-acknowledge',
				questionTitle: 'Acknowledged the customer’s frustration?',
				actualScore: empathy,
				maxScore: 10,
			},
		],
	};
}

const assignmentsOf = (agentId: string): XapiStatement[] => assignmentsOfAgent(lrs, agentId);

beforeAll(async () => {
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });
	nice = await startNiceCxoneSimulator({ extractionIntervalMs: SIM_EXTRACTION_INTERVAL_MS, jobPollsToSucceed: 2 });
	lrs = await startXapiLrs();
	const userFolder = join(workDir, 'n8n');
	({ n8n, client } = await startPackagedN8n({ userFolder, port: BASE_PORT, tarball: packPackage(join(workDir, 'pack')) }));
	const ids = await client.createCredentials({
		niceCxoneApi: niceCredentialData(nice, 'oauth', CREDENTIAL_EXTRACTION_INTERVAL_SEC),
		xapiLrsApi: { endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' },
		cxStateStoreApi: { driver: 'sqlite', sqlitePath: join(userFolder, 'cx-training', 'state.sqlite') },
	});

	const template = loadTemplate(TEMPLATE);
	const trigger = template.nodes.find((node) => node.type === TRIGGER)!;
	// The shipped schedule (every 5 minutes) is for a real tenant; the test polls every minute, n8n's shortest.
	trigger.parameters.pollTimes = { item: [{ mode: 'everyMinute' }] };
	workflowId = await client.createWorkflow(bindCredentials(template, ids));
}, 180_000);

afterAll(async () => {
	await n8n?.stop();
	await Promise.allSettled([nice?.close(), lrs?.close()]);
	rmSync(workDir, { recursive: true, force: true });
});

describe('end to end: NICE evaluation (Data Extraction poll) → LMS update → Guarded Assign, in real n8n', () => {
	it('a failed critical Compliance question assigns the mapped module once, due on a weekday; a later low score of the same agent is skipped as a recent assignment', async () => {
		const seededAt = Date.now();
		nice.seedEvaluation(lowScore('wf-nice-low-1', '7700001', seededAt - 2 * 60_000, 'Compliance'));

		// Publishing runs the trigger's first poll at once (a failing poll would refuse the activation).
		await client.activate(workflowId);
		const [first] = await client.waitForExecutions(workflowId, 1, 120_000);
		expect(first.status).toBe('success');
		const emitted = outputOf(first, TRIGGER_NAME, 0);
		expect(emitted).toHaveLength(1);
		expect(emitted[0]).toMatchObject({
			source: 'nice-cxone',
			conversationId: '7700001',
			agentId: AGENT,
			evaluation: { id: 'wf-nice-low-1', totalScore: 50, failedCritical: true },
		});
		expect((emitted[0].evaluation as { criteria: unknown[] }).criteria).toEqual([
			{ id: 's-compliance', name: 'Compliance', score: 0, maxScore: 10, failed: true, critical: true },
			{ id: 's-empathy', name: 'Empathy', score: 10, maxScore: 10, failed: false, critical: false },
		]);
		expect(outputOf(first, 'Taxonomy Map', 0)[0].taxonomy).toMatchObject({ remedialModuleIds: ['mod-compliance-101'] });
		expect(outputOf(first, 'Guarded Assign', 3)).toHaveLength(0);
		const [assigned] = outputOf(first, 'Guarded Assign', 0);
		expect(assigned?.assignment).toMatchObject({ moduleId: 'mod-compliance-101', agentId: AGENT, status: 'assigned', created: true });
		const dueDate = (assigned.assignment as { dueDate: string }).dueDate;
		expect(dueDate > iso(seededAt).slice(0, 10)).toBe(true);
		expect([1, 2, 3, 4, 5]).toContain(new Date(`${dueDate}T12:00:00Z`).getUTCDay());

		const statements = assignmentsOf(AGENT);
		expect(statements).toHaveLength(1);
		expect(JSON.stringify(statements[0].object)).toContain('/modules/mod-compliance-101');
		expect(JSON.stringify(statements[0].actor)).toContain(ACTOR_HOME_PAGE);
		// Both jobs of a poll ran (the workflows entity, then the Q&A one for the sections), all within the tenant's limit.
		expect(nice.stats.jobBodies.slice(0, 2).map((body) => body.entityName)).toEqual(['qm-workflows', 'qm-questions-answers']);
		expect(nice.stats.throttled403).toBe(0);

		// A scheduled poll (n8n's cron, at most a minute away) picks up only the new evaluation.
		nice.seedEvaluation(lowScore('wf-nice-low-2', '7700002', Date.now(), 'Empathy'));
		const [second] = await client.waitForExecutions(workflowId, 2, 200_000);
		expect(second.id).not.toBe(first.id);
		expect(second.status).toBe('success');
		expect(outputOf(second, TRIGGER_NAME, 0).map((item) => (item.evaluation as { id: string }).id)).toEqual(['wf-nice-low-2']);
		expect(outputOf(second, 'Guarded Assign', 0)).toHaveLength(0);
		const [skipped] = outputOf(second, 'Guarded Assign', 1);
		expect(skipped?.skipped).toMatchObject({ reason: 'recent_assignment', moduleId: 'mod-soft-skills-empathy' });
		expect(assignmentsOf(AGENT)).toHaveLength(1);
		expect(nice.stats.jobsCreated).toBeGreaterThanOrEqual(4);
		expect(nice.stats.throttled403).toBe(0);
	});
});
