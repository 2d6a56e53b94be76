import type { EvaluationCriterion, EvaluationItem } from '../recordingRef';

/** Guarded Assign thresholds; defaults follow the original guide. */
export interface AssignPolicy {
	/** Assign when the total score (0–100) is below this. Default 70. */
	scoreThreshold: number;
	/** Assign when any critical or kill question failed. Default true. */
	onCriticalFailure: boolean;
	/** Assign when the same criterion failed this many times in a row for the agent (this evaluation included); 0 = off. Default 3. */
	consecutiveFails: number;
	/** Only released, finished evaluations drive training. Default true. */
	requireReleased: boolean;
	/** Criterion name or id (case-insensitive) → remedial module id. */
	moduleByCriterion: Record<string, string>;
	/** Module for a low score whose failed criteria map to nothing; empty = none (skip with "no module"). */
	fallbackModuleId?: string;
}

export const DEFAULT_MODULES: Record<string, string> = {
	compliance: 'mod-compliance-101',
	empathy: 'mod-soft-skills-empathy',
	resolution: 'mod-product-knowledge',
};

export const DEFAULT_POLICY: AssignPolicy = {
	scoreThreshold: 70,
	onCriticalFailure: true,
	consecutiveFails: 3,
	requireReleased: true,
	moduleByCriterion: DEFAULT_MODULES,
};

export type SkipReason =
	| 'above_threshold'
	| 'not_released'
	| 'retracted'
	| 'no_module'
	| 'recent_assignment'
	| 'cooldown'
	| 'already_started'
	| 'rejected';

export type TriggerKind = 'low_score' | 'critical_failure' | 'repeated_failure';

export interface AssignTrigger {
	kind: TriggerKind;
	/** The criterion behind it (critical and repeated failures). */
	criterion?: string;
	detail: string;
}

export type AssignDecision =
	| {
			action: 'assign';
			moduleId: string;
			/** The criterion the module remedies, when one does. */
			criterion?: string;
			triggers: AssignTrigger[];
			/** Other modules the evaluation points at; the frequency cap allows one assignment per window. */
			alsoIndicated: string[];
			reason: string;
	  }
	| { action: 'skip'; reason: SkipReason; detail: string; triggers: AssignTrigger[] };

function key(text: string): string {
	return text.trim().toLowerCase();
}

/** Module of a criterion: Taxonomy Map's remedial modules first (by order of failed criteria), then the node's table. */
function moduleFor(criterion: EvaluationCriterion, table: Map<string, string>): string | undefined {
	return table.get(key(criterion.name)) ?? table.get(key(criterion.id));
}

/** How many evaluations in a row (this one first, then history newest first) failed this criterion. */
export function consecutiveFailures(criterion: EvaluationCriterion, current: EvaluationItem, history: EvaluationItem[]): number {
	const matches = (other: EvaluationCriterion) => key(other.id) === key(criterion.id) || key(other.name) === key(criterion.name);
	let count = criterion.failed ? 1 : 0;
	if (!count) return 0;
	for (const previous of history) {
		if (previous.evaluation.id === current.evaluation.id || previous.training?.retracted) continue;
		const same = previous.evaluation.criteria.find(matches);
		// An evaluation on another form without this criterion neither breaks nor extends the streak.
		if (!same) continue;
		if (!same.failed) break;
		count++;
	}
	return count;
}

/**
 * Decides whether an evaluation calls for remedial training and which single module fits best
 * (critical failure first, then repeated failure, then the weakest failed criterion). Pure: the
 * frequency guardrail and the LMS history are checked afterwards by the caller.
 */
