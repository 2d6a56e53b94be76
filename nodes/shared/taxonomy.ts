import { ConditionSyntaxError, evaluateCondition, parseCondition, type Condition, type RuleFacts } from './rules';

/**
 * Taxonomy Map's rule set: where a recording or evaluation goes in the LMS and what training it triggers.
 *
 * The JSON shape (import and export; keys are matched ignoring case and surrounding spaces):
 * {
 *   "version": 1,
 *   "match_mode": "first",                       // "first": the first matching score rule applies; "all": every one
 *   "mappings": {
 *     "queues":            { "<queue ID or name>": { "course": "course-billing", "category": "Billing" } },
 *     "skills":            { "<skill>": { "course": "course-spanish", "category": "Spanish" } },
 *     "interaction_types": { "chat": { "module": "mod-chat-basics" } },          // or "chat": "mod-chat-basics"
 *     "criteria":          { "Compliance": { "modules": ["mod-compliance-101"] } } // or a string or a list
 *   },
 *   "score_rules": [
 *     { "name": "Exemplar", "condition": "score >= 90", "asset_type": "exemplar", "tags": ["best-practice"], "visibility": "public" },
 *     { "condition": "score < 70", "asset_type": "coaching", "tags": ["needs-coaching"], "assign_to": "agent",
 *       "remedial_modules": ["mod-coaching-basics"] }
 *   ],
 *   "default": { "course": "course-cx-general", "category": "General", "asset_type": "standard" }
 * }
 *
 * Course and category come from the queue mapping, else from the first skill mapping (in mapping order) that
 * the item has, else from `default`; an item is never dropped and `taxonomy.unmapped` says what did not map.
 * Visibility is private unless a matching score rule says public (in "all" mode an explicit private wins).
 */

export type MatchMode = 'first' | 'all';
export type Visibility = 'private' | 'public';
export type AssignTo = 'agent' | 'supervisor' | 'team' | 'none';

export const MATCH_MODES: readonly MatchMode[] = ['first', 'all'];
export const VISIBILITIES: readonly Visibility[] = ['private', 'public'];
export const ASSIGN_TO: readonly AssignTo[] = ['agent', 'supervisor', 'team', 'none'];

export interface CourseMapping {
	course?: string;
	category?: string;
}

export interface ScoreRule {
	name?: string;
	condition: string;
	asset_type?: string;
	tags?: string[];
	visibility?: Visibility;
	assign_to?: AssignTo;
	remedial_modules?: string[];
}

/** The canonical rule set, the same shape as the JSON above (shorthands expanded). */
export interface TaxonomyRules {
	version: 1;
	match_mode: MatchMode;
	mappings: {
		queues: Record<string, CourseMapping>;
		skills: Record<string, CourseMapping>;
		interaction_types: Record<string, { module: string }>;
		criteria: Record<string, { modules: string[] }>;
	};
	score_rules: ScoreRule[];
	default: { course: string; category: string; asset_type: string };
}

export interface TaxonomySection {
	courseId: string;
	category: string;
	/** The course module for the interaction type (voice, chat…), when mapped. */
	moduleId?: string;
	assetType: string;
	tags: string[];
	visibility: Visibility;
	remedialModuleIds: string[];
	assignTo: AssignTo;
	/** Score rules that matched, numbered from 1 as in the node's list. */
	matchedRules: Array<{ number: number; name?: string; condition: string }>;
	/** Where course and category came from. */
	mappedBy: 'queue' | 'skill' | 'default';
	/** Dimensions of the item that no mapping covered: 'queue', 'skill', 'interaction_type', 'criteria'. */
	unmapped: string[];
	/** Failed criteria without a remedial module mapping. */
	unmappedCriteria?: string[];
}

/** Guide defaults: failed criterion → remedial module, two score rules, a general course. */
export const DEFAULT_RULES: TaxonomyRules = {
	version: 1,
	match_mode: 'first',
	mappings: {
		queues: {},
		skills: {},
		interaction_types: {},
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
};

export interface RuleProblem {
	/** Where: a JSON path (`score_rules[1].condition`) or the node parameter (`Score Rules 2`). */
	path: string;
	message: string;
	/** 0-based index of the score rule, when the problem is in one. */
	ruleIndex?: number;
	condition?: string;
	/** 0-based offset into the condition. */
	position?: number;
}

/** The rule set cannot be used; every problem found is listed, each naming its rule or mapping. */
export class TaxonomyConfigError extends Error {
	constructor(readonly problems: RuleProblem[]) {
		super(
			problems.length === 1
				? `Invalid taxonomy rules: ${problems[0].message}`
				: `Invalid taxonomy rules (${problems.length} problems): ${problems.map((problem) => problem.message).join(' | ')}`,
		);
		this.name = 'TaxonomyConfigError';
	}
}

/** An input item the mapping cannot read; `field` names the offending field. */
export class TaxonomyInputError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(message);
		this.name = 'TaxonomyInputError';
	}
}

