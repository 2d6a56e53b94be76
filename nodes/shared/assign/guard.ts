import { CX_TRAINING_NAMESPACE, uuidV5 } from '../ids';
import { revisionOf } from '../lms/pipeline';
import type { AssignmentRequest, AssignResult, LmsAdapter, TargetAssignment } from '../lms/types';
import type { EvaluationItem } from '../recordingRef';
import type { AssignmentClaim, StateStore } from '../state/types';
import { businessDueDate, endOfDay, type DueDate } from './dueDate';
import { decideAssignment, type AssignPolicy, type AssignTrigger, type SkipReason } from './policy';

export interface GuardOptions {
	/** At most one assignment per agent within this many days. Default 7. */
	agentWindowDays: number;
	/** The same module not again within this many days. Default 28. */
	moduleCooldownDays: number;
	/** Due date: this many business days ahead in the agent's time zone. Default 5. */
	dueBusinessDays: number;
	/** Zone used when the item names none for the agent. */
	defaultTimeZone: string;
	holidays?: string[];
	/** Route to "approval needed" instead of assigning. */
	requireApproval: boolean;
	/** Also ask the target for the agent's recent assignments (the LMS's own history). Default true. */
	consultTargetHistory: boolean;
	/** How many of the agent's past evaluations to read for repeated failures. */
	historyDepth?: number;
	now?: Date;
}

export const DEFAULT_GUARD: GuardOptions = {
	agentWindowDays: 7,
	moduleCooldownDays: 28,
	dueBusinessDays: 5,
	defaultTimeZone: 'UTC',
	requireApproval: false,
	consultTargetHistory: true,
};

export interface AssignmentSummary {
	claimKey: string;
	assignmentId: string;
	moduleId: string;
	agentId: string;
	evaluationId: string;
	conversationId: string;
	dueDate: string;
	dueAt: string;
	timeZone: string;
	reason: string;
	criterion?: string;
	alsoIndicated?: string[];
	target?: string;
	/** False when a previous run had already assigned it (a retry or a redelivered evaluation). */
	created?: boolean;
}

export type GuardOutcome =
	| { output: 'assigned'; assignment: AssignmentSummary; triggers: AssignTrigger[]; result?: AssignResult }
	| { output: 'skipped'; reason: SkipReason; detail: string; triggers: AssignTrigger[]; blocking?: Partial<AssignmentClaim> | TargetAssignment; moduleId?: string }
	| { output: 'approval'; assignment: AssignmentSummary; triggers: AssignTrigger[] };

const DAY_MS = 86400000;

/** Same agent, module and evaluation → same key and the same assignment id at the target. */
export function claimKeyFor(agentId: string, moduleId: string, evaluationId: string): string {
	return `${agentId}|${moduleId}|${evaluationId}`;
}

export function assignmentIdFor(claimKey: string): string {
	return uuidV5(`assignment:${claimKey}`, CX_TRAINING_NAMESPACE);
}

/**
 * The whole guardrail for one evaluation: remember it (history for repeated failures), decide, consult the
 * target's own history, take the atomic claim, then assign (or hold for approval). A retry of the same
 * evaluation finds its own claim and finishes it once; another evaluation inside the window is refused.
 */
