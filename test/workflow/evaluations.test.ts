import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import type { EvaluationForm, EvaluationResponse } from '../../nodes/shared/ccaas/genesys/evaluations';
import { startGenesysSimulator, type GenesysSimulator } from '../simulators/genesysCloud';
import { createQualitySimulator, type QualitySimulator } from '../simulators/genesysQuality';
import { runWorkflow } from '../support/workflowHarness';
import { genesysCredentialData } from '../support/stack';

const FORM: EvaluationForm = {
	id: 'form-support-v1',
	name: 'Support QA',
	questionGroups: [
		{
			id: 'qg-opening',
			name: 'Opening',
			questions: [{ id: 'q-greet', text: 'Greeted the customer?', answerOptions: [{ id: 'a-yes', value: 10 }, { id: 'a-no', value: 0 }] }],
		},
		{
			id: 'qg-compliance',
			name: 'Compliance',
			questions: [
				{ id: 'q-verify', text: 'Verified the caller?', isKill: true, answerOptions: [{ id: 'a-v-yes', value: 10 }, { id: 'a-v-no', value: 0 }] },
			],
		},
		{
			id: 'qg-resolution',
			name: 'Resolution',
			questions: [
				{ id: 'q-solved', text: 'Solved the issue?', answerOptions: [{ id: 'a-s-full', value: 10 }, { id: 'a-s-part', value: 6 }, { id: 'a-s-no', value: 0 }] },
			],
		},
	],
};

/** One evaluation of conv-wf-1 by agent-wf with one answer per group (opening, compliance, resolution). */
function evaluation(id: string, scores: [number, number, number], overrides: Partial<EvaluationResponse>): EvaluationResponse {
	const groups = ['qg-opening', 'qg-compliance', 'qg-resolution'];
	const questions = ['q-greet', 'q-verify', 'q-solved'];
	return {
		id,
		conversation: { id: 'conv-wf-1' },
		evaluationForm: { id: FORM.id, name: FORM.name },
		agent: { id: 'agent-wf', name: 'Wren Agent' },
		evaluator: { id: 'evaluator-wf', name: 'Quinn' },
		status: 'FINISHED',
		answers: {
			totalScore: ((scores[0] + scores[1] + scores[2]) / 30) * 100,
			anyFailedKillQuestions: scores[1] < 10,
			questionGroupScores: groups.map((questionGroupId, index) => ({
				questionGroupId,
				totalScore: scores[index],
				maxTotalScore: 10,
				questionScores: [{ questionId: questions[index], score: scores[index], ...(index === 1 ? { failedKillQuestion: scores[1] < 10 } : {}) }],
			})),
		},
		releaseDate: '2025-03-05T09:00:00.000Z',
		neverRelease: false,
		rescore: false,
		...overrides,
	};
}

const CRED = { genesysCloudApi: { id: 'genesysCloudApi-id', name: 'genesysCloudApi' } };

