import { NodeApiError, type INode } from 'n8n-workflow';

import { clearGenesysTokenCache, GenesysClient } from '../../nodes/shared/ccaas/genesys/client';
import {
	clearEvaluationFormCache,
	drivesTraining,
	evaluationFormFor,
	getEvaluation,
	getEvaluationForm,
	isReleased,
	normaliseEvaluation,
	normaliseQualityEvent,
	queryEvaluations,
	summariseEvaluation,
	trainingDecision,
	type EvaluationForm,
	type EvaluationQuestionGroupScore,
	type EvaluationResponse,
	parseQualityEvents,
} from '../../nodes/shared/ccaas/genesys/evaluations';
import { InvalidIdError } from '../../nodes/shared/ids';
import { toNodeError } from '../../nodes/shared/n8n/errors';
import { HttpError } from '../../nodes/shared/transport/errors';
import { startGenesysSimulator, type GenesysSimulator } from '../simulators/genesysCloud';
import { createQualitySimulator, type QualitySimulator } from '../simulators/genesysQuality';
import { rejection, simulatorGenesysCredentials } from '../support/genesys';

const yesNo = (prefix: string, yes: number) => [
	{ id: `${prefix}-yes`, text: 'Yes', value: yes },
	{ id: `${prefix}-no`, text: 'No', value: 0 },
];
const partly = (prefix: string) => [
	{ id: `${prefix}-fully`, text: 'Fully', value: 10 },
	{ id: `${prefix}-partly`, text: 'Partly', value: 6 },
	{ id: `${prefix}-not`, text: 'Not at all', value: 0 },
];

const FORM: EvaluationForm = {
	id: 'form-billing-v3',
	name: 'Billing QA',
	contextId: 'ctx-billing',
	published: true,
	questionGroups: [
		{
			id: 'qg-greeting',
			name: 'Greeting',
			weight: 1,
			questions: [
				{ id: 'q-name', text: 'Did the agent give their name?', type: 'multipleChoiceQuestion', answerOptions: yesNo('a-name', 5) },
				{ id: 'q-tone', text: 'Was the tone friendly?', type: 'multipleChoiceQuestion', answerOptions: yesNo('a-tone', 5) },
			],
		},
		{
			id: 'qg-compliance',
			name: 'Compliance',
			weight: 1,
			questions: [
				{ id: 'q-verify', text: 'Was the caller verified?', type: 'multipleChoiceQuestion', isKill: true, answerOptions: yesNo('a-verify', 5) },
				{
					id: 'q-disclosure',
					text: 'Was the fee disclosure read?',
					type: 'multipleChoiceQuestion',
					isCritical: true,
					answerOptions: [
						{ id: 'a-disc-full', text: 'In full', value: 10 },
						{ id: 'a-disc-part', text: 'In part', value: 5 },
						{ id: 'a-disc-none', text: 'No', value: 0 },
					],
				},
			],
		},
		{
			id: 'qg-resolution',
			name: 'Resolution',
			weight: 1,
			questions: [
				{ id: 'q-resolved', text: 'Was the issue resolved?', type: 'multipleChoiceQuestion', answerOptions: partly('a-res') },
				{ id: 'q-next', text: 'Were next steps explained?', type: 'multipleChoiceQuestion', answerOptions: partly('a-next') },
			],
		},
	],
};

const AGENT = { id: 'agent-a', name: 'Ada Agent', email: 'ada@example.com' };
const EVALUATOR = { id: 'evaluator-q', name: 'Quinn Reviewer' };

interface Answers {
	greeting: [number, number];
	compliance: [number, number];
	resolution: [number, number];
}