export async function guardedAssign(
	item: EvaluationItem,
	state: StateStore,
	adapter: LmsAdapter,
	policy: AssignPolicy,
	options: GuardOptions,
	signal?: AbortSignal,
): Promise<GuardOutcome> {
	const now = options.now ?? new Date();
	await state.putEvaluation({
		evaluationId: item.evaluation.id,
		source: item.source,
		conversationId: item.conversationId,
		agentId: item.agentId,
		revision: revisionOf(item) || now.toISOString(),
		evaluatedAt: item.evaluation.evaluatedAt,
		payload: item,
	});
	const history = (await state.listEvaluationsByAgent(item.agentId, options.historyDepth ?? 50))
		.map((stored) => stored.payload as EvaluationItem)
		.filter((previous) => previous?.evaluation && previous.evaluation.id !== item.evaluation.id)
		.filter((previous) => !item.evaluation.evaluatedAt || !previous.evaluation.evaluatedAt || previous.evaluation.evaluatedAt <= item.evaluation.evaluatedAt);
	const decision = decideAssignment(item, history, policy);
	if (decision.action === 'skip') return { output: 'skipped', reason: decision.reason, detail: decision.detail, triggers: decision.triggers };

	const claimKey = claimKeyFor(item.agentId, decision.moduleId, item.evaluation.id);
	const assignmentId = assignmentIdFor(claimKey);
	const existing = await state.getAssignment(claimKey);
	if (existing?.status === 'assigned') {
		return { output: 'assigned', assignment: summary(item, claimKey, assignmentId, decision, existing, adapter.target, false), triggers: decision.triggers };
	}

	const windowStart = new Date(now.getTime() - options.agentWindowDays * DAY_MS).toISOString();
	const cooldownStart = new Date(now.getTime() - options.moduleCooldownDays * DAY_MS).toISOString();
	if (options.consultTargetHistory && !existing) {
		const since = windowStart < cooldownStart ? windowStart : cooldownStart;
		const known = (await adapter.listAssignments(agentOf(item), since, signal)).filter((entry) => entry.assignmentId !== assignmentId);
		const started = known.find((entry) => entry.moduleId === decision.moduleId && entry.state === 'started');
		if (started) {
			return { output: 'skipped', reason: 'already_started', detail: `${decision.moduleId} is in progress for agent ${item.agentId} at the LMS; it is never reassigned`, triggers: decision.triggers, blocking: started, moduleId: decision.moduleId };
		}
		const recent = known.find((entry) => entry.assignedAt >= windowStart);
		if (recent) {
			return { output: 'skipped', reason: 'recent_assignment', detail: `Agent ${item.agentId} was assigned ${recent.moduleId} at the LMS on ${recent.assignedAt}, within ${options.agentWindowDays} days`, triggers: decision.triggers, blocking: recent, moduleId: decision.moduleId };
		}
		const sameModule = known.find((entry) => entry.moduleId === decision.moduleId && entry.assignedAt >= cooldownStart);
		if (sameModule) {
			return { output: 'skipped', reason: 'cooldown', detail: `${decision.moduleId} was assigned to agent ${item.agentId} on ${sameModule.assignedAt}, within its ${options.moduleCooldownDays}-day cooldown`, triggers: decision.triggers, blocking: sameModule, moduleId: decision.moduleId };
		}
	}

	const due = businessDueDate({
		businessDays: options.dueBusinessDays,
		timeZone: item.agent?.timeZone || options.defaultTimeZone,
		holidays: options.holidays,
		from: now,
	});
	const claim = await state.claimAssignment({
		claimKey,
		agentId: item.agentId,
		moduleId: decision.moduleId,
		evaluationId: item.evaluation.id,
		dueDate: due.date,
		status: options.requireApproval ? 'approval_pending' : 'claimed',
		agentWindowStart: windowStart,
		moduleCooldownStart: cooldownStart,
		now: now.toISOString(),
	});
	if (claim.outcome !== 'claimed' && claim.outcome !== 'existing') {
		const blocking = claim.blocking;
		const detail =
			claim.outcome === 'recent_assignment'
				? `Agent ${item.agentId} already has ${blocking.moduleId} (${blocking.status}) from ${blocking.createdAt}, within ${options.agentWindowDays} days`
				: `${decision.moduleId} was given to agent ${item.agentId} on ${blocking.createdAt}, within its ${options.moduleCooldownDays}-day cooldown`;
		return { output: 'skipped', reason: claim.outcome, detail, triggers: decision.triggers, blocking, moduleId: decision.moduleId };
	}
	const row = claim.claim;
	const assignment = summary(item, claimKey, assignmentId, decision, row, adapter.target, undefined, due);
	if (row.status === 'assigned') return { output: 'assigned', assignment: { ...assignment, created: false }, triggers: decision.triggers };
	if (row.status === 'approval_pending') return { output: 'approval', assignment, triggers: decision.triggers };
	const result = await assignAtTarget(state, adapter, claimKey, requestFor(assignment, item), signal);
	if (result.state === 'started' || result.state === 'completed') {
		return { output: 'skipped', reason: 'already_started', detail: `The LMS reports ${decision.moduleId} as ${result.state} for agent ${item.agentId}; it is never reassigned`, triggers: decision.triggers, moduleId: decision.moduleId };
	}
	return { output: 'assigned', assignment: { ...assignment, created: result.created }, triggers: decision.triggers, result };
}

