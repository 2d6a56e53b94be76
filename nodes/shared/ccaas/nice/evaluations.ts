import { isSafeId } from '../../ids';
import type { EvaluationCriterion, EvaluationItem } from '../../recordingRef';
import type { RowSink } from './extraction';
import type { CsvRow, ExtractionEntity } from './types';

/**
 * NICE CXone QM evaluations from Data Extraction CSVs (reference/ccaas-apis.md §2.4). Column names are matched after
 * normaliseColumnName, so "Workflow ID" and "workflowId" are the same column.
 */
export const QM_WORKFLOWS_ENTITY: ExtractionEntity = {
	entityName: 'qm-workflows',
	// The help page names version 4; versions 1 and 3 appear in public code. Configurable on the nodes.
	version: '4',
};

/**
 * The question-level (Q&A) entity's name is not confirmed in any source used here; this default is a guess and the
 * nodes let the operator set the real one (or leave it empty to skip criteria).
 */
export const QM_QUESTIONS_ENTITY_DEFAULT: ExtractionEntity = { entityName: 'qm-questions-answers', version: '1' };

/**
 * Values of workflowState/workflowStatus are not documented in the sources used; "Completed" is assumed to mark a
 * submitted evaluation and is configurable on the nodes. These mark a withdrawn one.
 */
export const DEFAULT_COMPLETED_STATES = ['completed'];
const WITHDRAWN_STATES = ['cancelled', 'canceled', 'deleted', 'expired', 'retracted', 'removed'];

export interface NiceEvaluationItem extends EvaluationItem {
	source: 'nice-cxone';
	/** CXone specifics that have no place in the shared contract. */
	nice: {
		workflowId: string;
		segmentId?: string;
		acdId: string;
		workflowState?: string;
		workflowStatus?: string;
		workflowType?: string;
		planName?: string;
		formVersion?: string;
		teamId?: string;
		teamName?: string;
		evaluatorName?: string;
		interactionStartDate?: string;
		interactionDirection?: string;
		score?: number;
		maximumPossibleScore?: number;
		/** Rows of this workflow (state changes) seen in the extract. */
		stateChanges: number;
	};
}

export interface WorkflowHistory {
	latest: CsvRow;
	latestMs: number;
	rows: number;
	completedRows: number;
}

/**
 * qm-workflows gives one row per workflow state change: keep the latest per workflowId by lastUpdated (a later
 * row in the file wins a tie). Memory grows with the number of workflows, not rows.
 */
export function latestWorkflowSink(completedStates: string[] = DEFAULT_COMPLETED_STATES): RowSink<Map<string, WorkflowHistory>> {
	const byWorkflow = new Map<string, WorkflowHistory>();
	const completed = lowerSet(completedStates);
	return {
		row(row) {
			const workflowId = row.workflowid;
			if (!workflowId) return;
			const ms = timeMs(row.lastupdated) ?? -Infinity;
			const entry = byWorkflow.get(workflowId);
			const isCompleted = isCompletedRow(row, completed);
			if (!entry) {
				byWorkflow.set(workflowId, { latest: row, latestMs: ms, rows: 1, completedRows: isCompleted ? 1 : 0 });
				return;
			}
			entry.rows++;
			if (isCompleted) entry.completedRows++;
			if (ms >= entry.latestMs) {
				entry.latest = row;
				entry.latestMs = ms;
			}
		},
		done: () => byWorkflow,
	};
}

/** Q&A rows of the latest submission of each workflow instance (optionally only of `wanted` workflows). */
export function questionSink(wanted?: Set<string>): RowSink<Map<string, CsvRow[]>> {
	const byWorkflow = new Map<string, { submittedMs: number; rows: CsvRow[] }>();
	return {
		row(row) {
			const workflowId = row.workflowinstanceid;
			if (!workflowId || (wanted && !wanted.has(workflowId))) return;
			const ms = timeMs(row.evaluationsubmissiondate) ?? -Infinity;
			const entry = byWorkflow.get(workflowId);
			if (!entry || ms > entry.submittedMs) byWorkflow.set(workflowId, { submittedMs: ms, rows: [row] });
			else if (ms === entry.submittedMs) entry.rows.push(row);
		},
		done: () => new Map([...byWorkflow].map(([id, entry]) => [id, entry.rows])),
	};
}

/**
 * Criteria are the form's sections: score and maximum are the sums over scorable questions; a section fails when it
 * scores below the threshold or holds a failed critical question (then it is also `critical`).
 */