/** A REST evaluation whose group and total scores follow from the answers, as Genesys computes them. */
function evaluationFixture(id: string, answers: Answers, overrides: Partial<EvaluationResponse> = {}): EvaluationResponse {
	const killFailed = answers.compliance[0] < 5;
	const group = (groupId: string, questionIds: [string, string], scores: [number, number], max: number): EvaluationQuestionGroupScore => ({
		questionGroupId: groupId,
		totalScore: scores[0] + scores[1],
		maxTotalScore: max,
		markedNA: false,
		questionScores: questionIds.map((questionId, index) => ({
			questionId,
			answerId: `${questionId}-answer`,
			score: scores[index],
			markedNA: false,
			...(questionId === 'q-verify' ? { failedKillQuestion: killFailed } : {}),
		})),
	});
	const groups = [
		group('qg-greeting', ['q-name', 'q-tone'], answers.greeting, 10),
		group('qg-compliance', ['q-verify', 'q-disclosure'], answers.compliance, 15),
		group('qg-resolution', ['q-resolved', 'q-next'], answers.resolution, 20),
	];
	const sum = groups.reduce((total, g) => total + (g.totalScore ?? 0), 0);
	return {
		id,
		name: `Evaluation ${id}`,
		conversation: { id: 'conv-1' },
		evaluationForm: { id: FORM.id, name: FORM.name },
		agent: AGENT,
		evaluator: EVALUATOR,
		status: 'FINISHED',
		// A failed kill question zeroes the whole form.
		answers: { totalScore: killFailed ? 0 : (sum / 45) * 100, anyFailedKillQuestions: killFailed, questionGroupScores: groups },
		assignedDate: '2025-03-04T11:00:00.000Z',
		releaseDate: '2025-03-05T09:00:00.000Z',
		neverRelease: false,
		rescore: false,
		agentHasRead: false,
		...overrides,
	};
}

const CLEAN = evaluationFixture('eval-clean', { greeting: [5, 5], compliance: [5, 10], resolution: [6, 6] });
const KILL = evaluationFixture('eval-kill', { greeting: [5, 5], compliance: [0, 10], resolution: [10, 10] });
const CRITICAL = evaluationFixture('eval-critical', { greeting: [5, 0], compliance: [5, 5], resolution: [10, 6] });

const NODE: INode = {
	id: 'node-1',
	name: 'Genesys Cloud',
	type: 'n8n-nodes-cx-training.genesysCloud',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};


let sim: GenesysSimulator;
let quality: QualitySimulator;
let client: GenesysClient;

beforeAll(async () => {
	quality = createQualitySimulator();
	sim = await startGenesysSimulator({ extensions: [quality.extension] });
	quality.seedForm(FORM);
	for (const evaluation of [CLEAN, KILL, CRITICAL]) quality.seedEvaluation(evaluation);
	quality.seedEvaluation(
		evaluationFixture('eval-never', { greeting: [5, 5], compliance: [5, 10], resolution: [10, 10] }, { neverRelease: true, assignedDate: '2025-03-04T12:00:00.000Z' }),
	);
	quality.seedEvaluation(
		evaluationFixture('eval-retracted', { greeting: [5, 5], compliance: [5, 10], resolution: [10, 10] }, { status: 'RETRACTED', rescore: true, assignedDate: '2025-03-04T13:00:00.000Z' }),
	);
	quality.seedEvaluation(
		evaluationFixture('eval-progress', { greeting: [5, 5], compliance: [5, 10], resolution: [10, 10] }, { status: 'INPROGRESS', releaseDate: undefined, assignedDate: '2025-03-04T14:00:00.000Z' }),
	);
	// 60 released evaluations of one agent: three pages of 25.
	for (let n = 1; n <= 60; n++) {
		const day = String(1 + Math.floor((n - 1) / 24)).padStart(2, '0');
		const hour = String((n - 1) % 24).padStart(2, '0');
		quality.seedEvaluation(
			evaluationFixture(`eval-many-${String(n).padStart(2, '0')}`, { greeting: [5, 5], compliance: [5, 10], resolution: [10, 10] }, {
				conversation: { id: `conv-many-${n}` },
				agent: { id: 'agent-many', name: 'Mo Many' },
				assignedDate: `2025-02-${day}T${hour}:00:00.000Z`,
				releaseDate: `2025-02-${day}T${hour}:30:00.000Z`,
			}),
		);
	}
});