const MAX_ID_LENGTH = 200;
/** The index a rule has in the list it was read from, when entries before it were rejected. */
const ruleNumbers = new WeakMap<ScoreRule, number>();
const key = (value: string) => value.trim().toLowerCase();
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const quote = (value: unknown) => JSON.stringify(value);

/** Collects problems while reading untrusted rule data. */
class Reader {
	readonly problems: RuleProblem[] = [];

	problem(path: string, message: string, extra: Partial<RuleProblem> = {}): void {
		this.problems.push({ path, message: `${path}: ${message}`, ...extra });
	}

	/** A required or optional non-empty id-like string (course, category, module, asset type). */
	id(value: unknown, path: string, required: boolean): string | undefined {
		if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '' && !required)) {
			if (required) this.problem(path, 'is required');
			return undefined;
		}
		if (typeof value !== 'string') {
			this.problem(path, `expected a text but found ${quote(value)}`);
			return undefined;
		}
		const trimmed = value.trim();
		if (!trimmed) {
			this.problem(path, 'is empty');
			return undefined;
		}
		if (trimmed.length > MAX_ID_LENGTH) {
			this.problem(path, `is longer than ${MAX_ID_LENGTH} characters`);
			return undefined;
		}
		return trimmed;
	}

	list(value: unknown, path: string): string[] | undefined {
		if (value === undefined || value === null) return undefined;
		const values = typeof value === 'string' ? [value] : value;
		if (!Array.isArray(values)) {
			this.problem(path, `expected a list of texts but found ${quote(value)}`);
			return undefined;
		}
		const result: string[] = [];
		values.forEach((item, index) => {
			const id = this.id(item, `${path}[${index}]`, true);
			if (id !== undefined && !result.includes(id)) result.push(id);
		});
		return result;
	}

	oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T | undefined {
		if (value === undefined || value === null || value === '') return undefined;
		if (typeof value === 'string' && (allowed as readonly string[]).includes(value.trim().toLowerCase())) {
			return value.trim().toLowerCase() as T;
		}
		this.problem(path, `expected ${allowed.map((item) => quote(item)).join(' or ')} but found ${quote(value)}`);
		return undefined;
	}

	unknownKeys(value: Record<string, unknown>, allowed: string[], path: string): void {
		for (const name of Object.keys(value)) {
			if (!allowed.includes(name)) this.problem(path ? `${path}.${name}` : name, `unknown key; expected one of ${allowed.join(', ')}`);
		}
	}

	/** Mapping keys are matched ignoring case, so `Billing` and `billing` would be ambiguous. */
	uniqueKeys(entries: string[], path: string): void {
		const seen = new Map<string, string>();
		for (const entry of entries) {
			const previous = seen.get(key(entry));
			if (previous !== undefined) this.problem(path, `${quote(previous)} and ${quote(entry)} are the same key (keys ignore case)`);
			else seen.set(key(entry), entry);
		}
	}
}

function readMappingObject(reader: Reader, value: unknown, path: string): Record<string, unknown> {
	if (value === undefined || value === null) return {};
	if (!isRecord(value)) {
		reader.problem(path, `expected an object of "key": value pairs but found ${quote(value)}`);
		return {};
	}
	reader.uniqueKeys(Object.keys(value), path);
	for (const name of Object.keys(value)) {
		if (!name.trim()) reader.problem(`${path}[""]`, 'a mapping key is empty');
	}
	return value;
}

function readCourseMappings(reader: Reader, value: unknown, path: string): Record<string, CourseMapping> {
	const result: Record<string, CourseMapping> = {};
	for (const [name, entry] of Object.entries(readMappingObject(reader, value, path))) {
		const entryPath = `${path}.${name}`;
		if (!isRecord(entry)) {
			reader.problem(entryPath, `expected { "course": …, "category": … } but found ${quote(entry)}`);
			continue;
		}
		reader.unknownKeys(entry, ['course', 'category'], entryPath);
		const course = reader.id(entry.course, `${entryPath}.course`, false);
		const category = reader.id(entry.category, `${entryPath}.category`, false);
		if (course === undefined && category === undefined && entry.course === undefined && entry.category === undefined) {
			reader.problem(entryPath, 'needs a course, a category or both');
		}
		result[name.trim()] = { ...(course ? { course } : {}), ...(category ? { category } : {}) };
	}
	return result;
}