export function decideAssignment(item: EvaluationItem, history: EvaluationItem[], policy: AssignPolicy): AssignDecision {
	const { evaluation, training } = item;
	if (training?.retracted || evaluation.status === 'RETRACTED') {
		return { action: 'skip', reason: 'retracted', detail: `Evaluation ${evaluation.id} was retracted`, triggers: [] };
	}
	if (policy.requireReleased && (!evaluation.released || (evaluation.status && evaluation.status !== 'FINISHED'))) {
		return {
			action: 'skip',
			reason: 'not_released',
			detail: `Evaluation ${evaluation.id} is ${evaluation.released ? 'released' : 'not released'} with status ${evaluation.status || 'unknown'}; only released, finished evaluations assign training`,
			triggers: [],
		};
	}
	const table = new Map(Object.entries(policy.moduleByCriterion).map(([name, moduleId]) => [key(name), moduleId]));
	const failed = evaluation.criteria.filter((criterion) => criterion.failed);
	const triggers: AssignTrigger[] = [];
	const lowScore = evaluation.totalScore < policy.scoreThreshold;
	if (lowScore) {
		triggers.push({ kind: 'low_score', detail: `Total score ${evaluation.totalScore} is below ${policy.scoreThreshold}` });
	}
	const critical = policy.onCriticalFailure ? failed.filter((criterion) => criterion.critical) : [];
	for (const criterion of critical) {
		triggers.push({ kind: 'critical_failure', criterion: criterion.name, detail: `Critical question failed in ${criterion.name}` });
	}
	if (policy.onCriticalFailure && evaluation.failedCritical && critical.length === 0) {
		triggers.push({ kind: 'critical_failure', detail: 'A critical or kill question failed' });
	}
	const repeated: EvaluationCriterion[] = [];
	if (policy.consecutiveFails > 0) {
		for (const criterion of failed) {
			const streak = consecutiveFailures(criterion, item, history);
			if (streak >= policy.consecutiveFails) {
				repeated.push(criterion);
				triggers.push({ kind: 'repeated_failure', criterion: criterion.name, detail: `${criterion.name} failed ${streak} times in a row` });
			}
		}
	}
	if (triggers.length === 0) {
		return {
			action: 'skip',
			reason: 'above_threshold',
			detail: `Score ${evaluation.totalScore} is not below ${policy.scoreThreshold}, no critical failure${policy.consecutiveFails > 0 ? `, no criterion failed ${policy.consecutiveFails} times in a row` : ''}`,
			triggers,
		};
	}
	// Candidates in priority order: critical, repeated, then the weakest failed criteria (only when the score is low).
	const weakest = lowScore
		? [...failed].sort((a, b) => ratio(a) - ratio(b))
		: [];
	const ordered = unique([...critical, ...repeated, ...weakest]);
	const candidates: Array<{ moduleId: string; criterion?: string }> = [];
	const remedial = item.taxonomy?.remedialModuleIds ?? [];
	for (const criterion of ordered) {
		const moduleId = moduleFor(criterion, table);
		if (moduleId) candidates.push({ moduleId, criterion: criterion.name });
	}
	// Taxonomy Map already chose modules for the failed criteria: they come right after the node's own matches.
	for (const moduleId of remedial) candidates.push({ moduleId });
	if (candidates.length === 0 && policy.fallbackModuleId) candidates.push({ moduleId: policy.fallbackModuleId });
	const modules = unique(candidates.map((candidate) => candidate.moduleId));
	if (modules.length === 0) {
		return {
			action: 'skip',
			reason: 'no_module',
			detail: `No remedial module is mapped for ${failed.length ? failed.map((c) => c.name).join(', ') : 'this evaluation (no failed criterion)'}`,
			triggers,
		};
	}
	const chosen = candidates[0];
	return {
		action: 'assign',
		moduleId: chosen.moduleId,
		criterion: chosen.criterion,
		triggers,
		alsoIndicated: modules.slice(1),
		reason: triggers.map((trigger) => trigger.detail).join('; '),
	};
}

function ratio(criterion: EvaluationCriterion): number {
	return criterion.maxScore > 0 ? criterion.score / criterion.maxScore : 0;
}

function unique<T>(values: T[]): T[] {
	return [...new Set(values)];
}

/** Validates thresholds a business analyst typed; names the parameter at fault. */
export function policyProblems(policy: AssignPolicy): string[] {
	const problems: string[] = [];
	if (!Number.isFinite(policy.scoreThreshold) || policy.scoreThreshold < 0 || policy.scoreThreshold > 100) {
		problems.push(`Score Threshold must be between 0 and 100; got ${policy.scoreThreshold}`);
	}
	if (!Number.isInteger(policy.consecutiveFails) || policy.consecutiveFails < 0 || policy.consecutiveFails > 50) {
		problems.push(`Consecutive Fails must be a whole number from 0 to 50; got ${policy.consecutiveFails}`);
	}
	for (const [criterion, moduleId] of Object.entries(policy.moduleByCriterion)) {
		if (!criterion.trim()) problems.push('A module mapping has an empty criterion name');
		if (!String(moduleId ?? '').trim()) problems.push(`The module mapping for criterion "${criterion}" has an empty module ID`);
	}
	return problems;
}