afterAll(async () => {
	await sim.close();
});

beforeEach(() => {
	clearGenesysTokenCache();
	clearEvaluationFormCache();
	quality.resetStats();
	quality.setPagingStyle('full');
	client = new GenesysClient(simulatorGenesysCredentials(sim));
});

describe('normaliseEvaluation', () => {
	it('maps group scores to criteria named from the form, failing the group below the threshold', () => {
		expect(normaliseEvaluation(CLEAN, FORM)).toEqual({
			id: 'eval-clean',
			totalScore: 82.22,
			status: 'FINISHED',
			released: true,
			criteria: [
				{ id: 'qg-greeting', name: 'Greeting', score: 10, maxScore: 10, failed: false },
				{ id: 'qg-compliance', name: 'Compliance', score: 15, maxScore: 15, failed: false },
				{ id: 'qg-resolution', name: 'Resolution', score: 12, maxScore: 20, failed: true },
			],
			revision: CLEAN.changedDate ?? CLEAN.releaseDate,
			evaluatedAt: CLEAN.submittedDate ?? CLEAN.releaseDate,
			failedCritical: false,
			formName: FORM.name,
		});
		// 12/20 = 60 %: failed below 70, passed at exactly 60.
		expect(normaliseEvaluation(CLEAN, FORM, { criterionThresholdPct: 60 }).criteria.map((c) => c.failed)).toEqual([false, false, false]);
	});

	it('fails a group with a failed kill question whatever the threshold', () => {
		const normalised = normaliseEvaluation(KILL, FORM, { criterionThresholdPct: 0 });
		expect(normalised.totalScore).toBe(0);
		expect(normalised.criteria).toEqual([
			{ id: 'qg-greeting', name: 'Greeting', score: 10, maxScore: 10, failed: false },
			{ id: 'qg-compliance', name: 'Compliance', score: 10, maxScore: 15, failed: true, critical: true },
			{ id: 'qg-resolution', name: 'Resolution', score: 20, maxScore: 20, failed: false },
		]);
		expect(normalised.failedCritical).toBe(true);
	});

	it('fails a kill question answered below its best value even without the failedKillQuestion flag', () => {
		const unflagged = structuredClone(KILL);
		for (const group of unflagged.answers?.questionGroupScores ?? []) {
			for (const question of group.questionScores ?? []) delete question.failedKillQuestion;
		}
		expect(normaliseEvaluation(unflagged, FORM, { criterionThresholdPct: 0 }).criteria[1].failed).toBe(true);
		// Without the form nothing says the question is a kill question.
		expect(normaliseEvaluation(unflagged, undefined, { criterionThresholdPct: 0 }).criteria[1]).toEqual({
			id: 'qg-compliance',
			name: 'qg-compliance',
			score: 10,
			maxScore: 15,
			failed: false,
		});
	});

	it('fails a group whose critical question scored below its maximum, and applies the threshold at its boundary', () => {
		const at50 = normaliseEvaluation(CRITICAL, FORM, { criterionThresholdPct: 50 });
		expect(at50.totalScore).toBe(68.89);
		expect(at50.criteria).toEqual([
			// 5/10 = 50 % is not below 50.
			{ id: 'qg-greeting', name: 'Greeting', score: 5, maxScore: 10, failed: false },
			// 10/15 = 66.7 % passes a 50 % threshold; the disclosure (critical, 5 of 10) fails it.
			{ id: 'qg-compliance', name: 'Compliance', score: 10, maxScore: 15, failed: true, critical: true },
			{ id: 'qg-resolution', name: 'Resolution', score: 16, maxScore: 20, failed: false },
		]);
		expect(normaliseEvaluation(CRITICAL, FORM, { criterionThresholdPct: 51 }).criteria[0].failed).toBe(true);
	});

	it('never fails a group marked N/A', () => {
		const na = structuredClone(CRITICAL);
		const compliance = na.answers?.questionGroupScores?.[1] as EvaluationQuestionGroupScore;
		compliance.markedNA = true;
		compliance.totalScore = 0;
		compliance.maxTotalScore = 0;
		expect(normaliseEvaluation(na, FORM).criteria[1]).toEqual({ id: 'qg-compliance', name: 'Compliance', score: 0, maxScore: 0, failed: false });
	});

	it('clamps the total score to 0..100, rounds to two decimals and refuses a threshold outside 0..100', () => {
		const bare = (totalScore: number): EvaluationResponse => ({ id: 'e', status: 'FINISHED', answers: { totalScore } });
		expect(normaliseEvaluation(bare(104.5), undefined).totalScore).toBe(100);
		expect(normaliseEvaluation(bare(-3), undefined).totalScore).toBe(0);
		expect(normaliseEvaluation(bare(66.666666), undefined).totalScore).toBe(66.67);
		expect(normaliseEvaluation({ id: 'e' }, undefined)).toEqual({ id: 'e', totalScore: 0, status: '', released: false, criteria: [], failedCritical: false });
		expect(() => normaliseEvaluation(CLEAN, FORM, { criterionThresholdPct: 120 })).toThrow('between 0 and 100; got 120');
	});
});

