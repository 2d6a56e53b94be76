import { assertSafeId } from '../../ids';
import { stateKeyOf, type RecordingRef } from '../../recordingRef';
import type { StateStore } from '../../state/types';
import type { ObjectStoreApi } from '../../store/types';
import { isStagedStage, stageSignedMedia } from '../common';
import type { GenesysClient } from './client';
import { isScreenRecording, type GenesysRecording } from './types';

/** What the trigger (or the operator) knows about the conversation before its recordings are read. */
export interface ConversationContext {
	conversationId: string;
	agentId?: string;
	queueId?: string;
	mediaType?: string;
	direction?: string;
	wrapupCode?: string;
	eventTime?: string;
	/**
	 * The operator's rule says this conversation holds sensitive data (a payment queue, a wrap-up code).
	 * Genesys documents no per-recording "sensitive" field: redaction follows `viewSensitiveData` instead.
	 */
	sensitive?: boolean;
}

/** Operator rules for `platformFlags.sensitiveData`: queue ids and wrap-up codes (case-insensitive). */
export function isSensitiveConversation(
	conversation: Pick<ConversationContext, 'queueId' | 'wrapupCode'>,
	rules: { queueIds: string[]; wrapupCodes: string[] },
): boolean {
	const has = (list: string[], value: string | undefined) => Boolean(value) && list.some((entry) => entry.toLowerCase() === value!.toLowerCase());
	return has(rules.queueIds, conversation.queueId) || has(rules.wrapupCodes, conversation.wrapupCode);
}

export interface StageOptions {
	/** Days an ARCHIVED recording is restored for (its new archive date). */
	restoreDays?: number;
	/** Longest total wait through 202 "transcoding" answers before giving up on this run. */
	maxTranscodeWaitMs: number;
	/** `maxWaitMs` sent to Genesys: how long the server may hold each answer. */
	serverMaxWaitMs: number;
	partSizeBytes?: number;
	signal?: AbortSignal;
}

/**
 * A screen recording that could not be staged on this run: `not_ready` and `restoring` come back on a later
 * run (retryAfterSec), `deleted` and `error` are final and go to the dead-letter table.
 */
export interface SkippedRecording {
	recordingId: string;
	mediaSubtype?: string;
	fileState?: string;
	outcome: 'not_ready' | 'restoring' | 'deleted' | 'error';
	reason: string;
	retryAfterSec?: number;
}

export type StageResult =
	| { state: 'staged'; refs: RecordingRef[]; reused: string[]; skipped: SkippedRecording[]; polls: number; resumes: number }
	| { state: 'transcoding'; polls: number; waitedMs: number; retryAfterSec: number };

export interface StageDeps {
	client: GenesysClient;
	store: ObjectStoreApi;
	state: StateStore;
}

/**
 * Copies every screen recording of one conversation into the object store, streaming (never buffering)
 * the signed media URL into a multipart upload, and records each in the state store.
 */
export async function stageConversationScreenRecordings(
	deps: StageDeps,
	conversation: ConversationContext,
	options: StageOptions,
): Promise<StageResult> {
	const conversationId = assertSafeId('conversationId', conversation.conversationId);
	const answer = await deps.client.waitForRecordings(conversationId, {
		maxTotalWaitMs: options.maxTranscodeWaitMs,
		maxWaitMs: options.serverMaxWaitMs,
		signal: options.signal,
	});
	if (answer.state === 'transcoding') {
		// Never an endless loop: the item comes back later, after about another wait of the same length.
		return { state: 'transcoding', polls: answer.polls, waitedMs: answer.waitedMs, retryAfterSec: Math.max(30, Math.ceil(answer.waitedMs / 1000)) };
	}

	const refs: RecordingRef[] = [];
	const reused: string[] = [];
	const skipped: SkippedRecording[] = [];
	let resumes = 0;
	for (const recording of answer.recordings) {
		if (!isScreenRecording(recording)) continue;
		const recordingId = assertSafeId('recordingId', recording.id);
		const fileState = recording.fileState ?? 'AVAILABLE';
		if (fileState !== 'AVAILABLE' && fileState !== 'RESTORED') {
			skipped.push(await notStageable(deps, conversation, recording, options));
			continue;
		}
		const outcome = await stageOne(deps, conversation, recording, options);
		refs.push(outcome.ref);
		resumes += outcome.resumes;
		if (outcome.reused) reused.push(recordingId);
	}
	return { state: 'staged', refs, reused, skipped, polls: answer.polls, resumes };
}