/** Reads a rule set from JSON text or a parsed object, validating its shape and every condition. */
export function parseRulesJson(input: unknown): TaxonomyRules {
	let data = input;
	if (typeof input === 'string') {
		try {
			data = JSON.parse(input);
		} catch (error) {
			throw new TaxonomyConfigError([{ path: '', message: `the rules are not valid JSON: ${(error as Error).message}` }]);
		}
	}
	const reader = new Reader();
	if (!isRecord(data)) {
		throw new TaxonomyConfigError([{ path: '', message: `the rules must be a JSON object with "mappings", "score_rules" and "default", not ${quote(data)}` }]);
	}
	reader.unknownKeys(data, ['version', 'match_mode', 'mappings', 'score_rules', 'default'], '');
	if (data.version !== undefined && data.version !== 1) reader.problem('version', `expected 1 but found ${quote(data.version)}`);
	const matchMode = reader.oneOf(data.match_mode, MATCH_MODES, 'match_mode') ?? 'first';

	const mappings = isRecord(data.mappings) ? data.mappings : {};
	if (data.mappings !== undefined && !isRecord(data.mappings)) reader.problem('mappings', `expected an object but found ${quote(data.mappings)}`);
	reader.unknownKeys(mappings, ['queues', 'skills', 'interaction_types', 'criteria'], 'mappings');
	const queues = readCourseMappings(reader, mappings.queues, 'mappings.queues');
	const skills = readCourseMappings(reader, mappings.skills, 'mappings.skills');

	const interactionTypes: TaxonomyRules['mappings']['interaction_types'] = {};
	for (const [name, entry] of Object.entries(readMappingObject(reader, mappings.interaction_types, 'mappings.interaction_types'))) {
		const entryPath = `mappings.interaction_types.${name}`;
		if (isRecord(entry)) reader.unknownKeys(entry, ['module'], entryPath);
		const module = reader.id(isRecord(entry) ? entry.module : entry, isRecord(entry) ? `${entryPath}.module` : entryPath, true);
		if (module) interactionTypes[name.trim()] = { module };
	}

	const criteria: TaxonomyRules['mappings']['criteria'] = {};
	for (const [name, entry] of Object.entries(readMappingObject(reader, mappings.criteria, 'mappings.criteria'))) {
		const entryPath = `mappings.criteria.${name}`;
		if (isRecord(entry)) reader.unknownKeys(entry, ['modules'], entryPath);
		const raw = isRecord(entry) ? entry.modules : entry;
		const modules = reader.list(raw, isRecord(entry) ? `${entryPath}.modules` : entryPath);
		if (modules?.length) criteria[name.trim()] = { modules };
		else if (modules || raw === undefined || raw === null) reader.problem(entryPath, 'lists no module');
	}

	const scoreRules: ScoreRule[] = [];
	if (data.score_rules !== undefined && !Array.isArray(data.score_rules)) {
		reader.problem('score_rules', `expected a list of rules but found ${quote(data.score_rules)}`);
	}
	(Array.isArray(data.score_rules) ? data.score_rules : []).forEach((entry, index) => {
		const path = `score_rules[${index}]`;
		if (!isRecord(entry)) {
			reader.problem(path, `expected a rule object with a "condition" but found ${quote(entry)}`, { ruleIndex: index });
			return;
		}
		reader.unknownKeys(entry, ['name', 'condition', 'asset_type', 'tags', 'visibility', 'assign_to', 'remedial_modules'], path);
		if (typeof entry.condition !== 'string' || !entry.condition.trim()) {
			reader.problem(`${path}.condition`, `Score rule ${index + 1} has no condition`, { ruleIndex: index });
			return;
		}
		const rule: ScoreRule = { condition: entry.condition.trim() };
		const name = reader.id(entry.name, `${path}.name`, false);
		if (name) rule.name = name;
		const assetType = reader.id(entry.asset_type, `${path}.asset_type`, false);
		if (assetType) rule.asset_type = assetType;
		const tags = reader.list(entry.tags, `${path}.tags`);
		if (tags?.length) rule.tags = tags;
		const visibility = reader.oneOf(entry.visibility, VISIBILITIES, `${path}.visibility`);
		if (visibility) rule.visibility = visibility;
		const assignTo = reader.oneOf(entry.assign_to, ASSIGN_TO, `${path}.assign_to`);
		if (assignTo) rule.assign_to = assignTo;
		const remedial = reader.list(entry.remedial_modules, `${path}.remedial_modules`);
		if (remedial?.length) rule.remedial_modules = remedial;
		scoreRules.push(rule);
		ruleNumbers.set(rule, index);
	});

	let fallback: TaxonomyRules['default'] = { course: '', category: '', asset_type: DEFAULT_RULES.default.asset_type };
	if (!isRecord(data.default)) {
		reader.problem('default', `is required: { "course": …, "category": … } for items no mapping covers${data.default === undefined ? '' : `, found ${quote(data.default)}`}`);
	} else {
		reader.unknownKeys(data.default, ['course', 'category', 'asset_type'], 'default');
		fallback = {
			course: reader.id(data.default.course, 'default.course', true) ?? '',
			category: reader.id(data.default.category, 'default.category', true) ?? '',
			asset_type: reader.id(data.default.asset_type, 'default.asset_type', false) ?? DEFAULT_RULES.default.asset_type,
		};
	}

	const rules: TaxonomyRules = {
		version: 1,
		match_mode: matchMode,
		mappings: { queues, skills, interaction_types: interactionTypes, criteria },
		score_rules: scoreRules,
		default: fallback,
	};
	// Conditions are checked too, so a JSON import fails as a whole and names every bad rule.
	reader.problems.push(...conditionProblems(rules.score_rules));
	if (reader.problems.length) throw new TaxonomyConfigError(reader.problems);
	return rules;
}