describe('released and training decisions', () => {
	it('is released only with a release date and without "Never Release"', () => {
		expect(isReleased({ releaseDate: '2025-03-05T09:00:00.000Z' })).toBe(true);
		expect(isReleased({ releaseDate: '2025-03-05T09:00:00.000Z', neverRelease: true })).toBe(false);
		expect(isReleased({ neverRelease: false })).toBe(false);
	});

	it('drives training only for finished, released, visible evaluations; reports rescore and retraction', async () => {
		const never = await getEvaluation(client, 'conv-1', 'eval-never');
		expect(normaliseEvaluation(never, FORM).released).toBe(false);
		expect(trainingDecision(never)).toEqual({ drivesTraining: false, reason: 'unreleased', rescore: false, retracted: false });
		expect(drivesTraining(never, { includeUnreleased: true })).toBe(true);

		const retracted = await getEvaluation(client, 'conv-1', 'eval-retracted');
		expect(retracted.status).toBe('RETRACTED');
		expect(drivesTraining(retracted)).toBe(false);
		expect(drivesTraining(retracted, { includeUnreleased: true })).toBe(false);
		expect(trainingDecision(retracted)).toEqual({ drivesTraining: false, reason: 'retracted', rescore: true, retracted: true });

		const inProgress = await getEvaluation(client, 'conv-1', 'eval-progress');
		expect(trainingDecision(inProgress, { includeUnreleased: true })).toEqual({ drivesTraining: false, reason: 'not-finished', rescore: false, retracted: false });

		expect(trainingDecision({ ...CLEAN, redacted: true })).toEqual({ drivesTraining: false, reason: 'redacted', rescore: false, retracted: false });
		expect(trainingDecision(CLEAN)).toEqual({ drivesTraining: true, rescore: false, retracted: false });
	});
});

