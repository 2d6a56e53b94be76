import { setTimeout as delay } from 'node:timers/promises';

import { assertSafeId } from '../../ids';
import type { RecordingRef } from '../../recordingRef';
import type { GenesysClient } from './client';
import { stageOne, type ConversationContext, type SkippedRecording, type StageDeps, type StageOptions } from './staging';

/** Genesys accepts at most 100 items per batch download request (SDK model docs). */
export const BATCH_LIMIT = 100;

export interface BatchRequestItem {
	conversationId: string;
	recordingId?: string;
}

export interface BatchResult {
	conversationId?: string;
	recordingId?: string;
	resultUrl?: string;
	contentType?: string;
	errorMsg?: string;
}

interface BatchJob {
	id: string;
	expectedResultCount?: number;
	resultCount?: number;
	errorCount?: number;
	status?: 'InProgress' | 'Completed' | string;
	results?: BatchResult[];
}

export async function submitBatch(client: GenesysClient, requests: BatchRequestItem[], signal?: AbortSignal): Promise<string> {
	if (requests.length === 0 || requests.length > BATCH_LIMIT) throw new Error(`A batch download takes 1 to ${BATCH_LIMIT} items, not ${requests.length}`);
	const { body } = await client.api<{ id?: string }>({
		method: 'POST',
		path: '/api/v2/recording/batchrequests',
		body: { batchDownloadRequestList: requests.map((request) => ({ conversationId: request.conversationId, recordingId: request.recordingId })) },
		signal,
	});
	if (!body?.id) throw new Error('Genesys Cloud accepted the batch download without a job id');
	return body.id;
}

export async function readBatch(client: GenesysClient, jobId: string, signal?: AbortSignal): Promise<BatchJob> {
	return (await client.api<BatchJob>({ method: 'GET', path: `/api/v2/recording/batchrequests/${encodeURIComponent(jobId)}`, signal })).body;
}

/**
 * Polls a job until it is Completed and all expected results are in (expectedResultCount can still grow while
 * recordings are discovered), never longer than `maxWaitMs`.
 */
export async function waitForBatch(
	client: GenesysClient,
	jobId: string,
	options: { maxWaitMs: number; pollIntervalMs?: number; signal?: AbortSignal },
): Promise<{ job: BatchJob; complete: boolean; polls: number }> {
	const started = Date.now();
	for (let polls = 1; ; polls++) {
		const job = await readBatch(client, jobId, options.signal);
		const complete = job.status === 'Completed' && (job.resultCount ?? 0) >= (job.expectedResultCount ?? 0);
		if (complete || Date.now() - started >= options.maxWaitMs) return { job, complete, polls };
		await delay(options.pollIntervalMs ?? 5000, undefined, { signal: options.signal });
	}
}

export interface BatchStageResult {
	refs: RecordingRef[];
	skipped: Array<SkippedRecording & { conversationId: string }>;
	jobs: number;
	polls: number;
}

/**
 * Stages the screen recordings of many conversations through batch download jobs (≤100 items each): each
 * video result is streamed into the object store like a single recording; a per-item `errorMsg` is reported
 * for that item alone. Batch results name no agent, so the agent comes from the request (the trigger's event).
 */
export async function stageBatch(
	deps: StageDeps,
	conversations: ConversationContext[],
	options: StageOptions & { maxBatchWaitMs: number; pollIntervalMs?: number },
): Promise<BatchStageResult> {
	const byId = new Map(conversations.map((conversation) => [assertSafeId('conversationId', conversation.conversationId), conversation]));
	const ids = [...byId.keys()];
	const result: BatchStageResult = { refs: [], skipped: [], jobs: 0, polls: 0 };
	for (let start = 0; start < ids.length; start += BATCH_LIMIT) {
		const chunk = ids.slice(start, start + BATCH_LIMIT);
		const jobId = await submitBatch(deps.client, chunk.map((conversationId) => ({ conversationId })), options.signal);
		result.jobs++;
		const { job, complete, polls } = await waitForBatch(deps.client, jobId, { maxWaitMs: options.maxBatchWaitMs, pollIntervalMs: options.pollIntervalMs, signal: options.signal });
		result.polls += polls;
		const seen = new Set<string>();
		for (const entry of job.results ?? []) {
			const conversation = entry.conversationId ? byId.get(entry.conversationId) : undefined;
			if (!conversation) continue;
			seen.add(conversation.conversationId);
			if (entry.errorMsg || !entry.resultUrl || !entry.recordingId) {
				result.skipped.push({ conversationId: conversation.conversationId, recordingId: entry.recordingId ?? '', outcome: 'error', reason: entry.errorMsg ?? 'no result URL' });
				continue;
			}
			// Results come in the original format: video is the screen, audio the call.
			if (!entry.contentType?.startsWith('video/')) continue;
			const recordingId = assertSafeId('recordingId', entry.recordingId);
			const freshUri = async () => (await readBatch(deps.client, jobId, options.signal)).results?.find((r) => r.recordingId === recordingId)?.resultUrl;
			const staged = await stageOne(
				deps,
				conversation,
				{ id: recordingId, media: 'screen', mediaSubtype: 'Screen', mediaUris: { '0': { mediaUri: entry.resultUrl } } },
				options,
				freshUri,
			);
			result.refs.push(staged.ref);
		}
		if (!complete) {
			for (const conversationId of chunk) {
				if (!seen.has(conversationId)) {
					result.skipped.push({ conversationId, recordingId: '', outcome: 'not_ready', reason: `batch job ${jobId} not complete after ${polls} polls`, retryAfterSec: 60 });
				}
			}
		}
	}
	return result;
}
