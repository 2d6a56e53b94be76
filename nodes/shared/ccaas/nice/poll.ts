import type { NiceClient } from './client';
import { finishExtraction, runExtraction, type ExtractionCallOptions } from './extraction';
import {
	evaluationsFrom,
	latestWorkflowSink,
	questionSink,
	QM_WORKFLOWS_ENTITY,
	type NiceEvaluationItem,
	type NormaliseOptions,
} from './evaluations';
import type { ExtractionEntity } from './types';

const DAY_MS = 86_400_000;

export interface EvaluationExtractionOptions extends NormaliseOptions, ExtractionCallOptions {
	workflowsEntity?: ExtractionEntity;
	/** The Q&A entity; undefined skips criteria (one job fewer, 30 s or more saved). */
	questionsEntity?: ExtractionEntity;
	onlyCompleted?: boolean;
	/** Longest wait for one job before the run gives up on it (the trigger keeps the job id for its next poll). */
	maxWaitMs: number;
}

export type ExtractionOutcome =
	| { state: 'done'; evaluations: NiceEvaluationItem[]; jobIds: string[]; refetches: number }
	| { state: 'running'; jobId: string };

/**
 * Runs the qm-workflows job for a window (or finishes `pendingJobId`), then the Q&A job for criteria when asked,
 * and returns normalised evaluations, oldest revision first.
 */
export async function extractEvaluations(
	client: NiceClient,
	window: { startDate: string; endDate: string },
	options: EvaluationExtractionOptions,
	pendingJobId?: string,
): Promise<ExtractionOutcome> {
	const sink = () => latestWorkflowSink(options.completedStates);
	const workflows = pendingJobId
		? await finishExtraction(client, pendingJobId, sink, options)
		: await runExtraction(client, options.workflowsEntity ?? QM_WORKFLOWS_ENTITY, window, sink, options);
	if (workflows.state === 'running') return workflows;
	const wanted = new Set(workflows.result.keys());
	let questions: Awaited<ReturnType<typeof runExtraction<Map<string, Record<string, string>[]>>>> | undefined;
	if (options.questionsEntity && wanted.size > 0) {
		// The Q&A job is short and runs while the trigger waits; a job still running after maxWaitMs leaves criteria empty.
		questions = await runExtraction(client, options.questionsEntity, window, () => questionSink(wanted), options);
	}
	const evaluations = evaluationsFrom(workflows.result, questions?.state === 'done' ? questions.result : undefined, options);
	const jobIds = [workflows.jobId, ...(questions ? [questions.jobId] : [])];
	const refetches = workflows.refetches + (questions?.state === 'done' ? questions.refetches : 0);
	return { state: 'done', evaluations, jobIds, refetches };
}

/** Workflow static data of the NICE Evaluation Trigger. */
export interface EvaluationCursor {
	/** Highest lastUpdated emitted (ISO); rows at or before it are old, except unseen ones exactly at it. */
	lastUpdated?: string;
	/** `workflowId@lastUpdated` of the rows emitted at `lastUpdated`. */
	possibleDuplicates: string[];
	/** A job created by an earlier poll that was still RUNNING. */
	pendingJob?: { jobId: string; startDate: string; endDate: string };
}

export function dayOf(ms: number): string {
	return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Date window of the next job: from the cursor's day (or the look-back) to tomorrow, at most `maxWindowDays`.
 * Whether endDate is inclusive is not documented; tomorrow covers today either way.
 */
export function extractionWindow(
	cursor: EvaluationCursor,
	options: { nowMs: number; firstRunLookBackDays: number; maxWindowDays: number },
): { startDate: string; endDate: string; capped: boolean } {
	const fromMs = cursor.lastUpdated ? Date.parse(cursor.lastUpdated) : options.nowMs - Math.max(0, options.firstRunLookBackDays) * DAY_MS;
	const startDate = dayOf(fromMs);
	const tomorrow = dayOf(options.nowMs + DAY_MS);
	const cappedEnd = dayOf(Date.parse(`${startDate}T00:00:00.000Z`) + Math.max(1, options.maxWindowDays) * DAY_MS);
	return cappedEnd < tomorrow ? { startDate, endDate: cappedEnd, capped: true } : { startDate, endDate: tomorrow, capped: false };
}

export function evaluationKey(item: NiceEvaluationItem): string {
	return `${item.evaluation.id}@${item.evaluation.revision ?? ''}`;
}

/**
 * Gmail-style boundary de-duplication: emit what is newer than the cursor, plus rows exactly at the cursor not yet
 * emitted; the new cursor is the highest revision emitted (or the start of the window's last day when the window
 * was capped, so a long outage is caught up window by window).
 */
export function selectNewEvaluations(
	evaluations: NiceEvaluationItem[],
	cursor: EvaluationCursor,
	window?: { endDate: string; capped: boolean },
): { emit: NiceEvaluationItem[]; cursor: EvaluationCursor } {
	const previous = cursor.lastUpdated;
	const seen = new Set(cursor.possibleDuplicates);
	const emit: NiceEvaluationItem[] = [];
	for (const item of evaluations) {
		const revision = item.evaluation.revision;
		if (!revision) continue;
		if (previous && revision < previous) continue;
		if (previous && revision === previous && seen.has(evaluationKey(item))) continue;
		emit.push(item);
	}
	let lastUpdated = previous;
	for (const item of emit) if (!lastUpdated || item.evaluation.revision! > lastUpdated) lastUpdated = item.evaluation.revision;
	if (window?.capped) {
		const floor = `${dayOf(Date.parse(`${window.endDate}T00:00:00.000Z`) - DAY_MS)}T00:00:00.000Z`;
		if (!lastUpdated || floor > lastUpdated) lastUpdated = floor;
	}
	const atBoundary = emit.filter((item) => item.evaluation.revision === lastUpdated).map(evaluationKey);
	const possibleDuplicates = lastUpdated === previous ? [...new Set([...cursor.possibleDuplicates, ...atBoundary])] : atBoundary;
	return { emit, cursor: { lastUpdated, possibleDuplicates } };
}