/** Node parameter shapes (fixedCollections); values are as n8n hands them over. */
export interface TaxonomyParameters {
	queueMappings?: { mapping?: Array<{ queue?: string; courseId?: string; category?: string }> };
	skillMappings?: { mapping?: Array<{ skill?: string; courseId?: string; category?: string }> };
	interactionTypeModules?: { mapping?: Array<{ interactionType?: string; moduleId?: string }> };
	criterionModules?: { mapping?: Array<{ criterion?: string; moduleIds?: string }> };
	scoreRules?: {
		rule?: Array<{
			name?: string;
			condition?: string;
			assetType?: string;
			tags?: string;
			visibility?: string;
			assignTo?: string;
			remedialModuleIds?: string;
		}>;
	};
	defaultCourseId?: string;
	defaultCategory?: string;
	defaultAssetType?: string;
	matchMode?: string;
}

const splitList = (value: string | undefined) =>
	(value ?? '')
		.split(',')
		.map((item) => item.trim())
		.filter((item, index, all) => item && all.indexOf(item) === index);

/**
 * Builds the rule set from node parameters. Problems name the parameter and entry as the editor shows them
 * (`Queue Mappings 2`, `Score Rules 3`), numbered from 1.
 */
export function rulesFromParameters(parameters: TaxonomyParameters): TaxonomyRules {
	const reader = new Reader();
	const courseMappings = (entries: Array<{ courseId?: string; category?: string }>, keys: Array<string | undefined>, label: string, keyLabel: string) => {
		const result: Record<string, CourseMapping> = {};
		const seen = new Map<string, number>();
		entries.forEach((entry, index) => {
			const path = `${label} ${index + 1}`;
			const name = (keys[index] ?? '').trim();
			if (!name) {
				reader.problem(path, `${keyLabel} is empty`);
				return;
			}
			const previous = seen.get(key(name));
			if (previous !== undefined) {
				reader.problem(path, `${quote(name)} is already mapped in ${label} ${previous + 1}`);
				return;
			}
			seen.set(key(name), index);
			const course = reader.id(entry.courseId, `${path} → Course ID`, false);
			const category = reader.id(entry.category, `${path} → Category`, false);
			if (!course && !category) reader.problem(path, `${quote(name)} needs a course ID, a category or both`);
			result[name] = { ...(course ? { course } : {}), ...(category ? { category } : {}) };
		});
		return result;
	};
	const queueEntries = parameters.queueMappings?.mapping ?? [];
	const skillEntries = parameters.skillMappings?.mapping ?? [];
	const queues = courseMappings(queueEntries, queueEntries.map((entry) => entry.queue), 'Queue Mappings', 'Queue ID or Name');
	const skills = courseMappings(skillEntries, skillEntries.map((entry) => entry.skill), 'Skill Mappings', 'Skill');

	const keyed = <T>(entries: T[], label: string, keyLabel: string, name: (entry: T) => string | undefined, read: (entry: T, path: string) => void) => {
		const seen = new Map<string, number>();
		entries.forEach((entry, index) => {
			const path = `${label} ${index + 1}`;
			const value = (name(entry) ?? '').trim();
			if (!value) return reader.problem(path, `${keyLabel} is empty`);
			const previous = seen.get(key(value));
			if (previous !== undefined) return reader.problem(path, `${quote(value)} is already mapped in ${label} ${previous + 1}`);
			seen.set(key(value), index);
			read(entry, path);
		});
	};
	const interactionTypes: TaxonomyRules['mappings']['interaction_types'] = {};
	keyed(parameters.interactionTypeModules?.mapping ?? [], 'Interaction Type Modules', 'Interaction Type', (entry) => entry.interactionType, (entry, path) => {
		const module = reader.id(entry.moduleId, `${path} → Module ID`, true);
		if (module) interactionTypes[entry.interactionType!.trim()] = { module };
	});
	const criteria: TaxonomyRules['mappings']['criteria'] = {};
	keyed(parameters.criterionModules?.mapping ?? [], 'Remedial Modules', 'Criterion', (entry) => entry.criterion, (entry, path) => {
		const modules = splitList(entry.moduleIds);
		if (!modules.length) return reader.problem(`${path} → Module IDs`, 'is required');
		const oversized = modules.find((module) => module.length > MAX_ID_LENGTH);
		if (oversized) return reader.problem(`${path} → Module IDs`, `is longer than ${MAX_ID_LENGTH} characters`);
		criteria[entry.criterion!.trim()] = { modules };
	});

	const scoreRules: ScoreRule[] = [];
	(parameters.scoreRules?.rule ?? []).forEach((entry, index) => {
		const path = `Score Rules ${index + 1}`;
		const condition = (entry.condition ?? '').trim();
		if (!condition) return reader.problem(path, `Score rule ${index + 1} has no condition`, { ruleIndex: index });
		const rule: ScoreRule = { condition };
		if (entry.name?.trim()) rule.name = entry.name.trim();
		const assetType = reader.id(entry.assetType, `${path} → Asset Type`, false);
		if (assetType) rule.asset_type = assetType;
		const tags = splitList(entry.tags);
		if (tags.length) rule.tags = tags;
		const visibility = reader.oneOf(entry.visibility, VISIBILITIES, `${path} → Visibility`);
		if (visibility) rule.visibility = visibility;
		const assignTo = reader.oneOf(entry.assignTo, ASSIGN_TO, `${path} → Assign To`);
		if (assignTo) rule.assign_to = assignTo;
		const remedial = splitList(entry.remedialModuleIds);
		if (remedial.length) rule.remedial_modules = remedial;
		scoreRules.push(rule);
		// Keep the editor's numbering for condition errors even when an earlier entry was skipped.
		ruleNumbers.set(rule, index);
	});

	const rules: TaxonomyRules = {
		version: 1,
		match_mode: reader.oneOf(parameters.matchMode, MATCH_MODES, 'Match Mode') ?? 'first',
		mappings: { queues, skills, interaction_types: interactionTypes, criteria },
		score_rules: scoreRules,
		default: {
			course: reader.id(parameters.defaultCourseId, 'Default Course ID', true) ?? '',
			category: reader.id(parameters.defaultCategory, 'Default Category', true) ?? '',
			asset_type: reader.id(parameters.defaultAssetType, 'Default Asset Type', false) ?? DEFAULT_RULES.default.asset_type,
		},
	};
	reader.problems.push(...conditionProblems(rules.score_rules));
	if (reader.problems.length) throw new TaxonomyConfigError(reader.problems);
	return rules;
}

