import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import { parse } from 'csv-parse';

import { assertSafeId } from '../../ids';
import { HttpError } from '../../transport/errors';
import { NiceApiError, type NiceClient } from './client';
import type { CsvRow, ExtractionEntity, ExtractionJobStatus } from './types';

const JOBS_PATH = '/data-extraction/v1/jobs';
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The Data Extraction API kept refusing with 403 (its 1-call-per-30-s throttle, or a missing permission). */
export class ExtractionThrottledError extends Error {
	constructor(
		readonly retryAfterMs: number,
		readonly attempts: number,
	) {
		super(
			`NICE CXone Data Extraction answered 403 ${attempts} times in a row: another caller is using this tenant's ` +
				`one-call-per-30-seconds allowance, or the API user lacks Data Extraction permission; retry later`,
		);
		this.name = 'ExtractionThrottledError';
	}
}

/** A job that ended FAILED, CANCELLED or EXPIRED. */
export class ExtractionJobError extends Error {
	constructor(
		readonly jobId: string,
		readonly status: string,
		detail?: string,
	) {
		super(`NICE CXone Data Extraction job ${jobId} ended ${status}${detail ? `: ${detail}` : ''}`);
		this.name = 'ExtractionJobError';
	}
}

export interface ExtractionCallOptions {
	signal?: AbortSignal;
	/** How often a throttle 403 is waited out before giving up (default 3). */
	maxThrottleRetries?: number;
	/** Wait after a throttle 403; defaults to the client's minimum interval. */
	throttleBackoffMs?: number;
}

/**
 * One Data Extraction call: waits for the tenant's turn first, and treats 403 as the throttle (NICE answers its
 * 1-per-30-s limit with 403, not 429): wait and retry, then give up with ExtractionThrottledError.
 */
async function extractionCall<T>(
	client: NiceClient,
	request: Parameters<NiceClient['api']>[0],
	options: ExtractionCallOptions,
): Promise<{ status: number; body: T }> {
	const maxRetries = options.maxThrottleRetries ?? 3;
	const backoff = Math.max(options.throttleBackoffMs ?? 0, client.extractionMinIntervalMs);
	for (let attempt = 1; ; attempt++) {
		await client.extractionTurn(options.signal);
		try {
			return await client.api<T>({ ...request, signal: options.signal });
		} catch (error) {
			if (!(error instanceof HttpError && error.status === 403)) throw error;
			await client.noteExtractionCall();
			if (attempt > maxRetries) throw new ExtractionThrottledError(backoff, attempt);
			await delay(backoff, undefined, { signal: options.signal });
		}
	}
}

/** `POST /data-extraction/v1/jobs {entityName, version, startDate, endDate}` → 202 and the job id (a JSON string). */
export async function createExtractionJob(
	client: NiceClient,
	entity: ExtractionEntity,
	window: { startDate: string; endDate: string },
	options: ExtractionCallOptions = {},
): Promise<string> {
	if (!DAY_RE.test(window.startDate) || !DAY_RE.test(window.endDate)) {
		throw new Error(`Data Extraction dates must be YYYY-MM-DD; got ${window.startDate} … ${window.endDate}`);
	}
	const { body } = await extractionCall<unknown>(
		client,
		{
			method: 'POST',
			path: JOBS_PATH,
			body: { entityName: entity.entityName, version: String(entity.version), startDate: window.startDate, endDate: window.endDate },
		},
		options,
	);
	// Documented as a bare JSON string; an object with jobId/id is accepted too.
	const jobId = typeof body === 'string' ? body : (body as { jobId?: string; id?: string } | undefined)?.jobId ?? (body as { id?: string } | undefined)?.id;
	if (!jobId) throw new NiceApiError('NICE CXone accepted the extraction job without a job id');
	return assertSafeId('jobId', jobId.trim());
}

/** `GET /data-extraction/v1/jobs/{jobId}` → `{jobStatus: {id, status, result: {url | errorMessage}}}`. */
export async function getExtractionJob(client: NiceClient, jobId: string, options: ExtractionCallOptions = {}): Promise<ExtractionJobStatus> {
	const id = assertSafeId('jobId', jobId);
	const { body } = await extractionCall<{ jobStatus?: ExtractionJobStatus }>(
		client,
		{ method: 'GET', path: `${JOBS_PATH}/${encodeURIComponent(id)}` },
		options,
	);
	const status = body?.jobStatus;
	if (!status?.status) throw new NiceApiError(`NICE CXone answered job ${id} without a jobStatus`);
	return { ...status, id: status.id ?? id, status: String(status.status).toUpperCase() };
}

/**
 * Polls a job until it leaves RUNNING or `maxWaitMs` passes (then the RUNNING status is returned, for a later run).
 * Each GET is one throttled call, so polls are at least the tenant interval apart.
 */
