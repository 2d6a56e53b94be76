import type { INodeProperties } from 'n8n-workflow';

import { TaxonomyMap } from '../../nodes/TaxonomyMap/TaxonomyMap.node';
import {
	applyTaxonomy,
	compileTaxonomy,
	DEFAULT_RULES,
	exportRules,
	itemFacts,
	loadRules,
	parametersFromRules,
	parseRulesJson,
	rulesFromParameters,
	TaxonomyConfigError,
	TaxonomyInputError,
	type TaxonomyParameters,
	type TaxonomyRules,
} from '../../nodes/shared/taxonomy';

/** An EvaluationItem (evaluation half) as Genesys Cloud → Evaluations outputs it. */
function evaluationItem(score: number, failed: string[] = [], extra: Record<string, unknown> = {}) {
	const names = ['Opening', 'Compliance', 'Empathy', 'Resolution'];
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		agentId: 'agent-7',
		evaluation: {
			id: 'eval-1',
			totalScore: score,
			status: 'FINISHED',
			released: true,
			criteria: names.map((name) => ({ id: `qg-${name.toLowerCase()}`, name, score: failed.includes(name) ? 2 : 10, maxScore: 10, failed: failed.includes(name) })),
		},
		training: { drivesTraining: true, rescore: false, retracted: false },
		...extra,
	};
}

/** A RecordingRef (recording half) before its evaluation arrived. */
function recordingRef(extra: Record<string, unknown> = {}) {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId: 'rec-1',
		stateKey: 'genesys-cloud:conv-1:rec-1',
		agent: { id: 'agent-7' },
		mediaType: 'screen',
		startTime: '2026-01-05T10:00:00.000Z',
		...extra,
	};
}

const map = (rules: TaxonomyRules, item: unknown, matchMode = rules.match_mode) => applyTaxonomy(compileTaxonomy(rules, matchMode), itemFacts(item));

function configError(run: () => unknown): TaxonomyConfigError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(TaxonomyConfigError);
		return error as TaxonomyConfigError;
	}
	throw new Error('the rules were accepted');
}

function inputError(item: unknown): TaxonomyInputError {
	try {
		itemFacts(item);
	} catch (error) {
		expect(error).toBeInstanceOf(TaxonomyInputError);
		return error as TaxonomyInputError;
	}
	throw new Error('the item was accepted');
}

/** The guide's example, plus one of each mapping. */
const GUIDE_JSON = {
	mappings: {
		queues: {
			'q-billing-id': { course: 'course-billing', category: 'Billing' },
			'Tech Support': { course: 'course-tech', category: 'Technical' },
			Retention: { course: 'course-retention' },
		},
		skills: {
			Spanish: { course: 'course-spanish', category: 'Spanish' },
			Payments: { course: 'course-payments', category: 'Payments' },
		},
		interaction_types: { chat: { module: 'mod-chat-basics' }, voice: 'mod-voice-basics' },
		criteria: {
			Compliance: { modules: ['mod-compliance-101'] },
			empathy: ['mod-soft-skills-empathy', 'mod-active-listening'],
			Resolution: 'mod-product-knowledge',
		},
	},
	score_rules: [
		{ condition: 'score >= 90', asset_type: 'exemplar', tags: ['best-practice'], visibility: 'public' },
		{ condition: 'critical_failed', asset_type: 'compliance-review', tags: ['critical'], visibility: 'private', assign_to: 'supervisor', remedial_modules: ['mod-compliance-101'] },
		{ condition: 'score < 70', asset_type: 'coaching', tags: ['needs-coaching'], assign_to: 'agent' },
		{ name: 'Billing chats', condition: "queue == 'Billing' and interaction_type == 'chat'", tags: ['billing-chat'], visibility: 'public' },
	],
	default: { course: 'course-cx-general', category: 'General' },
};
const GUIDE = parseRulesJson(JSON.stringify(GUIDE_JSON));