function conditionProblems(rules: ScoreRule[]): RuleProblem[] {
	const problems: RuleProblem[] = [];
	rules.forEach((rule, position) => {
		try {
			parseCondition(rule.condition);
		} catch (error) {
			if (!(error instanceof ConditionSyntaxError)) throw error;
			const index = ruleNumbers.get(rule) ?? position;
			problems.push({
				path: `score_rules[${index}].condition`,
				message: `Score rule ${index + 1}${rule.name ? ` (${rule.name})` : ''} ${quote(rule.condition)} is invalid ${error.message}`,
				ruleIndex: index,
				condition: rule.condition,
				position: error.position,
			});
		}
	});
	return problems;
}

/** The rule set in its JSON shape, for an analyst to copy (and import again). */
export function exportRules(rules: TaxonomyRules): TaxonomyRules {
	return JSON.parse(JSON.stringify(rules)) as TaxonomyRules;
}

interface CompiledRule {
	number: number;
	rule: ScoreRule;
	condition: Condition;
}

/** A validated rule set with its conditions parsed and its mappings indexed for lookups. */
export interface CompiledTaxonomy {
	rules: TaxonomyRules;
	matchMode: MatchMode;
	queues: Map<string, CourseMapping>;
	skills: Array<[string, CourseMapping]>;
	interactionTypes: Map<string, string>;
	criteria: Map<string, string[]>;
	scoreRules: CompiledRule[];
}