describe('getEvaluation', () => {
	it('reads one evaluation with the agent and form expanded, needing no separate form request', async () => {
		const evaluation = await getEvaluation(client, 'conv-1', 'eval-critical');
		expect(evaluation.agent).toEqual(AGENT);
		expect(evaluation.evaluator).toEqual({ id: 'evaluator-q', selfUri: '/api/v2/users/evaluator-q' });
		expect(evaluation.answers?.questionGroupScores).toHaveLength(3);
		const form = await evaluationFormFor(client, evaluation);
		expect(form?.questionGroups?.map((group) => group.name)).toEqual(['Greeting', 'Compliance', 'Resolution']);
		expect(quality.stats).toMatchObject({ evaluationRequests: 1, formRequests: 0 });
		expect(summariseEvaluation(evaluation, form, { criterionThresholdPct: 50 })).toEqual({
			source: 'genesys-cloud',
			agent: { id: AGENT.id, name: AGENT.name },
			evaluation: normaliseEvaluation(CRITICAL, FORM, { criterionThresholdPct: 50 }),
			conversationId: 'conv-1',
			agentId: 'agent-a',
			training: { drivesTraining: true, rescore: false, retracted: false },
		});
		expect(sim.stats.byPath['GET /api/v2/quality/conversations/conv-1/evaluations/eval-critical']).toBe(1);
	});

	it('maps an unknown evaluation, a wrong conversation and an unknown form to HTTP 404 / NodeApiError', async () => {
		const missing = await rejection(getEvaluation(client, 'conv-1', 'eval-missing'));
		expect(missing).toBeInstanceOf(HttpError);
		expect((missing as HttpError).status).toBe(404);
		expect((missing as HttpError).vendorCode).toBe('not.found');
		expect(missing.message).toBe(
			`GET ${sim.baseUrl}/api/v2/quality/conversations/conv-1/evaluations/eval-missing failed with HTTP 404: The requested resource was not found.`,
		);
		const nodeError = toNodeError(NODE, missing, 2);
		expect(nodeError).toBeInstanceOf(NodeApiError);
		expect((nodeError as NodeApiError).httpCode).toBe('404');
		expect(nodeError.context.itemIndex).toBe(2);

		const elsewhere = await rejection(getEvaluation(client, 'conv-other', 'eval-clean'));
		expect((elsewhere as HttpError).status).toBe(404);
		const form = await rejection(getEvaluationForm(client, 'form-missing'));
		expect((form as HttpError).status).toBe(404);
		expect(quality.stats.notFound).toBe(3);
	});

	it('refuses ids that are not safe path segments before any request', async () => {
		const before = sim.stats.apiRequests;
		const error = await rejection(getEvaluation(client, '../conversations', 'eval-clean'));
		expect(error).toBeInstanceOf(InvalidIdError);
		expect((error as InvalidIdError).field).toBe('conversationId');
		expect(sim.stats.apiRequests).toBe(before);
	});
});

