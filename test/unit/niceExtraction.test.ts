import { Readable } from 'node:stream';

import { clearNiceClientCaches } from '../../nodes/shared/ccaas/nice/client';
import {
	csvRows,
	ExtractionJobError,
	ExtractionThrottledError,
	normaliseColumnName,
	runExtraction,
} from '../../nodes/shared/ccaas/nice/extraction';
import {
	criteriaFromQuestions,
	evaluationsFromForwardedRows,
	latestWorkflowSink,
	QM_QUESTIONS_ENTITY_DEFAULT,
	QM_WORKFLOWS_ENTITY,
	type NiceEvaluationItem,
} from '../../nodes/shared/ccaas/nice/evaluations';
import { extractEvaluations, extractionWindow, selectNewEvaluations } from '../../nodes/shared/ccaas/nice/poll';
import { startNiceCxoneSimulator, type NiceSimulator, type NiceSimulatorOptions, type SimNiceEvaluation } from '../simulators/niceCxone';
import { simulatorNiceClient } from '../support/nice';

let sim: NiceSimulator;

async function start(options: NiceSimulatorOptions = {}): Promise<void> {
	clearNiceClientCaches();
	sim = await startNiceCxoneSimulator({ extractionIntervalMs: 0, jobPollsToSucceed: 2, ...options });
}

afterEach(async () => {
	await sim?.close();
});

const WINDOW = { startDate: '2025-03-04', endDate: '2025-03-06' };

/** A workflow that goes Pending → InProgress → Completed, then is rescored after a dispute. */
function disputed(): SimNiceEvaluation {
	return {
		workflowId: 'wf-100',
		acdId: '700100',
		segmentId: '900100',
		agentId: 'agent-7',
		agentFirstName: 'Ada',
		agentLastName: 'Lovelace',
		history: [
			{ workflowState: 'Pending', lastUpdated: '2025-03-04T09:00:00.000Z' },
			{ workflowState: 'InProgress', lastUpdated: '2025-03-04T09:30:00.000Z', scorePercentage: 40 },
			{ workflowState: 'Completed', lastUpdated: '2025-03-04T10:00:00.000Z', scorePercentage: 62.5, submissionDate: '2025-03-04T10:00:00.000Z' },
			{
				workflowState: 'Completed',
				lastUpdated: '2025-03-05T08:00:00.000Z',
				scorePercentage: 81.25,
				submissionDate: '2025-03-05T08:00:00.000Z',
				disputeResolverComments: 'Greeting was given; rescored',
			},
		],
		questions: [
			{ sectionId: 's-open', sectionTitle: 'Opening', questionId: 'q1', questionTitle: 'Greeted?', actualScore: 10, maxScore: 10 },
			{ sectionId: 's-comp', sectionTitle: 'Compliance', questionId: 'q2', questionTitle: 'Verified caller?', actualScore: 0, maxScore: 10, critical: true, failedCritical: true },
			{ sectionId: 's-res', sectionTitle: 'Resolution', questionId: 'q3', questionTitle: 'Solved?', actualScore: 6, maxScore: 10 },
			{ sectionId: 's-res', sectionTitle: 'Resolution', questionId: 'q4', questionTitle: 'Summarised?', actualScore: 10, maxScore: 10 },
		],
	};
}

function inProgress(): SimNiceEvaluation {
	return {
		workflowId: 'wf-200',
		acdId: '700200',
		agentId: 'agent-8',
		history: [{ workflowState: 'InProgress', lastUpdated: '2025-03-05T11:00:00.000Z', scorePercentage: 20 }],
	};
}