export function compileTaxonomy(rules: TaxonomyRules, matchMode: MatchMode = rules.match_mode): CompiledTaxonomy {
	const problems = conditionProblems(rules.score_rules);
	if (problems.length) throw new TaxonomyConfigError(problems);
	const indexed = <T>(record: Record<string, T>) => new Map(Object.entries(record).map(([name, value]) => [key(name), value]));
	return {
		rules,
		matchMode,
		queues: indexed(rules.mappings.queues),
		skills: Object.entries(rules.mappings.skills).map(([name, value]) => [key(name), value]),
		interactionTypes: new Map(Object.entries(rules.mappings.interaction_types).map(([name, value]) => [key(name), value.module])),
		criteria: indexed(Object.fromEntries(Object.entries(rules.mappings.criteria).map(([name, value]) => [name, value.modules]))),
		scoreRules: rules.score_rules.map((rule, index) => ({ number: index + 1, rule, condition: parseCondition(rule.condition) })),
	};
}

export interface ItemFacts extends RuleFacts {
	queueId?: string;
	queueName?: string;
	failedCriteria: Array<{ id?: string; name: string }>;
	/** PII verdict of the recording half, when present. */
	piiVerdict?: string;
}

function optionalText(json: Record<string, unknown>, field: string): string | undefined {
	const value = json[field];
	if (value === undefined || value === null || value === '') return undefined;
	if (typeof value !== 'string') throw new TaxonomyInputError(field, `${field} must be a text, found ${quote(value)}`);
	return value;
}

/**
 * Reads what the rules need from a RecordingRef or an EvaluationItem. Throws TaxonomyInputError naming the
 * field when the item is neither or a field has the wrong type.
 */
export function itemFacts(json: unknown): ItemFacts {
	if (!isRecord(json)) throw new TaxonomyInputError('json', 'The item is not an object');
	const evaluation = json.evaluation;
	const isRecording = typeof json.recordingId === 'string' || typeof json.stateKey === 'string';
	if (evaluation === undefined && !isRecording) {
		throw new TaxonomyInputError(
			'evaluation',
			'The item is neither a recording reference (no recordingId) nor an evaluation (no evaluation)',
		);
	}
	const facts: ItemFacts = { hasEvaluation: false, failedCriteria: [] };

	if (json.queue !== undefined && json.queue !== null) {
		if (!isRecord(json.queue)) throw new TaxonomyInputError('queue', `queue must be an object with an id (and name), found ${quote(json.queue)}`);
		for (const part of ['id', 'name'] as const) {
			const value = json.queue[part];
			if (value !== undefined && value !== null && typeof value !== 'string') {
				throw new TaxonomyInputError(`queue.${part}`, `queue.${part} must be a text, found ${quote(value)}`);
			}
		}
		facts.queueId = (json.queue.id as string | undefined)?.trim() || undefined;
		facts.queueName = (json.queue.name as string | undefined)?.trim() || undefined;
		const aliases = [facts.queueId, facts.queueName].filter((value): value is string => Boolean(value));
		if (aliases.length) facts.queue = aliases;
	}

	if (json.skills !== undefined && json.skills !== null) {
		if (!Array.isArray(json.skills)) throw new TaxonomyInputError('skills', `skills must be a list of texts, found ${quote(json.skills)}`);
		json.skills.forEach((skill, index) => {
			if (typeof skill !== 'string') throw new TaxonomyInputError(`skills[${index}]`, `skills[${index}] must be a text, found ${quote(skill)}`);
		});
		facts.skills = (json.skills as string[]).map((skill) => skill.trim()).filter(Boolean);
	}

	facts.interactionType = optionalText(json, 'interactionType') ?? optionalText(json, 'mediaType');
	facts.source = optionalText(json, 'source');
	const agentId = optionalText(json, 'agentId');
	if (isRecord(json.agent) && json.agent.id !== undefined && typeof json.agent.id !== 'string') {
		throw new TaxonomyInputError('agent.id', `agent.id must be a text, found ${quote(json.agent.id)}`);
	}
	facts.agentId = agentId ?? (isRecord(json.agent) ? (json.agent.id as string | undefined) : undefined);

	if (evaluation !== undefined && evaluation !== null) {
		if (!isRecord(evaluation)) throw new TaxonomyInputError('evaluation', `evaluation must be an object, found ${quote(evaluation)}`);
		const score = evaluation.totalScore;
		if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 100) {
			throw new TaxonomyInputError('evaluation.totalScore', `evaluation.totalScore must be a number from 0 to 100, found ${quote(score)}`);
		}
		const criteria = evaluation.criteria ?? [];
		if (!Array.isArray(criteria)) throw new TaxonomyInputError('evaluation.criteria', `evaluation.criteria must be a list, found ${quote(criteria)}`);
		let critical = evaluation.failedCritical === true;
		criteria.forEach((criterion, index) => {
			const path = `evaluation.criteria[${index}]`;
			if (!isRecord(criterion)) throw new TaxonomyInputError(path, `${path} must be an object, found ${quote(criterion)}`);
			if (typeof criterion.name !== 'string' || !criterion.name.trim()) {
				throw new TaxonomyInputError(`${path}.name`, `${path}.name must be a non-empty text, found ${quote(criterion.name)}`);
			}
			if (typeof criterion.failed !== 'boolean') {
				throw new TaxonomyInputError(`${path}.failed`, `${path}.failed must be true or false, found ${quote(criterion.failed)}`);
			}
			if (criterion.id !== undefined && typeof criterion.id !== 'string') {
				throw new TaxonomyInputError(`${path}.id`, `${path}.id must be a text, found ${quote(criterion.id)}`);
			}
			if (criterion.critical === true) critical = true;
			if (criterion.failed) facts.failedCriteria.push({ name: criterion.name.trim(), ...(criterion.id ? { id: criterion.id as string } : {}) });
		});
		facts.hasEvaluation = true;
		facts.score = score;
		facts.criticalFailed = critical;
		facts.criteriaFailed = facts.failedCriteria.map((criterion) => [criterion.name, ...(criterion.id ? [criterion.id] : [])]);
	}

	if (isRecord(json.pii) && typeof json.pii.verdict === 'string') facts.piiVerdict = json.pii.verdict;
	return facts;
}