describe('queryEvaluations', () => {
	const manyIds = Array.from({ length: 60 }, (_, i) => `eval-many-${String(i + 1).padStart(2, '0')}`);

	it('reads all three pages of an agent, in release order, with answers, fetching the form once', async () => {
		const evaluations = await queryEvaluations(client, { agentUserId: 'agent-many' });
		expect(evaluations.map((evaluation) => evaluation.id)).toEqual(manyIds);
		expect(quality.stats.queryRequests).toBe(3);
		expect(evaluations.every((evaluation) => evaluation.answers?.questionGroupScores?.length === 3)).toBe(true);
		const summaries = [];
		for (const evaluation of evaluations) {
			summaries.push(summariseEvaluation(evaluation, await evaluationFormFor(client, evaluation)));
		}
		expect(quality.stats.formRequests).toBe(1);
		expect(summaries[59]).toEqual({
			source: 'genesys-cloud',
			// The query answers with the agent's id only (no expand).
			agent: { id: 'agent-many' },
			evaluation: {
				id: 'eval-many-60',
				totalScore: 100,
				status: 'FINISHED',
				released: true,
				criteria: [
					{ id: 'qg-greeting', name: 'Greeting', score: 10, maxScore: 10, failed: false },
					{ id: 'qg-compliance', name: 'Compliance', score: 15, maxScore: 15, failed: false },
					{ id: 'qg-resolution', name: 'Resolution', score: 20, maxScore: 20, failed: false },
				],
				revision: evaluations[59].changedDate ?? evaluations[59].releaseDate,
				evaluatedAt: evaluations[59].submittedDate ?? evaluations[59].releaseDate,
				failedCritical: false,
				formName: FORM.name,
			},
			conversationId: 'conv-many-60',
			agentId: 'agent-many',
			training: { drivesTraining: true, rescore: false, retracted: false },
		});
	});

	it('follows nextUri alone and pageCount alone, and any page size', async () => {
		quality.setPagingStyle('nextUriOnly');
		expect((await queryEvaluations(client, { agentUserId: 'agent-many' })).map((e) => e.id)).toEqual(manyIds);
		expect(quality.stats.queryRequests).toBe(3);
		quality.setPagingStyle('pageCountOnly');
		expect((await queryEvaluations(client, { agentUserId: 'agent-many' })).map((e) => e.id)).toEqual(manyIds);
		expect(quality.stats.queryRequests).toBe(6);
		quality.setPagingStyle('full');
		expect(await queryEvaluations(client, { agentUserId: 'agent-many' }, { pageSize: 7 })).toHaveLength(60);
		expect(quality.stats.queryRequests).toBe(6 + 9);
	});

	it('keeps each evaluation once when one created mid-paging shifts the pages', async () => {
		quality.onQuery((pageNumber) => {
			if (pageNumber !== 2) return;
			// Released before every other one of this agent: sorts first and pushes eval-many-25 onto page 2 again.
			quality.seedEvaluation(
				evaluationFixture('eval-many-00', { greeting: [5, 5], compliance: [5, 10], resolution: [10, 10] }, {
					conversation: { id: 'conv-many-0' },
					agent: { id: 'agent-many', name: 'Mo Many' },
					releaseDate: '2025-01-31T00:00:00.000Z',
				}),
			);
		});
		try {
			const ids = (await queryEvaluations(client, { agentUserId: 'agent-many' })).map((e) => e.id);
			expect(ids).toEqual(manyIds);
			expect(quality.stats.queryRequests).toBe(3);
		} finally {
			quality.onQuery(undefined);
			quality.deleteEvaluation('eval-many-00');
		}
	});

	it('refuses to read more pages than allowed instead of truncating silently', async () => {
		const error = await rejection(queryEvaluations(client, { agentUserId: 'agent-many' }, { pageSize: 10, maxPages: 5 }));
		expect(error.message).toBe('The evaluation query has more than 5 pages; narrow it with a start and end time');
		expect(quality.stats.queryRequests).toBe(5);
	});

	it('filters by conversation, state and interval; by agent it leaves out "Never Release"', async () => {
		const byConversation = await queryEvaluations(client, { conversationId: 'conv-1' });
		expect(byConversation.map((e) => e.id)).toEqual(['eval-clean', 'eval-critical', 'eval-kill', 'eval-never', 'eval-retracted', 'eval-progress']);
		const finished = await queryEvaluations(client, { conversationId: 'conv-1', evaluationState: ['FINISHED'] });
		expect(finished.map((e) => e.id)).toEqual(['eval-clean', 'eval-critical', 'eval-kill', 'eval-never']);
		const byAgent = await queryEvaluations(client, { agentUserId: 'agent-a' });
		expect(byAgent.map((e) => e.id)).not.toContain('eval-never');
		expect(byAgent).toHaveLength(5);
		const interval = await queryEvaluations(client, {
			agentUserId: 'agent-many',
			startTime: '2025-02-02T00:00:00.000Z',
			endTime: '2025-02-03T00:00:00.000Z',
		});
		expect(interval.map((e) => e.id)).toEqual(manyIds.slice(24, 48));
	});

	it('gets answers only with expandAnswerTotalScores=true (the raw API)', async () => {
		const plain = await client.api<{ entities: EvaluationResponse[] }>({
			method: 'GET',
			path: '/api/v2/quality/evaluations/query',
			query: { conversationId: 'conv-1', pageSize: 2 },
		});
		expect(plain.body.entities).toHaveLength(2);
		expect(plain.body.entities[0].answers).toBeUndefined();
		expect(plain.body.entities[0].agent).toEqual({ id: 'agent-a', selfUri: '/api/v2/users/agent-a' });
		const expanded = await client.api<{ entities: EvaluationResponse[] }>({
			method: 'GET',
			path: '/api/v2/quality/evaluations/query',
			query: { conversationId: 'conv-1', pageSize: 2, expandAnswerTotalScores: true },
		});
		expect(expanded.body.entities[0].answers?.totalScore).toBeCloseTo(82.2222, 3);
	});

	it('maps a query without conversation or user to HTTP 400, and never sends one itself', async () => {
		const error = await rejection(
			client.api({ method: 'GET', path: '/api/v2/quality/evaluations/query', query: { pageSize: 25, expandAnswerTotalScores: true } }),
		);
		expect(error).toBeInstanceOf(HttpError);
		expect((error as HttpError).status).toBe(400);
		expect((error as HttpError).vendorCode).toBe('bad.request');
		expect(error.message).toContain('Query params must include one of conversationId, evaluatorUserId, agentUserId or assigneeUserId');
		expect((toNodeError(NODE, error, 0) as NodeApiError).httpCode).toBe('400');
		expect(quality.stats.badRequests).toBe(1);

		const before = sim.stats.apiRequests;
		const local = await rejection(queryEvaluations(client, {}));
		expect(local.message).toBe('An evaluation query needs a Conversation ID or an Agent User ID');
		expect(sim.stats.apiRequests).toBe(before);
	});
});