describe('applyTaxonomy with the guide defaults', () => {
	it('turns a failing evaluation into a private coaching asset for the agent with the criteria remedial modules', () => {
		const taxonomy = map(DEFAULT_RULES, evaluationItem(64, ['Compliance', 'Empathy', 'Opening']));
		expect(taxonomy).toEqual({
			courseId: 'course-cx-general',
			category: 'General',
			assetType: 'coaching',
			tags: ['needs-coaching'],
			visibility: 'private',
			remedialModuleIds: ['mod-compliance-101', 'mod-soft-skills-empathy'],
			assignTo: 'agent',
			matchedRules: [{ number: 2, name: 'Coaching', condition: 'score < 70' }],
			mappedBy: 'default',
			unmapped: ['queue', 'criteria'],
			unmappedCriteria: ['Opening'],
		});
	});

	it('makes a 90+ evaluation a public exemplar with no training', () => {
		const taxonomy = map(DEFAULT_RULES, evaluationItem(95));
		expect(taxonomy).toMatchObject({ assetType: 'exemplar', tags: ['best-practice'], visibility: 'public', remedialModuleIds: [], assignTo: 'none' });
		expect(taxonomy.matchedRules.map((rule) => rule.number)).toEqual([1]);
	});

	it('keeps a middling evaluation private, standard and unassigned, but still maps its failed criterion', () => {
		const taxonomy = map(DEFAULT_RULES, evaluationItem(80, ['Resolution']));
		expect(taxonomy).toMatchObject({ assetType: 'standard', tags: [], visibility: 'private', assignTo: 'none', matchedRules: [], remedialModuleIds: ['mod-product-knowledge'] });
	});

	it('files a recording whose evaluation has not arrived under the default, private, with no rule matched', () => {
		const taxonomy = map(DEFAULT_RULES, recordingRef());
		expect(taxonomy).toEqual({
			courseId: 'course-cx-general',
			category: 'General',
			assetType: 'standard',
			tags: [],
			visibility: 'private',
			remedialModuleIds: [],
			assignTo: 'none',
			matchedRules: [],
			mappedBy: 'default',
			unmapped: ['queue'],
		});
	});
});

describe('applyTaxonomy mappings', () => {
	it('maps a queue by ID or by name, ignoring case, and the ID wins over the name', () => {
		expect(map(GUIDE, evaluationItem(80, [], { queue: { id: 'Q-BILLING-ID', name: 'Billing' } }))).toMatchObject({ courseId: 'course-billing', category: 'Billing', mappedBy: 'queue', unmapped: [] });
		expect(map(GUIDE, evaluationItem(80, [], { queue: { id: 'q-77', name: ' tech support ' } }))).toMatchObject({ courseId: 'course-tech', category: 'Technical', mappedBy: 'queue' });
		expect(map(GUIDE, evaluationItem(80, [], { queue: { id: 'q-billing-id', name: 'Tech Support' } })).courseId).toBe('course-billing');
	});

	it('falls back to the first skill mapping in mapping order, and marks the queue unmapped', () => {
		const taxonomy = map(GUIDE, evaluationItem(80, [], { queue: { id: 'q-unknown', name: 'Overflow' }, skills: ['Payments', 'spanish'] }));
		expect(taxonomy).toMatchObject({ courseId: 'course-spanish', category: 'Spanish', mappedBy: 'skill', unmapped: ['queue'] });
	});

	it('takes a missing category of a queue mapping from the skill mapping, then from the default', () => {
		expect(map(GUIDE, evaluationItem(80, [], { queue: { id: 'q-r', name: 'Retention' }, skills: ['Payments'] }))).toMatchObject({ courseId: 'course-retention', category: 'Payments', mappedBy: 'queue' });
		expect(map(GUIDE, evaluationItem(80, [], { queue: { id: 'q-r', name: 'Retention' } }))).toMatchObject({ courseId: 'course-retention', category: 'General' });
	});

	it('never drops an item that no mapping covers: it gets the default and says what did not map', () => {
		const taxonomy = map(GUIDE, evaluationItem(80, ['Opening'], { queue: { id: 'q-x' }, skills: ['French'], interactionType: 'email' }));
		expect(taxonomy).toMatchObject({
			courseId: 'course-cx-general',
			category: 'General',
			mappedBy: 'default',
			unmapped: ['queue', 'skill', 'interaction_type', 'criteria'],
			unmappedCriteria: ['Opening'],
		});
		expect(taxonomy.moduleId).toBeUndefined();
	});

	it('maps the interaction type (or a recording media type) to a module', () => {
		expect(map(GUIDE, evaluationItem(80, [], { interactionType: 'Chat' })).moduleId).toBe('mod-chat-basics');
		expect(map(GUIDE, recordingRef({ mediaType: 'voice' })).moduleId).toBe('mod-voice-basics');
		// interactionType is preferred over mediaType.
		expect(map(GUIDE, recordingRef({ mediaType: 'voice', interactionType: 'chat' })).moduleId).toBe('mod-chat-basics');
	});

	it('maps failed criteria by name or ID to all their modules, without duplicates', () => {
		const rules = parseRulesJson({ ...GUIDE_JSON, mappings: { criteria: { 'qg-compliance': 'mod-compliance-101', Empathy: ['mod-soft-skills-empathy', 'mod-compliance-101'] } } });
		const taxonomy = map(rules, evaluationItem(80, ['Compliance', 'Empathy']));
		expect(taxonomy.remedialModuleIds).toEqual(['mod-compliance-101', 'mod-soft-skills-empathy']);
		expect(taxonomy.unmapped).toEqual(['queue']);
	});
});