const pushUnique = (target: string[], values: string[] | undefined) => {
	for (const value of values ?? []) if (!target.includes(value)) target.push(value);
};

/** Maps one item's facts to its taxonomy section. Never drops an item: unmapped dimensions get the defaults. */
export function applyTaxonomy(compiled: CompiledTaxonomy, facts: ItemFacts): TaxonomySection {
	const { rules } = compiled;
	const unmapped: string[] = [];

	const queueMapping =
		(facts.queueId !== undefined ? compiled.queues.get(key(facts.queueId)) : undefined) ??
		(facts.queueName !== undefined ? compiled.queues.get(key(facts.queueName)) : undefined);
	if (!queueMapping) unmapped.push('queue');
	const itemSkills = new Set((facts.skills ?? []).map(key));
	const skillMapping = compiled.skills.find(([name]) => itemSkills.has(name))?.[1];
	if (itemSkills.size && !skillMapping) unmapped.push('skill');
	const courseId = queueMapping?.course ?? skillMapping?.course ?? rules.default.course;
	const category = queueMapping?.category ?? skillMapping?.category ?? rules.default.category;
	const mappedBy = queueMapping ? 'queue' : skillMapping ? 'skill' : 'default';

	const moduleId = facts.interactionType !== undefined ? compiled.interactionTypes.get(key(facts.interactionType)) : undefined;
	if (facts.interactionType !== undefined && compiled.interactionTypes.size && !moduleId) unmapped.push('interaction_type');

	const remedialModuleIds: string[] = [];
	const unmappedCriteria: string[] = [];
	for (const criterion of facts.failedCriteria) {
		const modules = compiled.criteria.get(key(criterion.name)) ?? (criterion.id ? compiled.criteria.get(key(criterion.id)) : undefined);
		if (modules) pushUnique(remedialModuleIds, modules);
		else unmappedCriteria.push(criterion.name);
	}
	if (unmappedCriteria.length) unmapped.push('criteria');

	let assetType: string | undefined;
	let assignTo: AssignTo | undefined;
	let visibility: Visibility | undefined;
	const tags: string[] = [];
	const matchedRules: TaxonomySection['matchedRules'] = [];
	for (const { number, rule, condition } of compiled.scoreRules) {
		if (!evaluateCondition(condition, facts)) continue;
		matchedRules.push({ number, ...(rule.name ? { name: rule.name } : {}), condition: rule.condition });
		// In "all" mode rules are in priority order: the first to set a single value wins; lists accumulate.
		assetType ??= rule.asset_type;
		assignTo ??= rule.assign_to;
		if (rule.visibility === 'private') visibility = 'private';
		else if (rule.visibility === 'public' && visibility === undefined) visibility = 'public';
		pushUnique(tags, rule.tags);
		pushUnique(remedialModuleIds, rule.remedial_modules);
		if (compiled.matchMode === 'first') break;
	}
	// A recording whose PII scan was not clean is never published, whatever the rules say.
	if (facts.piiVerdict !== undefined && facts.piiVerdict !== 'clean') visibility = 'private';

	const section: TaxonomySection = {
		courseId,
		category,
		...(moduleId ? { moduleId } : {}),
		assetType: assetType ?? rules.default.asset_type,
		tags,
		visibility: visibility ?? 'private',
		remedialModuleIds,
		assignTo: assignTo ?? 'none',
		matchedRules,
		mappedBy,
		unmapped,
	};
	if (unmappedCriteria.length) section.unmappedCriteria = unmappedCriteria;
	return section;
}

