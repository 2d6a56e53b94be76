import type { IDataObject, INode } from 'n8n-workflow';

import { runWorkflow } from '../support/workflowHarness';

/** No Op (hands the test's items on) → Taxonomy Map. */
function flow(parameters: IDataObject, onError?: 'continueRegularOutput') {
	return {
		nodes: [
			{ id: '1', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: '2',
				name: 'Taxonomy Map',
				type: 'n8n-nodes-cx-training.taxonomyMap',
				typeVersion: 1,
				position: [200, 0],
				parameters,
				...(onError ? { onError } : {}),
			},
		] as unknown as INode[],
		connections: { Start: { main: [[{ node: 'Taxonomy Map', type: 'main' as const, index: 0 }]] } },
	};
}

const run = (parameters: IDataObject, items: IDataObject[], onError?: 'continueRegularOutput') =>
	runWorkflow(flow(parameters, onError), { triggerItems: items, startNode: 'Start' });

function evaluationItem(id: string, score: number, failed: string[], extra: IDataObject = {}): IDataObject {
	return {
		source: 'genesys-cloud',
		conversationId: `conv-${id}`,
		agentId: 'agent-7',
		evaluation: {
			id: `eval-${id}`,
			totalScore: score,
			status: 'FINISHED',
			released: true,
			criteria: ['Opening', 'Compliance', 'Empathy', 'Resolution'].map((name) => ({
				id: `qg-${name.toLowerCase()}`,
				name,
				score: failed.includes(name) ? 0 : 10,
				maxScore: 10,
				failed: failed.includes(name),
			})),
		},
		training: { drivesTraining: true, rescore: false, retracted: false },
		...extra,
	};
}

const RECORDING: IDataObject = {
	source: 'genesys-cloud',
	conversationId: 'conv-rec',
	recordingId: 'rec-1',
	stateKey: 'genesys-cloud:conv-rec:rec-1',
	agent: { id: 'agent-7' },
	queue: { id: 'q-404', name: 'Overflow' },
	mediaType: 'screen',
	startTime: '2026-01-05T10:00:00.000Z',
	pii: { verdict: 'clean', findings: [] },
};

const QUEUE_PARAMETERS: IDataObject = {
	queueMappings: { mapping: [{ queue: 'Billing Support', courseId: 'course-billing', category: 'Billing' }] },
	interactionTypeModules: { mapping: [{ interactionType: 'voice', moduleId: 'mod-voice-basics' }] },
};

const GUIDE_JSON = {
	mappings: {
		queues: { 'q-billing': { course: 'course-billing', category: 'Billing' } },
		criteria: { Compliance: ['mod-compliance-101'], Empathy: 'mod-soft-skills-empathy', Resolution: 'mod-product-knowledge' },
	},
	score_rules: [
		{ condition: 'score >= 90', asset_type: 'exemplar', tags: ['best-practice'], visibility: 'public' },
		{ condition: "critical_failed or 'Compliance' in criteria.failed", asset_type: 'compliance-review', tags: ['compliance'], assign_to: 'supervisor' },
		{ condition: 'score < 70', asset_type: 'coaching', tags: ['needs-coaching'], assign_to: 'agent' },
	],
	default: { course: 'course-cx-general', category: 'General' },
};