describe('applyTaxonomy score rules', () => {
	const critical = evaluationItem(60, ['Compliance'], { evaluation: { ...evaluationItem(60, ['Compliance']).evaluation, failedCritical: true } });

	it('first-match applies only the first matching rule', () => {
		const taxonomy = map(GUIDE, critical, 'first');
		expect(taxonomy).toMatchObject({ assetType: 'compliance-review', tags: ['critical'], assignTo: 'supervisor', visibility: 'private' });
		expect(taxonomy.matchedRules).toEqual([{ number: 2, condition: 'critical_failed' }]);
		expect(taxonomy.remedialModuleIds).toEqual(['mod-compliance-101']);
	});

	it('all-match collects tags and modules of every matching rule; the first to set a single value wins', () => {
		const taxonomy = map(GUIDE, critical, 'all');
		expect(taxonomy.matchedRules.map((rule) => rule.number)).toEqual([2, 3]);
		expect(taxonomy).toMatchObject({ assetType: 'compliance-review', tags: ['critical', 'needs-coaching'], assignTo: 'supervisor' });
	});

	it('a criterion flagged critical counts as a failed critical question', () => {
		const item = evaluationItem(75, ['Compliance']);
		(item.evaluation.criteria[1] as Record<string, unknown>).critical = true;
		expect(map(GUIDE, item).assetType).toBe('compliance-review');
		expect(map(GUIDE, evaluationItem(75, ['Compliance'])).assetType).toBe('standard');
	});

	it('in all-match an explicit private beats a public from another rule, in any order', () => {
		const rules = parseRulesJson({
			score_rules: [
				{ condition: 'score >= 90', visibility: 'public', tags: ['best-practice'] },
				{ condition: "agent_id == 'agent-7'", visibility: 'private', tags: ['probation'] },
			],
			default: { course: 'c', category: 'General' },
		});
		expect(map(rules, evaluationItem(95), 'all')).toMatchObject({ visibility: 'private', tags: ['best-practice', 'probation'] });
		expect(map(rules, evaluationItem(95), 'first')).toMatchObject({ visibility: 'public', tags: ['best-practice'] });
		expect(map(rules, evaluationItem(95, [], { agentId: 'agent-8' }), 'all').visibility).toBe('public');
	});

	it('a rule over queue and interaction type can make a recording public, but never one whose PII scan was not clean', () => {
		const billingChat = { queue: { id: 'q-billing-id', name: 'Billing' }, interactionType: 'chat' };
		expect(map(GUIDE, recordingRef({ ...billingChat, pii: { verdict: 'clean', findings: [] } }))).toMatchObject({ visibility: 'public', tags: ['billing-chat'], matchedRules: [{ number: 4, name: 'Billing chats' }] });
		expect(map(GUIDE, recordingRef({ ...billingChat, pii: { verdict: 'unsure', findings: [] } })).visibility).toBe('private');
		expect(map(GUIDE, evaluationItem(95, [], { pii: { verdict: 'found', findings: [] } })).visibility).toBe('private');
	});
});