/** UPLOADING waits, ARCHIVED is restored (finished on a later run), DELETED and ERROR are final. */
async function notStageable(
	deps: StageDeps,
	conversation: ConversationContext,
	recording: GenesysRecording,
	options: StageOptions,
): Promise<SkippedRecording> {
	const conversationId = conversation.conversationId;
	const recordingId = recording.id;
	const stateKey = stateKeyOf('genesys-cloud', conversationId, recordingId);
	const fileState = recording.fileState ?? 'UNKNOWN';
	const base = { recordingId, mediaSubtype: recording.mediaSubtype, fileState };
	let skipped: SkippedRecording;
	switch (fileState) {
		case 'UPLOADING':
			// The agent's desktop is still uploading (minutes for long screen shares).
			skipped = { ...base, outcome: 'not_ready', reason: 'the recording is still uploading', retryAfterSec: 120 };
			break;
		case 'ARCHIVED': {
			// Changing the archive date of an archived recording restores it until that date (Recording API, PUT).
			const archiveDate = new Date(Date.now() + (options.restoreDays ?? 7) * 86400000).toISOString();
			await deps.client.api({
				method: 'PUT',
				path: `/api/v2/conversations/${conversationId}/recordings/${recordingId}`,
				body: { archiveDate },
				signal: options.signal,
			});
			skipped = { ...base, outcome: 'restoring', reason: `restore requested (archived until ${archiveDate})`, retryAfterSec: 300 };
			break;
		}
		case 'RESTORING':
			skipped = { ...base, outcome: 'restoring', reason: 'the recording is being restored from the archive', retryAfterSec: 300 };
			break;
		case 'DELETED':
			skipped = { ...base, outcome: 'deleted', reason: 'the recording was deleted by its retention policy' };
			break;
		default:
			skipped = { ...base, outcome: 'error', reason: `Genesys reports fileState ${fileState}` };
	}
	const stage = skipped.outcome === 'not_ready' ? 'not_ready' : skipped.outcome === 'restoring' ? 'restoring' : 'failed';
	const row = await deps.state.upsertRecording({
		stateKey,
		source: 'genesys-cloud',
		conversationId,
		recordingId,
		stage,
		ref: describeRecording(conversation, recording, stateKey),
	});
	if (row.stage !== stage && !isStagedStage(row.stage)) await deps.state.updateRecording(stateKey, row.version, { stage });
	// One dead letter per recording and state, however often the conversation is staged again.
	if (stage === 'failed' && (await deps.state.claimIdempotencyKey(`dead-letter:${stateKey}:${fileState}`, 'staging'))) {
		await deps.state.addDeadLetter({ stateKey, node: 'Genesys Cloud: Stage Screen Recordings', error: skipped.reason, payload: { conversation, recordingId, fileState } });
	}
	return skipped;
}

/**
 * Stages one recording whose media URI is known. `freshUri` gives a new signed URL when the old one is refused
 * (by default: read the recording again); batch downloads pass their own.
 */
export async function stageOne(
	deps: StageDeps,
	conversation: ConversationContext,
	recording: GenesysRecording,
	options: StageOptions,
	freshUri?: () => Promise<string | undefined>,
): Promise<{ ref: RecordingRef; reused: boolean; resumes: number }> {
	const conversationId = conversation.conversationId;
	const recordingId = recording.id;
	const baseRef = describeRecording(conversation, recording, stateKeyOf('genesys-cloud', conversationId, recordingId));
	const initialUri = firstMediaUri(recording);
	const refresh = freshUri ?? (async () => firstMediaUri(await rereadRecording(deps.client, conversationId, recordingId, options)));
	return await stageSignedMedia(
		deps,
		baseRef,
		{
			open: (url, offset) => deps.client.openMedia(url, options.signal, offset),
			// Checked only when a download is needed: an already staged recording is reused as it is.
			initialUrl: () => {
				if (!initialUri) throw new Error(`Recording ${recordingId} of conversation ${conversationId} has no media URI`);
				return initialUri;
			},
			freshUrl: async () => (await refresh()) ?? initialUri!,
			contentTypeOf: (announced) => announced || 'video/webm',
		},
		options,
	);
}

async function rereadRecording(
	client: GenesysClient,
	conversationId: string,
	recordingId: string,
	options: StageOptions,
): Promise<GenesysRecording> {
	const { status, body } = await client.api<GenesysRecording>({
		method: 'GET',
		path: `/api/v2/conversations/${conversationId}/recordings/${recordingId}`,
		query: { formatId: 'WEBM', maxWaitMs: options.serverMaxWaitMs },
		acceptStatus: [202],
		signal: options.signal,
	});
	if (status === 202 || !body) throw new Error(`Recording ${recordingId} is transcoding again; retry later`);
	return body;
}

function firstMediaUri(recording: GenesysRecording): string | undefined {
	const uris = recording.mediaUris ?? {};
	for (const key of Object.keys(uris).sort()) {
		if (uris[key]?.mediaUri) return uris[key].mediaUri;
	}
	return undefined;
}

function describeRecording(conversation: ConversationContext, recording: GenesysRecording, stateKey: string): RecordingRef {
	// The recording's users[] names whose screen it is (transfers give each agent their own recording).
	const user = recording.users?.[0];
	const agentId = user?.id ?? conversation.agentId ?? '';
	const startTime = recording.startTime ?? conversation.eventTime ?? '';
	const durationSec = durationOf(recording);
	const securePause = (recording.annotations ?? []).some((annotation) => annotation.reason === 'SecurePause');
	const ref: RecordingRef = {
		source: 'genesys-cloud',
		conversationId: conversation.conversationId,
		recordingId: recording.id,
		agent: compact({ id: agentId, name: user?.name, email: user?.email }),
		mediaType: recording.media ?? 'screen',
		startTime,
		stateKey,
	};
	if (conversation.queueId) ref.queue = { id: conversation.queueId };
	if (conversation.wrapupCode) ref.wrapupCode = conversation.wrapupCode;
	if (conversation.direction) ref.direction = conversation.direction;
	if (recording.endTime) ref.endTime = recording.endTime;
	if (durationSec !== undefined) ref.durationSec = durationSec;
	if (securePause || conversation.sensitive) {
		ref.platformFlags = {};
		if (conversation.sensitive) ref.platformFlags.sensitiveData = true;
		if (securePause) ref.platformFlags.securePause = true;
	}
	return ref;
}

function durationOf(recording: GenesysRecording): number | undefined {
	if (recording.outputDurationMs) return Math.round(recording.outputDurationMs / 100) / 10;
	if (recording.startTime && recording.endTime) {
		const ms = Date.parse(recording.endTime) - Date.parse(recording.startTime);
		if (ms >= 0) return Math.round(ms / 100) / 10;
	}
	return undefined;
}

function compact<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