describe('getEvaluationForm cache', () => {
	it('shares one request between concurrent and later callers until the entry is older than allowed', async () => {
		const [a, b, c] = await Promise.all([1, 2, 3].map(() => getEvaluationForm(client, FORM.id)));
		expect(a).toBe(b);
		expect(b).toBe(c);
		expect(a.questionGroups?.[1].questions?.[0].isKill).toBe(true);
		await getEvaluationForm(client, FORM.id);
		expect(quality.stats.formRequests).toBe(1);
		await getEvaluationForm(client, FORM.id, { maxAgeMs: 0 });
		expect(quality.stats.formRequests).toBe(2);
		clearEvaluationFormCache();
		await getEvaluationForm(client, FORM.id);
		expect(quality.stats.formRequests).toBe(3);
	});
});

describe('normaliseQualityEvent (v2.quality.evaluations)', () => {
	const body = {
		id: 'eval-evt-1',
		conversationId: 'conv-1',
		agent: { id: 'agent-a', displayName: 'Ada Agent' },
		evaluator: { id: 'evaluator-q', displayName: 'Quinn Reviewer' },
		eventTime: '2025-03-05T09:00:01.000Z',
		evaluationFormId: 'form-billing-v3',
		formName: 'Billing QA',
		contextId: 'ctx-billing',
		scoringSet: { totalScore: 82, totalCriticalScore: 100 },
		status: 'Finished',
		previousStatus: 'InProgress',
		agentHasRead: false,
		releaseDate: '2025-03-05T09:00:00.000Z',
		assignedDate: '2025-03-04T11:00:00.000Z',
		changedDate: '2025-03-05T09:00:00.000Z',
		eventType: 'Update',
		rescore: true,
		rescoreCount: 1,
		conversationDate: 1741082400000,
		mediaType: ['Call'],
		version: 3,
	};
	const expected: EvaluationResponse = {
		id: 'eval-evt-1',
		conversation: { id: 'conv-1' },
		agent: { id: 'agent-a', name: 'Ada Agent' },
		evaluator: { id: 'evaluator-q', name: 'Quinn Reviewer' },
		evaluationForm: { id: 'form-billing-v3', name: 'Billing QA', contextId: 'ctx-billing' },
		status: 'FINISHED',
		answers: { totalScore: 82, totalCriticalScore: 100 },
		agentHasRead: false,
		releaseDate: '2025-03-05T09:00:00.000Z',
		assignedDate: '2025-03-04T11:00:00.000Z',
		changedDate: '2025-03-05T09:00:00.000Z',
		conversationDate: '2025-03-04T10:00:00.000Z',
		rescore: true,
		mediaType: ['Call'],
	};

	it('turns the Pascal-case, integer-scored topic body into the REST shape, from any envelope', () => {
		expect(normaliseQualityEvent(body)).toEqual(expected);
		expect(normaliseQualityEvent({ topicName: 'v2.quality.evaluations', eventBody: body })).toEqual(expected);
		expect(normaliseQualityEvent({ 'detail-type': 'v2.quality.evaluations', detail: { topicName: 'v2.quality.evaluations', eventBody: body } })).toEqual(expected);
	});

	it('normalises like a REST evaluation without criteria and reports the rescore', () => {
		const evaluation = normaliseQualityEvent(body);
		expect(normaliseEvaluation(evaluation, FORM)).toEqual({
			id: 'eval-evt-1',
			totalScore: 82,
			status: 'FINISHED',
			released: true,
			criteria: [],
			revision: evaluation.changedDate ?? evaluation.releaseDate,
			evaluatedAt: evaluation.submittedDate ?? evaluation.releaseDate,
			failedCritical: false,
			formName: FORM.name,
		});
		expect(evaluation.changedDate ?? evaluation.releaseDate).toMatch(/^\d{4}-/);
		expect(trainingDecision(evaluation)).toEqual({ drivesTraining: true, rescore: true, retracted: false });
	});

	it('reads InProgress, InReview and Retracted as the REST statuses', () => {
		expect(normaliseQualityEvent({ ...body, status: 'InProgress' }).status).toBe('INPROGRESS');
		expect(normaliseQualityEvent({ ...body, status: 'InReview' }).status).toBe('INREVIEW');
		const retracted = normaliseQualityEvent({ ...body, status: 'Retracted' });
		expect(retracted.status).toBe('RETRACTED');
		expect(trainingDecision(retracted)).toEqual({ drivesTraining: false, reason: 'retracted', rescore: true, retracted: true });
	});

	it('refuses an event without an id or a body that is not an object', () => {
		expect(() => normaliseQualityEvent({ ...body, id: undefined })).toThrow('The quality evaluation event has no id');
		expect(() => normaliseQualityEvent('Finished')).toThrow('The quality evaluation event is not a JSON object');
	});
});