describe('parseRulesJson', () => {
	it('reads the guide shape with shorthands and exports it in the canonical shape', () => {
		expect(GUIDE.mappings.interaction_types).toEqual({ chat: { module: 'mod-chat-basics' }, voice: { module: 'mod-voice-basics' } });
		expect(GUIDE.mappings.criteria).toEqual({
			Compliance: { modules: ['mod-compliance-101'] },
			empathy: { modules: ['mod-soft-skills-empathy', 'mod-active-listening'] },
			Resolution: { modules: ['mod-product-knowledge'] },
		});
		expect(GUIDE.default).toEqual({ course: 'course-cx-general', category: 'General', asset_type: 'standard' });
		expect(GUIDE.match_mode).toBe('first');
		const exported = exportRules(GUIDE);
		expect(parseRulesJson(JSON.stringify(exported))).toEqual(GUIDE);
		expect(exported).not.toBe(GUIDE);
	});

	it('rejects an invalid rule naming its number, text, column and what was expected', () => {
		const error = configError(() =>
			parseRulesJson({ score_rules: [{ condition: 'score >= 90' }, { condition: 'score >= ', asset_type: 'x' }], default: { course: 'c', category: 'd' } }),
		);
		expect(error.problems).toEqual([
			{
				path: 'score_rules[1].condition',
				// Conditions are trimmed, so the column counts in the text the message quotes.
				message: `Score rule 2 "score >=" is invalid at column 9: expected a field, a number, a quoted text or a [list] after '>=' but found the end of the condition`,
				ruleIndex: 1,
				condition: 'score >=',
				position: 8,
			},
		]);
		expect(error.message).toBe(`Invalid taxonomy rules: ${error.problems[0].message}`);
	});

	it('lists every problem at once with its JSON path', () => {
		const error = configError(() =>
			parseRulesJson({
				mapping: {},
				mappings: {
					queues: { Billing: { course: 'c1' }, billing: { course: 'c2' }, Sales: { cours: 'x' } },
					criteria: { Compliance: [] },
				},
				score_rules: [{ condition: '' }, { name: 'Top', condition: 'scroe > 1', visibility: 'everyone', assign_to: 'manager' }],
			}),
		);
		expect(error.problems.map((problem) => problem.message)).toEqual([
			'mapping: unknown key; expected one of version, match_mode, mappings, score_rules, default',
			'mappings.queues: "Billing" and "billing" are the same key (keys ignore case)',
			'mappings.queues.Sales.cours: unknown key; expected one of course, category',
			'mappings.queues.Sales: needs a course, a category or both',
			'mappings.criteria.Compliance: lists no module',
			'score_rules[0].condition: Score rule 1 has no condition',
			'score_rules[1].visibility: expected "private" or "public" but found "everyone"',
			'score_rules[1].assign_to: expected "agent" or "supervisor" or "team" or "none" but found "manager"',
			'default: is required: { "course": …, "category": … } for items no mapping covers',
			expect.stringMatching(/^Score rule 2 \(Top\) "scroe > 1" is invalid at column 1: unknown field 'scroe'/),
		]);
		expect(error.message).toMatch(/^Invalid taxonomy rules \(10 problems\): mapping: unknown key/);
	});

	it('rejects text that is not JSON or not an object', () => {
		expect(configError(() => parseRulesJson('{"score_rules": [')).message).toMatch(/^Invalid taxonomy rules: the rules are not valid JSON/);
		expect(configError(() => parseRulesJson('[]')).message).toContain('must be a JSON object');
		expect(configError(() => parseRulesJson({ version: 2, default: { course: 'c', category: 'd' } })).problems[0].message).toBe('version: expected 1 but found 2');
	});
});