export function criteriaFromQuestions(rows: CsvRow[], thresholdPct = 70): EvaluationCriterion[] {
	const sections = new Map<string, { name: string; score: number; maxScore: number; sectionPct?: number; critical: boolean }>();
	for (const row of rows) {
		const id = row.sectionid || row.sectiontitle || 'section';
		let section = sections.get(id);
		if (!section) {
			section = { name: row.sectiontitle || id, score: 0, maxScore: 0, critical: false };
			sections.set(id, section);
		}
		const scorable = row.scorable === undefined || row.scorable === '' || truthy(row.scorable);
		const actual = num(row.actualscore);
		const max = num(row.maxscore);
		if (scorable && actual !== undefined) section.score += actual;
		if (scorable && max !== undefined) section.maxScore += max;
		const sectionPct = num(row.sectionscorepct);
		if (sectionPct !== undefined) section.sectionPct = sectionPct;
		const criticalQuestion = truthy(row.critical);
		// failedCriticalQuestion may be per question or repeated per evaluation: only a critical question's own flag,
		// or a critical question scored below its maximum, marks its section.
		if (criticalQuestion && (truthy(row.failedcriticalquestion) || (actual !== undefined && max !== undefined && actual < max))) {
			section.critical = true;
		}
	}
	return [...sections].map(([id, section]) => {
		const pct = section.sectionPct ?? (section.maxScore > 0 ? (section.score / section.maxScore) * 100 : undefined);
		return {
			id,
			name: section.name,
			score: round2(section.score),
			maxScore: round2(section.maxScore),
			failed: section.critical || (pct !== undefined && pct < thresholdPct),
			critical: section.critical,
		};
	});
}

export interface NormaliseOptions {
	completedStates?: string[];
	criterionThresholdPct?: number;
}

/** Maps the latest qm-workflows row (and its Q&A rows) onto the EvaluationItem contract. */
export function normaliseWorkflow(history: WorkflowHistory, questions: CsvRow[] | undefined, options: NormaliseOptions = {}): NiceEvaluationItem | undefined {
	const row = history.latest;
	const workflowId = row.workflowid;
	const acdId = row.acdid;
	if (!isSafeId(workflowId) || !isSafeId(acdId)) return undefined;
	const completed = isCompletedRow(row, lowerSet(options.completedStates ?? DEFAULT_COMPLETED_STATES));
	const withdrawn = isWithdrawnRow(row);
	const criteria = questions && questions.length > 0 ? criteriaFromQuestions(questions, options.criterionThresholdPct) : [];
	const status = (row.workflowstate || row.workflowstatus || '').toUpperCase();
	const agentName = [row.firstnameagent, row.lastnameagent].filter(Boolean).join(' ') || undefined;
	const evaluatorName = [row.firstnameeva, row.lastnameeva].filter(Boolean).join(' ') || undefined;
	const totalScore = clamp(round2(num(row.scorepercentage) ?? 0), 0, 100);
	const revision = isoTime(row.lastupdated);
	const evaluatedAt = isoTime(row.submissiondate);
	// A workflow completed more than once in the extract, or settled by a dispute resolver, carries a new score.
	const rescore = history.completedRows > 1 || Boolean(row.disputeresolvercomments);
	const reason = withdrawn ? 'retracted' : completed ? undefined : 'not-completed';
	const item: NiceEvaluationItem = {
		source: 'nice-cxone',
		conversationId: acdId,
		agentId: row.agentid ?? '',
		agent: dropUndefined({ id: row.agentid ?? '', name: agentName }),
		evaluation: dropUndefined({
			id: workflowId,
			totalScore,
			// A completed NICE workflow is what Genesys calls FINISHED: the shared pipeline speaks one vocabulary;
			// NICE's own word stays in nice.workflowState.
			status: completed && !withdrawn ? 'FINISHED' : status,
			// The sources used document no release step separate from completion: a completed evaluation counts as released.
			released: completed && !withdrawn,
			criteria,
			revision,
			evaluatedAt,
			failedCritical: truthy(row.failedcriticalquestion) || criteria.some((criterion) => criterion.critical),
			formName: row.formname || undefined,
		}),
		training: dropUndefined({ drivesTraining: completed && !withdrawn, reason, rescore, retracted: withdrawn }),
		interactionType: row.interactiontype || undefined,
		nice: dropUndefined({
			workflowId,
			segmentId: row.segmentid || undefined,
			acdId,
			workflowState: row.workflowstate || undefined,
			workflowStatus: row.workflowstatus || undefined,
			workflowType: row.type || undefined,
			planName: row.planname || undefined,
			formVersion: row.formversion || undefined,
			teamId: row.teamid || undefined,
			teamName: row.teamname || undefined,
			evaluatorName,
			interactionStartDate: isoTime(row.interactionstartdate),
			interactionDirection: row.interactiondirection || undefined,
			score: num(row.score),
			maximumPossibleScore: num(row.maximumpossiblescore),
			stateChanges: history.rows,
		}),
	};
	if (!item.agent?.name) item.agent = { id: item.agentId };
	return item;
}