/** The second half of the approval path: the approved (or rejected) item comes back with its claim key. */
export async function completeApproval(
	claimKey: string,
	approved: boolean,
	state: StateStore,
	adapter: LmsAdapter,
	options: Pick<GuardOptions, 'defaultTimeZone'>,
	signal?: AbortSignal,
): Promise<GuardOutcome> {
	const claim = await state.getAssignment(claimKey);
	if (!claim) throw new Error(`No assignment is waiting for approval under claim key ${JSON.stringify(claimKey)}`);
	const stored = claim.evaluationId ? await state.getEvaluation(claim.evaluationId) : undefined;
	const item = stored?.payload as EvaluationItem | undefined;
	if (!item?.evaluation) throw new Error(`The evaluation behind claim ${claimKey} is no longer in the state store`);
	const assignmentId = assignmentIdFor(claimKey);
	const timeZone = item.agent?.timeZone || options.defaultTimeZone;
	const due: DueDate = claim.dueDate
		? { date: claim.dueDate, dueAt: endOfDay(claim.dueDate, timeZone), timeZone }
		: businessDueDate({ businessDays: 5, timeZone });
	const decision = { moduleId: claim.moduleId, reason: 'Approved remedial training', alsoIndicated: [] as string[] };
	const assignment = summary(item, claimKey, assignmentId, decision, claim, adapter.target, undefined, due);
	if (claim.status === 'assigned') return { output: 'assigned', assignment: { ...assignment, created: false }, triggers: [] };
	if (!approved) {
		await state.updateAssignment(claimKey, { status: 'failed' });
		return { output: 'skipped', reason: 'rejected', detail: `The assignment of ${claim.moduleId} to agent ${claim.agentId} was not approved`, triggers: [], moduleId: claim.moduleId };
	}
	if (claim.status === 'failed') {
		throw new Error(`Claim ${claimKey} was rejected or failed earlier; a new evaluation has to start a new assignment`);
	}
	await state.updateAssignment(claimKey, { status: 'claimed' });
	const result = await assignAtTarget(state, adapter, claimKey, requestFor(assignment, item), signal);
	return { output: 'assigned', assignment: { ...assignment, created: result.created }, triggers: [], result };
}

async function assignAtTarget(
	state: StateStore,
	adapter: LmsAdapter,
	claimKey: string,
	request: AssignmentRequest,
	signal?: AbortSignal,
): Promise<AssignResult> {
	let result: AssignResult;
	try {
		result = await adapter.assign(request, signal);
	} catch (error) {
		// The claim must not hold the agent's window for an assignment that never happened; a replay revives it.
		await state.updateAssignment(claimKey, { status: 'failed' });
		throw error;
	}
	if (result.state === 'started' || result.state === 'completed') {
		await state.updateAssignment(claimKey, { status: 'failed' });
		return result;
	}
	await state.updateAssignment(claimKey, { status: 'assigned', targetAssignmentId: result.assignmentId, dueDate: request.dueDate });
	return result;
}

function agentOf(item: EvaluationItem): { id: string; email?: string; name?: string } {
	return { id: item.agentId, email: item.agent?.email, name: item.agent?.name };
}

function requestFor(assignment: AssignmentSummary, item: EvaluationItem): AssignmentRequest {
	return {
		assignmentId: assignment.assignmentId,
		agent: agentOf(item),
		moduleId: assignment.moduleId,
		dueDate: assignment.dueDate,
		dueAt: assignment.dueAt,
		evaluationId: item.evaluation.id,
		conversationId: item.conversationId,
		reason: assignment.reason,
		assetId: item.lms?.assetId,
	};
}

function summary(
	item: EvaluationItem,
	claimKey: string,
	assignmentId: string,
	decision: { moduleId: string; reason: string; criterion?: string; alsoIndicated: string[] },
	claim: Pick<AssignmentClaim, 'dueDate'>,
	target: string,
	created?: boolean,
	due?: DueDate,
): AssignmentSummary {
	const zone = due?.timeZone ?? item.agent?.timeZone ?? 'UTC';
	const dueDate = due?.date ?? claim.dueDate ?? '';
	return {
		claimKey,
		assignmentId,
		moduleId: decision.moduleId,
		agentId: item.agentId,
		evaluationId: item.evaluation.id,
		conversationId: item.conversationId,
		dueDate,
		dueAt: due?.dueAt ?? (dueDate ? endOfDay(dueDate, zone) : ''),
		timeZone: zone,
		reason: decision.reason,
		...(decision.criterion ? { criterion: decision.criterion } : {}),
		...(decision.alsoIndicated.length ? { alsoIndicated: decision.alsoIndicated } : {}),
		target,
		...(created === undefined ? {} : { created }),
	};
}