/** Manual Trigger → Set (conversationId) → Genesys Cloud (evaluation). */
function workflow(conversationId: string, parameters: IDataObject) {
	return {
		nodes: [
			{ id: '1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} },
			{
				id: '2',
				name: 'Evaluation Released',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				position: [200, 0] as [number, number],
				parameters: {
					mode: 'manual',
					assignments: {
						assignments: [
							{ id: 'a1', name: 'conversationId', value: conversationId, type: 'string' },
							{ id: 'a2', name: 'evaluationId', value: 'eval-wf-fail', type: 'string' },
						],
					},
					options: {},
				},
			},
			{
				id: '3',
				name: 'Evaluations',
				type: 'n8n-nodes-cx-training.genesysCloud',
				typeVersion: 1,
				position: [400, 0] as [number, number],
				parameters: { resource: 'evaluation', ...parameters },
				credentials: CRED,
			},
		],
		connections: {
			Start: { main: [[{ node: 'Evaluation Released', type: 'main' as const, index: 0 }]] },
			'Evaluation Released': { main: [[{ node: 'Evaluations', type: 'main' as const, index: 0 }]] },
		},
	};
}

const PASSED = {
	evaluation: {
		id: 'eval-wf-pass',
		totalScore: 100,
		status: 'FINISHED',
		released: true,
		criteria: [
			{ id: 'qg-opening', name: 'Opening', score: 10, maxScore: 10, failed: false },
			{ id: 'qg-compliance', name: 'Compliance', score: 10, maxScore: 10, failed: false },
			{ id: 'qg-resolution', name: 'Resolution', score: 10, maxScore: 10, failed: false },
		],
		revision: '2025-03-05T09:00:00.000Z',
		evaluatedAt: '2025-03-05T09:00:00.000Z',
		failedCritical: false,
		formName: 'Support QA',
	},
	source: 'genesys-cloud',
	conversationId: 'conv-wf-1',
	agentId: 'agent-wf',
	agent: { id: 'agent-wf' },
	training: { drivesTraining: true, rescore: false, retracted: false },
};

const FAILED = {
	evaluation: {
		id: 'eval-wf-fail',
		totalScore: 86.67,
		status: 'FINISHED',
		released: true,
		criteria: [
			{ id: 'qg-opening', name: 'Opening', score: 10, maxScore: 10, failed: false },
			{ id: 'qg-compliance', name: 'Compliance', score: 10, maxScore: 10, failed: false },
			// 6 of 10 is below the default 70 % threshold.
			{ id: 'qg-resolution', name: 'Resolution', score: 6, maxScore: 10, failed: true },
		],
		revision: '2025-03-05T09:00:00.000Z',
		evaluatedAt: '2025-03-05T09:00:00.000Z',
		failedCritical: false,
		formName: 'Support QA',
	},
	source: 'genesys-cloud',
	conversationId: 'conv-wf-1',
	agentId: 'agent-wf',
	agent: { id: 'agent-wf' },
	training: { drivesTraining: true, rescore: true, retracted: false },
};

describe('workflow: read Genesys Cloud quality evaluations (in-process n8n engine)', () => {
	let sim: GenesysSimulator;
	let quality: QualitySimulator;
	let credentials: Record<string, ICredentialDataDecryptedObject>;

	beforeAll(async () => {
		quality = createQualitySimulator();
		sim = await startGenesysSimulator({ extensions: [quality.extension] });
		quality.seedForm(FORM);
		quality.seedEvaluation(evaluation('eval-wf-pass', [10, 10, 10], { assignedDate: '2025-03-04T11:00:00.000Z' }));
		quality.seedEvaluation(evaluation('eval-wf-fail', [10, 10, 6], { assignedDate: '2025-03-04T12:00:00.000Z', rescore: true }));
		quality.seedEvaluation(evaluation('eval-wf-retracted', [10, 0, 10], { assignedDate: '2025-03-04T13:00:00.000Z', status: 'RETRACTED' }));
		quality.seedEvaluation(
			evaluation('eval-wf-unreleased', [10, 10, 10], { assignedDate: '2025-03-04T14:00:00.000Z', releaseDate: undefined }),
		);
		credentials = {
			genesysCloudApi: genesysCredentialData(sim),
		};
	});

	afterAll(async () => {
		await sim.close();
	});

	it('queries a conversation and outputs only finished, released evaluations with failed criteria marked', async () => {
		const result = await runWorkflow(workflow('conv-wf-1', { operation: 'query' }), { credentials });
		expect(result.error).toBeUndefined();
		expect(result.output('Evaluations')).toEqual([PASSED, FAILED]);
		// Only FINISHED ones were asked for; the form was read once for both.
		expect(quality.stats.queryRequests).toBe(1);
		expect(quality.stats.formRequests).toBe(1);
		const items = result.run.data.resultData.runData.Evaluations[0].data?.main[0] ?? [];
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);
	});

	it('with "Only Released and Finished" off, outputs every evaluation and says which ones must not drive training', async () => {
		const result = await runWorkflow(
			workflow('conv-wf-1', { operation: 'query', onlyReleasedFinished: false, criterionThresholdPct: 50, options: { includeRaw: true } }),
			{ credentials },
		);
		expect(result.error).toBeUndefined();
		const output = result.output('Evaluations');
		expect(output.map((item) => (item.evaluation as IDataObject).id)).toEqual([
			'eval-wf-pass',
			'eval-wf-fail',
			'eval-wf-retracted',
			'eval-wf-unreleased',
		]);
		expect(output.map((item) => item.training)).toEqual([
			{ drivesTraining: true, rescore: false, retracted: false },
			{ drivesTraining: true, rescore: true, retracted: false },
			{ drivesTraining: false, reason: 'retracted', rescore: false, retracted: true },
			{ drivesTraining: false, reason: 'unreleased', rescore: false, retracted: false },
		]);
		// At 50 % the 6/10 resolution passes; the retracted one failed its kill question.
		expect(((output[1].evaluation as IDataObject).criteria as IDataObject[])[2].failed).toBe(false);
		expect(((output[2].evaluation as IDataObject).criteria as IDataObject[])[1]).toEqual({
			id: 'qg-compliance',
			name: 'Compliance',
			score: 0,
			maxScore: 10,
			failed: true,
			critical: true,
		});
		expect((output[3].evaluation as IDataObject).released).toBe(false);
		expect((output[0].raw as IDataObject).id).toBe('eval-wf-pass');
		expect(((output[0].raw as IDataObject).agent as IDataObject).selfUri).toBe('/api/v2/users/agent-wf');
		// The form stayed cached in the node's process.
		expect(quality.stats.formRequests).toBe(1);
	});

	it('passes the interval to Genesys as ISO 8601 and refuses a start time that is not a date', async () => {
		const result = await runWorkflow(
			workflow('conv-wf-1', { operation: 'query', startTime: '2025-03-04T11:30:00+00:00', endTime: '2025-03-04T23:00:00.000Z' }),
			{ credentials },
		);
		expect(result.error).toBeUndefined();
		expect(result.output('Evaluations')).toEqual([FAILED]);
		const bad = await runWorkflow(workflow('conv-wf-1', { operation: 'query', startTime: 'next tuesday' }), { credentials });
		expect(bad.error).toBe('startTime is not a date: "next tuesday"');
	});

	it('gets one evaluation by conversation and evaluation id', async () => {
		const result = await runWorkflow(workflow('conv-wf-1', { operation: 'get' }), { credentials });
		expect(result.error).toBeUndefined();
		// Get expands the agent, so its name comes along (the query answers with the id only).
		expect(result.output('Evaluations')).toEqual([{ ...FAILED, agent: { id: 'agent-wf', name: 'Wren Agent' } }]);
	});

	it('names the field when the conversation id is not a safe id, without calling Genesys', async () => {
		const before = sim.stats.apiRequests;
		const result = await runWorkflow(workflow('../conv', { operation: 'query' }), { credentials });
		expect(result.error).toMatch(/^conversationId must be 1-128 characters/);
		expect(sim.stats.apiRequests).toBe(before);
	});

	it('reports an unknown evaluation as the 404 Genesys answered', async () => {
		const result = await runWorkflow(workflow('conv-other', { operation: 'get' }), { credentials });
		expect(result.error).toMatch(/HTTP 404: The requested resource was not found\./);
	});
});