/** Latest state of every workflow, normalised, oldest revision first; `onlyCompleted` drops the rest. */
export function evaluationsFrom(
	workflows: Map<string, WorkflowHistory>,
	questions: Map<string, CsvRow[]> | undefined,
	options: NormaliseOptions & { onlyCompleted?: boolean } = {},
): NiceEvaluationItem[] {
	const items: NiceEvaluationItem[] = [];
	for (const [workflowId, history] of workflows) {
		const item = normaliseWorkflow(history, questions?.get(workflowId), options);
		if (!item) continue;
		if (options.onlyCompleted !== false && !item.training.drivesTraining) continue;
		items.push(item);
	}
	return items.sort((a, b) => (a.evaluation.revision ?? '').localeCompare(b.evaluation.revision ?? '') || a.evaluation.id.localeCompare(b.evaluation.id));
}

/**
 * Rows a tenant forwards itself (webhook): qm-workflows columns in any casing, one object or an array. Several rows
 * of one workflow are reduced like the CSV.
 */
export function evaluationsFromForwardedRows(rows: Array<Record<string, unknown>>, options: NormaliseOptions & { onlyCompleted?: boolean } = {}): NiceEvaluationItem[] {
	const sink = latestWorkflowSink(options.completedStates);
	const questions = new Map<string, CsvRow[]>();
	for (const raw of rows) {
		const row = normaliseRow(raw);
		sink.row(row);
		const nested = raw.questions ?? raw.answers;
		if (Array.isArray(nested) && row.workflowid) {
			questions.set(row.workflowid, nested.filter(isRecord).map((question) => normaliseRow(question)));
		}
	}
	return evaluationsFrom(sink.done(), questions, options);
}

/** Keys normalised like CSV columns, values as strings. */
export function normaliseRow(raw: Record<string, unknown>): CsvRow {
	const row: CsvRow = {};
	for (const [key, value] of Object.entries(raw)) {
		if (value === null || value === undefined || typeof value === 'object') continue;
		row[key.replace(/^\uFEFF/, '').toLowerCase().replace(/%/g, 'pct').replace(/[^a-z0-9]/g, '')] = String(value).trim();
	}
	return row;
}

export function isCompletedRow(row: CsvRow, completed: Set<string>): boolean {
	return completed.has((row.workflowstate ?? '').toLowerCase()) || completed.has((row.workflowstatus ?? '').toLowerCase());
}

function isWithdrawnRow(row: CsvRow): boolean {
	return WITHDRAWN_STATES.includes((row.workflowstate ?? '').toLowerCase()) || WITHDRAWN_STATES.includes((row.workflowstatus ?? '').toLowerCase());
}

/**
 * CSV timestamps: the format and time zone are not documented in the sources used; ISO 8601 is read as given and a
 * value without a zone is taken as UTC.
 */
export function timeMs(value: string | undefined): number | undefined {
	if (!value) return undefined;
	let text = value.trim();
	if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text = `${text.replace(' ', 'T')}Z`;
	const ms = Date.parse(text);
	return Number.isNaN(ms) ? undefined : ms;
}

export function isoTime(value: string | undefined): string | undefined {
	const ms = timeMs(value);
	return ms === undefined ? undefined : new Date(ms).toISOString();
}

export function truthy(value: string | undefined): boolean {
	return ['true', '1', 'yes', 'y'].includes(String(value ?? '').trim().toLowerCase());
}

function num(value: string | undefined): number | undefined {
	if (value === undefined || value === '') return undefined;
	const n = Number(value.replace('%', '').trim());
	return Number.isFinite(n) ? n : undefined;
}

function lowerSet(values: string[]): Set<string> {
	return new Set(values.map((value) => value.trim().toLowerCase()).filter(Boolean));
}

function round2(value: number): number {
	return Math.round(value * 100) / 100;
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(max, Math.max(min, value));
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropUndefined<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