describe('rulesFromParameters', () => {
	const base: TaxonomyParameters = { defaultCourseId: 'course-cx-general', defaultCategory: 'General' };

	it('builds the same rules as the equivalent JSON, so an export imports back unchanged', () => {
		const parameters: TaxonomyParameters = {
			...base,
			queueMappings: { mapping: [{ queue: ' Billing ', courseId: 'course-billing', category: 'Billing' }] },
			skillMappings: { mapping: [{ skill: 'Spanish', courseId: 'course-spanish', category: '' }] },
			interactionTypeModules: { mapping: [{ interactionType: 'chat', moduleId: 'mod-chat-basics' }] },
			criterionModules: { mapping: [{ criterion: 'Compliance', moduleIds: 'mod-compliance-101, mod-ethics , mod-compliance-101' }] },
			scoreRules: { rule: [{ name: '', condition: ' score < 70 ', assetType: 'coaching', tags: 'needs-coaching,, urgent', visibility: '', assignTo: 'agent', remedialModuleIds: 'mod-coaching' }] },
			matchMode: 'all',
		};
		const rules = rulesFromParameters(parameters);
		expect(rules).toEqual({
			version: 1,
			match_mode: 'all',
			mappings: {
				queues: { Billing: { course: 'course-billing', category: 'Billing' } },
				skills: { Spanish: { course: 'course-spanish' } },
				interaction_types: { chat: { module: 'mod-chat-basics' } },
				criteria: { Compliance: { modules: ['mod-compliance-101', 'mod-ethics'] } },
			},
			score_rules: [{ condition: 'score < 70', asset_type: 'coaching', tags: ['needs-coaching', 'urgent'], assign_to: 'agent', remedial_modules: ['mod-coaching'] }],
			default: { course: 'course-cx-general', category: 'General', asset_type: 'standard' },
		});
		expect(parseRulesJson(JSON.stringify(exportRules(rules)))).toEqual(rules);
		expect(rulesFromParameters({ ...parametersFromRules(rules), matchMode: 'all' })).toEqual(rules);
	});

	it('names the parameter entry as the editor numbers it, and keeps rule numbers when an earlier rule is empty', () => {
		const error = configError(() =>
			rulesFromParameters({
				defaultCourseId: ' ',
				queueMappings: { mapping: [{ queue: 'Billing', courseId: 'c' }, { queue: '', courseId: 'c' }, { queue: 'BILLING', category: 'x' }, { queue: 'Sales' }] },
				criterionModules: { mapping: [{ criterion: 'Compliance', moduleIds: ' , ' }] },
				scoreRules: { rule: [{ condition: '' }, { condition: 'score >= 90' }, { condition: "queue = 'Billing'" }] },
			}),
		);
		expect(error.problems.map((problem) => problem.message)).toEqual([
			'Queue Mappings 2: Queue ID or Name is empty',
			'Queue Mappings 3: "BILLING" is already mapped in Queue Mappings 1',
			'Queue Mappings 4: "Sales" needs a course ID, a category or both',
			'Remedial Modules 1 → Module IDs: is required',
			'Score Rules 1: Score rule 1 has no condition',
			'Default Course ID: is empty',
			'Default Category: is required',
			`Score rule 3 "queue = 'Billing'" is invalid at column 7: expected '==' but found '=' (compare with ==)`,
		]);
		expect(error.problems[7]).toMatchObject({ ruleIndex: 2, position: 6, path: 'score_rules[2].condition' });
	});
});

describe('loadRules', () => {
	const json = JSON.stringify({ match_mode: 'all', default: { course: 'c', category: 'd' } });

	it('uses the node Match Mode and refuses a JSON that names another one', () => {
		expect(loadRules({ source: 'json', json, matchMode: 'all' }).match_mode).toBe('all');
		expect(loadRules({ source: 'json', json: { default: { course: 'c', category: 'd' } }, matchMode: 'all' }).match_mode).toBe('all');
		const error = configError(() => loadRules({ source: 'json', json, matchMode: 'first' }));
		expect(error.message).toContain(`the JSON says "all" but the node's Match Mode is "first"`);
	});

	it('asks for rules when the JSON is empty, and applies the parameters otherwise', () => {
		expect(configError(() => loadRules({ source: 'json', json: '  ', matchMode: 'first' })).message).toContain('Rules JSON is empty');
		expect(loadRules({ source: 'parameters', parameters: parametersFromRules(DEFAULT_RULES), matchMode: 'all' })).toEqual({ ...DEFAULT_RULES, match_mode: 'all' });
	});
});