describe('NICE CXone Data Extraction', () => {
	it('creates a job (202 + id), polls RUNNING until SUCCEEDED, and keeps the latest row per workflow', async () => {
		await start({ jobPollsToSucceed: 3 });
		sim.seedEvaluation(disputed());
		sim.seedEvaluation(inProgress());
		const client = simulatorNiceClient(sim);
		const outcome = await runExtraction(client, QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 10_000 });
		expect(outcome.state).toBe('done');
		if (outcome.state !== 'done') return;
		expect(sim.stats.jobBodies).toEqual([{ entityName: 'qm-workflows', version: '4', startDate: '2025-03-04', endDate: '2025-03-06' }]);
		expect(sim.stats.jobGets).toBe(3);
		const wf100 = outcome.result.get('wf-100')!;
		expect(wf100.rows).toBe(4);
		expect(wf100.completedRows).toBe(2);
		expect(wf100.latest.lastupdated).toBe('2025-03-05T08:00:00.000Z');
		expect(wf100.latest.scorepercentage).toBe('81.25');
		expect(outcome.result.get('wf-200')!.latest.workflowstate).toBe('InProgress');
	});

	it('emits only completed evaluations, normalised to the EvaluationItem contract with criteria from the Q&A entity', async () => {
		await start({ questionsEntityName: QM_QUESTIONS_ENTITY_DEFAULT.entityName });
		sim.seedEvaluation(disputed());
		sim.seedEvaluation(inProgress());
		const client = simulatorNiceClient(sim);
		const outcome = await extractEvaluations(client, WINDOW, { maxWaitMs: 10_000, questionsEntity: QM_QUESTIONS_ENTITY_DEFAULT });
		expect(outcome.state).toBe('done');
		if (outcome.state !== 'done') return;
		expect(outcome.evaluations).toHaveLength(1);
		const [item] = outcome.evaluations;
		expect(item).toMatchObject({
			source: 'nice-cxone',
			conversationId: '700100',
			agentId: 'agent-7',
			agent: { id: 'agent-7', name: 'Ada Lovelace' },
			evaluation: {
				id: 'wf-100',
				totalScore: 81.25,
				status: 'FINISHED',
				released: true,
				revision: '2025-03-05T08:00:00.000Z',
				evaluatedAt: '2025-03-05T08:00:00.000Z',
				failedCritical: true,
				formName: 'Support QA',
			},
			training: { drivesTraining: true, rescore: true, retracted: false },
			interactionType: 'Voice',
			nice: { workflowId: 'wf-100', segmentId: '900100', acdId: '700100', stateChanges: 4 },
		});
		expect(item.evaluation.criteria).toEqual([
			{ id: 's-open', name: 'Opening', score: 10, maxScore: 10, failed: false, critical: false },
			{ id: 's-comp', name: 'Compliance', score: 0, maxScore: 10, failed: true, critical: true },
			{ id: 's-res', name: 'Resolution', score: 16, maxScore: 20, failed: false, critical: false },
		]);
		expect(sim.stats.jobsCreated).toBe(2);
	});

	it('includes not-completed evaluations with a reason when asked', async () => {
		await start();
		sim.seedEvaluation(inProgress());
		const outcome = await extractEvaluations(simulatorNiceClient(sim), WINDOW, { maxWaitMs: 10_000, onlyCompleted: false });
		expect(outcome.state === 'done' && outcome.evaluations.map((item) => [item.evaluation.id, item.training])).toEqual([
			['wf-200', { drivesTraining: false, reason: 'not-completed', rescore: false, retracted: false }],
		]);
	});

	it('reads camelCase headers as well as the title-case ones', async () => {
		await start({ csvHeaders: 'camel' });
		sim.seedEvaluation(disputed());
		const outcome = await extractEvaluations(simulatorNiceClient(sim), WINDOW, { maxWaitMs: 10_000 });
		expect(outcome.state === 'done' && outcome.evaluations.map((item) => item.evaluation.totalScore)).toEqual([81.25]);
	});

	it('waits out the 1-call-per-30-s throttle answered with 403, then succeeds', async () => {
		await start({ extractionIntervalMs: 400, jobPollsToSucceed: 1 });
		sim.seedEvaluation(disputed());
		// The client does not space its calls (interval 0): the simulator refuses the GET right after the POST.
		const client = simulatorNiceClient(sim, { extractionMinIntervalMs: 0 });
		const started = Date.now();
		const outcome = await runExtraction(client, QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 10_000, throttleBackoffMs: 450 });
		expect(outcome.state).toBe('done');
		expect(sim.stats.throttled403).toBe(1);
		expect(sim.stats.extractionCalls).toBe(2);
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
	});

	it('spaces its own calls per tenant, so a throttle-aware client never sees the 403', async () => {
		await start({ extractionIntervalMs: 300, jobPollsToSucceed: 2 });
		sim.seedEvaluation(disputed());
		const client = simulatorNiceClient(sim, { extractionMinIntervalMs: 320 });
		const started = Date.now();
		const outcome = await runExtraction(client, QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 10_000 });
		expect(outcome.state).toBe('done');
		expect(sim.stats.throttled403).toBe(0);
		// POST, GET (RUNNING), GET (SUCCEEDED): two full intervals between three calls.
		expect(sim.stats.extractionCalls).toBe(3);
		expect(Date.now() - started).toBeGreaterThanOrEqual(640);
	});

	it('gives up with a retry-later error when the 403 persists', async () => {
		await start();
		sim.setFault({ path: '/data-extraction/v1/jobs', method: 'POST', status: 403, count: 10 });
		const client = simulatorNiceClient(sim);
		const error = await runExtraction(client, QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 1000, maxThrottleRetries: 2, throttleBackoffMs: 10 }).catch((caught: Error) => caught);
		expect(error).toBeInstanceOf(ExtractionThrottledError);
		expect(sim.stats.byPath['POST /data-extraction/v1/jobs']).toBe(3);
	});

	it('re-reads the job for a fresh result link when the 30-second link has expired', async () => {
		await start({ jobPollsToSucceed: 1 });
		sim.seedEvaluation(disputed());
		sim.issueExpiredResultUrls(1);
		const outcome = await runExtraction(simulatorNiceClient(sim), QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 10_000 });
		expect(outcome.state === 'done' && outcome.refetches).toBe(1);
		expect(outcome.state === 'done' && outcome.result.get('wf-100')?.rows).toBe(4);
		expect(sim.stats.resultExpired403).toBe(1);
		expect(sim.stats.resultDownloads).toBe(2);
		expect(sim.stats.jobGets).toBe(2);
	});

	it('returns a job still RUNNING after maxWaitMs for a later run, and reports FAILED jobs', async () => {
		await start({ jobPollsToSucceed: 50, extractionIntervalMs: 0 });
		const client = simulatorNiceClient(sim, { extractionMinIntervalMs: 50 });
		const outcome = await runExtraction(client, QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 200 });
		expect(outcome.state).toBe('running');
		expect(sim.stats.jobGets).toBeLessThan(6);

		sim.failNextJob('FAILED');
		await sim.close();
		await start({ jobPollsToSucceed: 1 });
		sim.failNextJob('EXPIRED');
		const failed = await runExtraction(simulatorNiceClient(sim), QM_WORKFLOWS_ENTITY, WINDOW, () => latestWorkflowSink(), { maxWaitMs: 1000 }).catch((caught: Error) => caught);
		expect(failed).toBeInstanceOf(ExtractionJobError);
		expect((failed as Error).message).toMatch(/ended EXPIRED: Job expired/);
	});
});