describe('parseQualityEvents (the trigger’s Quality Evaluation Changed family)', () => {
	const body = {
		id: 'eval-77',
		conversationId: 'conv-77',
		agent: { id: 'agent-77', displayName: 'Agent' },
		evaluationFormId: 'form-1',
		scoringSet: { totalScore: 64, totalCriticalScore: 100 },
		status: 'Finished',
		releaseDate: '2026-11-20T10:00:00.000Z',
		rescore: true,
	};

	it('reads the EventBridge envelope, the notification message and the bare body alike', () => {
		const shapes = [
			{ detail: { topicName: 'v2.quality.evaluations', eventBody: body } },
			{ topicName: 'v2.quality.evaluations', eventBody: body },
			body,
		];
		for (const shape of shapes) {
			const [item] = parseQualityEvents(shape);
			expect(item).toMatchObject({
				evaluationId: 'eval-77',
				conversationId: 'conv-77',
				agentId: 'agent-77',
				status: 'FINISHED',
				totalScore: 64,
				released: true,
				rescore: true,
				retracted: false,
			});
		}
	});

	it('flags a retracted evaluation and reads one item per array element', () => {
		const items = parseQualityEvents([body, { ...body, id: 'eval-78', status: 'Retracted' }]);
		expect(items.map((item) => [item.evaluationId, item.retracted])).toEqual([
			['eval-77', false],
			['eval-78', true],
		]);
	});

	it('names the field of a missing id or an unsafe conversation id', () => {
		expect(() => parseQualityEvents({ detail: { eventBody: { ...body, id: undefined } } })).toThrow(
			expect.objectContaining({ field: 'detail.eventBody.id' }),
		);
		expect(() => parseQualityEvents([body, { ...body, conversationId: '../x' }])).toThrow(
			expect.objectContaining({ field: '[1].conversationId' }),
		);
	});
});