describe('itemFacts', () => {
	it('reads an evaluation item and a recording reference', () => {
		const facts = itemFacts(evaluationItem(64, ['Compliance'], { queue: { id: 'q-1', name: 'Billing' }, skills: ['Spanish', ' '], interactionType: 'voice' }));
		expect(facts).toMatchObject({
			hasEvaluation: true,
			score: 64,
			criticalFailed: false,
			criteriaFailed: [['Compliance', 'qg-compliance']],
			queue: ['q-1', 'Billing'],
			skills: ['Spanish'],
			interactionType: 'voice',
			agentId: 'agent-7',
			source: 'genesys-cloud',
		});
		expect(itemFacts(recordingRef({ pii: { verdict: 'found' } }))).toMatchObject({ hasEvaluation: false, agentId: 'agent-7', interactionType: 'screen', piiVerdict: 'found', failedCriteria: [] });
	});

	it('names the field of a bad item', () => {
		expect(inputError({ conversationId: 'c' })).toMatchObject({ field: 'evaluation', message: expect.stringContaining('neither a recording reference') });
		expect(inputError(recordingRef({ queue: 'Billing' })).field).toBe('queue');
		expect(inputError(recordingRef({ queue: { id: 7 } })).field).toBe('queue.id');
		expect(inputError(recordingRef({ skills: 'Spanish' })).field).toBe('skills');
		expect(inputError(recordingRef({ skills: ['a', 3] })).field).toBe('skills[1]');
		expect(inputError(recordingRef({ interactionType: 5 })).field).toBe('interactionType');
		expect(inputError(recordingRef({ agent: { id: 5 } })).field).toBe('agent.id');
		expect(inputError(evaluationItem(101)).message).toBe('evaluation.totalScore must be a number from 0 to 100, found 101');
		expect(inputError({ ...evaluationItem(50), evaluation: { totalScore: '50' } }).field).toBe('evaluation.totalScore');
		expect(inputError({ ...evaluationItem(50), evaluation: { totalScore: 50, criteria: {} } }).field).toBe('evaluation.criteria');
		expect(inputError({ ...evaluationItem(50), evaluation: { totalScore: 50, criteria: [{ failed: true }] } }).field).toBe('evaluation.criteria[0].name');
		expect(inputError({ ...evaluationItem(50), evaluation: { totalScore: 50, criteria: [{ name: 'A', failed: 'yes' }] } }).field).toBe('evaluation.criteria[0].failed');
	});
});

describe('Taxonomy Map node description', () => {
	const properties = new TaxonomyMap().description.properties;
	const property = (name: string) => properties.find((entry) => entry.name === name)!;

	it('ships parameter defaults and a JSON default that are both the guide rules', () => {
		const parameters = Object.fromEntries(
			['queueMappings', 'skillMappings', 'interactionTypeModules', 'criterionModules', 'scoreRules', 'defaultCourseId', 'defaultCategory', 'defaultAssetType'].map((name) => [name, property(name).default]),
		) as TaxonomyParameters;
		expect(rulesFromParameters(parameters)).toEqual(DEFAULT_RULES);
		expect(parseRulesJson(property('rulesJson').default as string)).toEqual(DEFAULT_RULES);
	});

	it('lists options alphabetically and never mentions angle brackets in descriptions', () => {
		const walk = (entries: INodeProperties[]): void => {
			for (const entry of entries) {
				expect(entry.description ?? '').not.toMatch(/[<>]/);
				const options = (entry.options ?? []) as Array<{ name: string; values?: INodeProperties[]; description?: string }>;
				if (entry.type === 'options') {
					const names = options.map((option) => option.name);
					expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
					for (const option of options) expect(option.description ?? '').not.toMatch(/[<>]/);
				}
				for (const option of options) if (option.values) walk(option.values);
			}
		};
		walk(properties);
		expect(new TaxonomyMap().description.usableAsTool).toBe(true);
	});
});