describe('NICE CXone CSV and evaluation rules', () => {
	it('normalises column names the way the tap does, and streams rows with quoted cells and a BOM', async () => {
		expect(normaliseColumnName('Workflow ID')).toBe('workflowid');
		expect(normaliseColumnName('workflowId')).toBe('workflowid');
		expect(normaliseColumnName('sectionScore%')).toBe(normaliseColumnName('Section Score %'));
		const csv = '\uFEFFWorkflow ID,User Review Comments\r\nwf-1,"said ""hi"", then left"\r\n\r\nwf-2,\r\n';
		const rows = [];
		for await (const row of csvRows(Readable.from([Buffer.from(csv)]))) rows.push(row);
		expect(rows).toEqual([
			{ workflowid: 'wf-1', userreviewcomments: 'said "hi", then left' },
			{ workflowid: 'wf-2', userreviewcomments: '' },
		]);
	});

	it('a section with a failed critical question fails even with a high score; a low section fails on the threshold', () => {
		const criteria = criteriaFromQuestions(
			[
				{ sectionid: 'a', sectiontitle: 'A', actualscore: '9', maxscore: '10', critical: 'true', failedcriticalquestion: 'true' },
				{ sectionid: 'a', sectiontitle: 'A', actualscore: '10', maxscore: '10', critical: 'false' },
				{ sectionid: 'b', sectiontitle: 'B', actualscore: '3', maxscore: '10', critical: 'false' },
			],
			70,
		);
		expect(criteria).toEqual([
			{ id: 'a', name: 'A', score: 19, maxScore: 20, failed: true, critical: true },
			{ id: 'b', name: 'B', score: 3, maxScore: 10, failed: true, critical: false },
		]);
	});

	it('forwarded rows (webhook) reduce like the CSV; withdrawn ones are retracted', () => {
		const items = evaluationsFromForwardedRows(
			[
				{ workflowId: 'wf-9', acdId: '55', agentId: 'a-1', workflowState: 'Completed', lastUpdated: '2025-03-05 10:00:00', scorePercentage: '90' },
				{ workflowId: 'wf-9', acdId: '55', agentId: 'a-1', workflowState: 'Cancelled', lastUpdated: '2025-03-05 11:00:00', scorePercentage: '90' },
			],
			{ onlyCompleted: false },
		);
		expect(items).toHaveLength(1);
		expect(items[0].evaluation).toMatchObject({ id: 'wf-9', status: 'CANCELLED', released: false, revision: '2025-03-05T11:00:00.000Z' });
		expect(items[0].training).toEqual({ drivesTraining: false, reason: 'retracted', rescore: false, retracted: true });
	});

	it('poll cursor: windows from the cursor day to tomorrow, capped, and boundary de-duplication by workflowId+lastUpdated', () => {
		const now = Date.parse('2025-03-10T12:00:00.000Z');
		expect(extractionWindow({ possibleDuplicates: [] }, { nowMs: now, firstRunLookBackDays: 1, maxWindowDays: 7 })).toEqual({ startDate: '2025-03-09', endDate: '2025-03-11', capped: false });
		expect(extractionWindow({ lastUpdated: '2025-02-01T05:00:00.000Z', possibleDuplicates: [] }, { nowMs: now, firstRunLookBackDays: 1, maxWindowDays: 7 })).toEqual({ startDate: '2025-02-01', endDate: '2025-02-08', capped: true });

		const item = (id: string, revision: string) => ({ evaluation: { id, revision } }) as unknown as NiceEvaluationItem;
		const first = selectNewEvaluations([item('a', '2025-03-10T10:00:00.000Z'), item('b', '2025-03-10T11:00:00.000Z')], { possibleDuplicates: [] });
		expect(first.emit.map((entry) => entry.evaluation.id)).toEqual(['a', 'b']);
		expect(first.cursor).toEqual({ lastUpdated: '2025-03-10T11:00:00.000Z', possibleDuplicates: ['b@2025-03-10T11:00:00.000Z'] });

		// The same day is extracted again: a and b are old; c arrived at the boundary second; a was rescored.
		const second = selectNewEvaluations(
			[item('b', '2025-03-10T11:00:00.000Z'), item('c', '2025-03-10T11:00:00.000Z'), item('a', '2025-03-10T11:30:00.000Z')],
			first.cursor,
		);
		expect(second.emit.map((entry) => entry.evaluation.id)).toEqual(['c', 'a']);
		expect(second.cursor).toEqual({ lastUpdated: '2025-03-10T11:30:00.000Z', possibleDuplicates: ['a@2025-03-10T11:30:00.000Z'] });

		// A capped window with nothing new still moves the cursor, so a long outage is caught up.
		const capped = selectNewEvaluations([], { possibleDuplicates: [] }, { endDate: '2025-02-08', capped: true });
		expect(capped.cursor).toEqual({ lastUpdated: '2025-02-07T00:00:00.000Z', possibleDuplicates: [] });
	});
});