/** The node parameters that reproduce a rule set (for the defaults shown in the editor). */
export function parametersFromRules(rules: TaxonomyRules): Required<Omit<TaxonomyParameters, 'matchMode'>> {
	return {
		queueMappings: { mapping: Object.entries(rules.mappings.queues).map(([queue, value]) => ({ queue, courseId: value.course ?? '', category: value.category ?? '' })) },
		skillMappings: { mapping: Object.entries(rules.mappings.skills).map(([skill, value]) => ({ skill, courseId: value.course ?? '', category: value.category ?? '' })) },
		interactionTypeModules: {
			mapping: Object.entries(rules.mappings.interaction_types).map(([interactionType, value]) => ({ interactionType, moduleId: value.module })),
		},
		criterionModules: { mapping: Object.entries(rules.mappings.criteria).map(([criterion, value]) => ({ criterion, moduleIds: value.modules.join(', ') })) },
		scoreRules: {
			rule: rules.score_rules.map((rule) => ({
				name: rule.name ?? '',
				condition: rule.condition,
				assetType: rule.asset_type ?? '',
				tags: (rule.tags ?? []).join(', '),
				visibility: rule.visibility ?? '',
				assignTo: rule.assign_to ?? '',
				remedialModuleIds: (rule.remedial_modules ?? []).join(', '),
			})),
		},
		defaultCourseId: rules.default.course,
		defaultCategory: rules.default.category,
		defaultAssetType: rules.default.asset_type,
	};
}

export type RulesSource = 'parameters' | 'json';

/**
 * The effective rule set of a node: from its parameters or from imported JSON, with the node's Match Mode.
 * A JSON that names a different match_mode is refused rather than silently overridden.
 */
export function loadRules(input: { source: RulesSource; json?: unknown; parameters?: TaxonomyParameters; matchMode: MatchMode }): TaxonomyRules {
	if (!MATCH_MODES.includes(input.matchMode)) {
		throw new TaxonomyConfigError([{ path: 'Match Mode', message: `Match Mode: expected "first" or "all" but found ${quote(input.matchMode)}` }]);
	}
	if (input.source === 'parameters') return rulesFromParameters({ ...input.parameters, matchMode: input.matchMode });
	if (input.source !== 'json') {
		throw new TaxonomyConfigError([{ path: 'Rules Source', message: `Rules Source: expected "parameters" or "json" but found ${quote(input.source)}` }]);
	}
	if (input.json === undefined || input.json === null || (typeof input.json === 'string' && !input.json.trim())) {
		throw new TaxonomyConfigError([{ path: 'Rules JSON', message: 'Rules JSON is empty; paste a rule set (use Export Rules as JSON to get one)' }]);
	}
	const rules = parseRulesJson(input.json);
	let raw = input.json;
	if (typeof raw === 'string') raw = JSON.parse(raw);
	const named = isRecord(raw) ? raw.match_mode : undefined;
	if (typeof named === 'string' && named.trim().toLowerCase() !== input.matchMode) {
		throw new TaxonomyConfigError([
			{
				path: 'match_mode',
				message: `match_mode: the JSON says ${quote(named)} but the node's Match Mode is ${quote(input.matchMode)}; set Match Mode to match or remove match_mode from the JSON`,
			},
		]);
	}
	return { ...rules, match_mode: input.matchMode };
}