test('the default rules file each item, pick coaching or exemplar, map failed criteria and keep pairing', async () => {
	const items = [
		evaluationItem('low', 55, ['Compliance', 'Empathy'], { queue: { id: 'q-1', name: 'billing support' }, interactionType: 'voice' }),
		evaluationItem('top', 96, []),
		RECORDING,
	];
	const result = await run(QUEUE_PARAMETERS, items);
	expect(result.error).toBeUndefined();
	const output = result.output('Taxonomy Map');
	expect(output.map((item) => item.taxonomy)).toEqual([
		{
			courseId: 'course-billing',
			category: 'Billing',
			moduleId: 'mod-voice-basics',
			assetType: 'coaching',
			tags: ['needs-coaching'],
			visibility: 'private',
			remedialModuleIds: ['mod-compliance-101', 'mod-soft-skills-empathy'],
			assignTo: 'agent',
			matchedRules: [{ number: 2, name: 'Coaching', condition: 'score < 70' }],
			mappedBy: 'queue',
			unmapped: [],
		},
		{
			courseId: 'course-cx-general',
			category: 'General',
			assetType: 'exemplar',
			tags: ['best-practice'],
			visibility: 'public',
			remedialModuleIds: [],
			assignTo: 'none',
			matchedRules: [{ number: 1, name: 'Exemplar', condition: 'score >= 90' }],
			mappedBy: 'default',
			unmapped: ['queue'],
		},
		{
			courseId: 'course-cx-general',
			category: 'General',
			assetType: 'standard',
			tags: [],
			visibility: 'private',
			remedialModuleIds: [],
			assignTo: 'none',
			matchedRules: [],
			mappedBy: 'default',
			// 'screen' is not among the mapped interaction types.
			unmapped: ['queue', 'interaction_type'],
		},
	]);
	// The rest of each item passes through untouched.
	expect(output.map(({ taxonomy: _taxonomy, ...rest }) => rest)).toEqual(items);
	const runItems = result.run.data.resultData.runData['Taxonomy Map'][0].data?.main[0] ?? [];
	expect(runItems.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
});

test('JSON rules in all-match mode accumulate tags; the first rule to set asset type and assignee wins', async () => {
	const item = evaluationItem('crit', 62, ['Compliance'], { queue: { id: 'q-billing' } });
	const parameters = { rulesSource: 'json', rulesJson: JSON.stringify(GUIDE_JSON), matchMode: 'all' };
	const all = await run(parameters, [item]);
	expect(all.error).toBeUndefined();
	expect(all.output('Taxonomy Map')[0].taxonomy).toMatchObject({
		courseId: 'course-billing',
		assetType: 'compliance-review',
		assignTo: 'supervisor',
		tags: ['compliance', 'needs-coaching'],
		remedialModuleIds: ['mod-compliance-101'],
		matchedRules: [
			{ number: 2, condition: "critical_failed or 'Compliance' in criteria.failed" },
			{ number: 3, condition: 'score < 70' },
		],
	});
	// The same JSON naming first-match disagrees with the node's Match Mode: refused, not silently overridden.
	const conflicting = await run({ ...parameters, rulesJson: JSON.stringify({ ...GUIDE_JSON, match_mode: 'first' }) }, [item]);
	expect(conflicting.error).toContain(`the JSON says "first" but the node's Match Mode is "all"`);
});

test('Export Rules as JSON outputs the effective rule set, and importing it maps items exactly as the parameters do', async () => {
	const items = [evaluationItem('a', 55, ['Resolution'], { queue: { id: 'q', name: 'Billing Support' }, interactionType: 'voice' }), evaluationItem('b', 91, []), RECORDING];
	const exported = await run({ ...QUEUE_PARAMETERS, operation: 'export', matchMode: 'all' }, items);
	expect(exported.error).toBeUndefined();
	const [rulesItem, ...more] = exported.output('Taxonomy Map');
	expect(more).toEqual([]);
	expect(rulesItem.taxonomyRules).toEqual({
		version: 1,
		match_mode: 'all',
		mappings: {
			queues: { 'Billing Support': { course: 'course-billing', category: 'Billing' } },
			skills: {},
			interaction_types: { voice: { module: 'mod-voice-basics' } },
			criteria: {
				Compliance: { modules: ['mod-compliance-101'] },
				Empathy: { modules: ['mod-soft-skills-empathy'] },
				Resolution: { modules: ['mod-product-knowledge'] },
			},
		},
		score_rules: [
			{ name: 'Exemplar', condition: 'score >= 90', asset_type: 'exemplar', tags: ['best-practice'], visibility: 'public' },
			{ name: 'Coaching', condition: 'score < 70', asset_type: 'coaching', tags: ['needs-coaching'], assign_to: 'agent' },
		],
		default: { course: 'course-cx-general', category: 'General', asset_type: 'standard' },
	});
	expect(JSON.parse(rulesItem.taxonomyRulesText as string)).toEqual(rulesItem.taxonomyRules);

	const fromParameters = await run({ ...QUEUE_PARAMETERS, matchMode: 'all' }, items);
	const fromJson = await run({ rulesSource: 'json', rulesJson: rulesItem.taxonomyRulesText, matchMode: 'all' }, items);
	expect(fromJson.error).toBeUndefined();
	expect(fromJson.output('Taxonomy Map')).toEqual(fromParameters.output('Taxonomy Map'));
	expect((fromJson.output('Taxonomy Map')[0].taxonomy as IDataObject).remedialModuleIds).toEqual(['mod-product-knowledge']);
});

test('an invalid score rule fails the node naming the rule, its text and position, before any item is mapped', async () => {
	const parameters = {
		scoreRules: {
			rule: [
				{ name: 'Exemplar', condition: 'score >= 90', assetType: 'exemplar' },
				{ name: 'Compliance', condition: "score < 70 and criteria.failed contains Compliance'", assetType: 'coaching' },
			],
		},
	};
	const result = await run(parameters, [evaluationItem('x', 50, [])]);
	expect(result.error).toBe(
		`Invalid taxonomy rules: Score rule 2 (Compliance) "score < 70 and criteria.failed contains Compliance'" is invalid at column 51: expected the closing ' of the text that starts here but found the end of the condition`,
	);
	expect(result.output('Taxonomy Map')).toEqual([]);

	// With On Error = continue, n8n hands the input on unchanged: still no item gets a taxonomy, and the node run carries the error.
	const continued = await run(parameters, [evaluationItem('x', 50, [])], 'continueRegularOutput');
	const task = continued.run.data.resultData.runData['Taxonomy Map'][0];
	expect(task.error?.message).toContain('Score rule 2 (Compliance)');
	expect(continued.output('Taxonomy Map').every((item) => item.taxonomy === undefined)).toBe(true);
});

test('a bad item fails with the field named; with On Error = continue it carries the error and the others are mapped', async () => {
	const bad = evaluationItem('bad', 50, []);
	(bad.evaluation as IDataObject).totalScore = 150;
	const stopped = await run({}, [evaluationItem('ok', 95, []), bad]);
	expect(stopped.error).toBe('evaluation.totalScore must be a number from 0 to 100, found 150');
	const errorDescription = stopped.run.data.resultData.error as unknown as { description?: string; context?: { itemIndex?: number } };
	expect(errorDescription.description).toContain('Field: evaluation.totalScore');
	expect(errorDescription.context?.itemIndex).toBe(1);

	const continued = await run({}, [evaluationItem('ok', 95, []), bad, { conversationId: 'neither' }], 'continueRegularOutput');
	expect(continued.error).toBeUndefined();
	const output = continued.output('Taxonomy Map');
	expect((output[0].taxonomy as IDataObject).assetType).toBe('exemplar');
	expect(output[1]).toEqual({ ...bad, error: 'evaluation.totalScore must be a number from 0 to 100, found 150' });
	expect(output[2].error).toBe('The item is neither a recording reference (no recordingId) nor an evaluation (no evaluation)');
	expect(output[2].taxonomy).toBeUndefined();
});