export async function waitForExtractionJob(
	client: NiceClient,
	jobId: string,
	options: ExtractionCallOptions & { maxWaitMs: number },
): Promise<ExtractionJobStatus> {
	const started = Date.now();
	for (;;) {
		const status = await getExtractionJob(client, jobId, options);
		if (status.status !== 'RUNNING') return status;
		if (Date.now() - started + client.extractionMinIntervalMs >= options.maxWaitMs) return status;
	}
}

/** Column names as the tap normalises them: "Workflow ID", "workflowId" and "workflow_id" all become `workflowid`. */
export function normaliseColumnName(name: string): string {
	return name
		.replace(/^\uFEFF/, '')
		.toLowerCase()
		.replace(/%/g, 'pct')
		.replace(/[^a-z0-9]/g, '');
}

/** Parses a CSV stream row by row (never the whole file in memory) into rows keyed by normalised column names. */
export async function* csvRows(stream: Readable): AsyncGenerator<CsvRow> {
	const parser = parse({
		bom: true,
		columns: (header: string[]) => header.map(normaliseColumnName),
		skip_empty_lines: true,
		relax_column_count: true,
		trim: true,
	});
	stream.on('error', (error) => parser.destroy(error));
	stream.pipe(parser);
	for await (const record of parser) yield record as CsvRow;
}

/** Collects what the caller keeps of a result; a retried download starts a fresh sink. */
export interface RowSink<T> {
	row(row: CsvRow): void;
	done(): T;
}

/**
 * Downloads a SUCCEEDED job's CSV at once (its link is valid for 30 s) and feeds every row to a fresh sink. When
 * the link was refused (expired) or broke mid-way, the job is read again for a fresh link and the file re-read.
 */
export async function readExtractionResult<T>(
	client: NiceClient,
	job: ExtractionJobStatus,
	newSink: () => RowSink<T>,
	options: ExtractionCallOptions & { maxRefetches?: number } = {},
): Promise<{ result: T; refetches: number }> {
	let status = job;
	for (let refetches = 0; ; refetches++) {
		const url = status.result?.url;
		if (status.status !== 'SUCCEEDED' || !url) {
			throw new ExtractionJobError(status.id, status.status, status.result?.errorMessage ?? (url ? undefined : 'no result url'));
		}
		const sink = newSink();
		try {
			const { stream } = await client.openSigned(url, { signal: options.signal });
			for await (const row of csvRows(stream)) sink.row(row);
			return { result: sink.done(), refetches };
		} catch (error) {
			if (options.signal?.aborted || refetches >= (options.maxRefetches ?? 3)) throw error;
			// Bad CSV is not cured by a fresh link; an expired (403) or broken download is.
			const retryable = (error instanceof HttpError && (error.status === 403 || error.status >= 500)) || !(error instanceof HttpError || error instanceof NiceApiError || isCsvError(error));
			if (!retryable) throw error;
			status = await getExtractionJob(client, status.id, options);
		}
	}
}

function isCsvError(error: unknown): boolean {
	return typeof (error as { code?: unknown })?.code === 'string' && String((error as { code: string }).code).startsWith('CSV_');
}

/** Creates a job, waits for it, and reads its CSV; a job still RUNNING after `maxWaitMs` is returned for later. */
export async function runExtraction<T>(
	client: NiceClient,
	entity: ExtractionEntity,
	window: { startDate: string; endDate: string },
	newSink: () => RowSink<T>,
	options: ExtractionCallOptions & { maxWaitMs: number },
): Promise<{ state: 'done'; result: T; jobId: string; refetches: number } | { state: 'running'; jobId: string }> {
	const jobId = await createExtractionJob(client, entity, window, options);
	return await finishExtraction(client, jobId, newSink, options);
}

/** Continues a job created earlier (a poll that found it RUNNING stores its id). */
export async function finishExtraction<T>(
	client: NiceClient,
	jobId: string,
	newSink: () => RowSink<T>,
	options: ExtractionCallOptions & { maxWaitMs: number },
): Promise<{ state: 'done'; result: T; jobId: string; refetches: number } | { state: 'running'; jobId: string }> {
	const status = await waitForExtractionJob(client, jobId, options);
	if (status.status === 'RUNNING') return { state: 'running', jobId };
	const { result, refetches } = await readExtractionResult(client, status, newSink, options);
	return { state: 'done', result, jobId, refetches };
}

/** `GET /data-extraction/v1/jobs`: the credential test's cheap call (one throttled call, no retry on 403). */
export async function listExtractionJobs(client: NiceClient, options: ExtractionCallOptions = {}): Promise<unknown> {
	const { body } = await extractionCall<unknown>(client, { method: 'GET', path: JOBS_PATH }, { maxThrottleRetries: 0, ...options });
	return body;
}
