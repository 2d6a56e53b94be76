import { assertSafeId, isSafeId } from '../../ids';
import { stateKeyOf, type RecordingRef } from '../../recordingRef';
import type { StateStore } from '../../state/types';
import { extensionForContentType, recordingObjectKey } from '../../store/keys';
import type { ObjectStoreApi } from '../../store/types';
import { resumableSignedStream, type NiceClient } from './client';
import { getPlayback, VOICE_AND_SCREEN, type PlaybackContact, type PlaybackInteraction, type PlaybackLookup } from './playback';

const SOURCE = 'nice-cxone' as const;
const STAGED_STAGES = new Set(['staged', 'pushed_placeholder', 'pushed_final', 'quarantined']);

export interface NiceStageDeps {
	client: NiceClient;
	store: ObjectStoreApi;
	state: StateStore;
}

export interface NiceStageRequest {
	/** The ACD contact id (`acd-call-id`), the join key with QM's acdId. */
	acdCallId?: string;
	/** One segment (`/media-playback/v1/segments/{id}`) instead of the whole contact. */
	segmentId?: string;
	/** Used when the playback answer names no agent. */
	agentId?: string;
	/** An operator rule says this contact holds sensitive data. */
	sensitive?: boolean;
}

export interface NiceSkipped {
	conversationId: string;
	recordingId?: string;
	outcome: 'not_found' | 'no_media';
	reason: string;
}

export interface NiceStageResult {
	refs: RecordingRef[];
	reused: string[];
	skipped: NiceSkipped[];
	resumes: number;
}

/**
 * Streams every voice-and-screen MP4 of one contact (or segment) from its signed `fileToPlayUrl` into the object
 * store (multipart, SHA-256 and size recorded) and records it in the state store. An expired or refused URL is
 * replaced by reading the playback metadata again.
 */
export async function stageVoiceAndScreen(
	deps: NiceStageDeps,
	request: NiceStageRequest,
	options: { partSizeBytes?: number; signal?: AbortSignal } = {},
): Promise<NiceStageResult> {
	const lookup = lookupOf(request);
	const contact = await getPlayback(deps.client, lookup, options.signal);
	const fallbackId = request.acdCallId ?? request.segmentId ?? '';
	if (!contact) {
		return {
			refs: [],
			reused: [],
			skipped: [{ conversationId: fallbackId, outcome: 'not_found', reason: 'NICE CXone has no such interaction (only interactions recorded since 2018-12-13 are served)' }],
			resumes: 0,
		};
	}
	const conversationId = assertSafeId('acdCallId', contact.acdContactId ?? request.acdCallId ?? contact.contactId ?? request.segmentId);
	const result: NiceStageResult = { refs: [], reused: [], skipped: [], resumes: 0 };
	const candidates = screenInteractions(contact);
	if (candidates.length === 0) {
		result.skipped.push({ conversationId, outcome: 'no_media', reason: 'The contact has no voice-and-screen recording' });
		return result;
	}
	for (const [index, interaction] of candidates.entries()) {
		const recordingId = recordingIdOf(interaction, index, request.segmentId);
		if (!interaction.fileToPlayUrl) {
			result.skipped.push({ conversationId, recordingId, outcome: 'no_media', reason: 'The interaction has no fileToPlayUrl yet' });
			continue;
		}
		const staged = await stageOne(deps, { conversationId, recordingId, interaction, request, lookup, index }, options);
		result.refs.push(staged.ref);
		result.resumes += staged.resumes;
		if (staged.reused) result.reused.push(recordingId);
	}
	return result;
}

function lookupOf(request: NiceStageRequest): PlaybackLookup {
	if (request.segmentId) return { segmentId: assertSafeId('segmentId', request.segmentId), acdCallId: request.acdCallId };
	if (!request.acdCallId) throw new Error('Staging a NICE CXone recording needs a contact (ACD call) ID or a segment ID');
	return { acdCallId: assertSafeId('acdCallId', request.acdCallId) };
}

function screenInteractions(contact: PlaybackContact): PlaybackInteraction[] {
	return contact.interactions.filter((interaction) => interaction.mediaType.toLowerCase() === VOICE_AND_SCREEN);
}

/** The segment id names the recording when known; otherwise its position among the contact's voice-and-screen media. */
function recordingIdOf(interaction: PlaybackInteraction, index: number, requestedSegment?: string): string {
	if (requestedSegment) return requestedSegment;
	const segmentId = interaction.segmentIds.find(isSafeId);
	return segmentId ?? `voice-and-screen-${index + 1}`;
}

async function stageOne(
	deps: NiceStageDeps,
	target: { conversationId: string; recordingId: string; interaction: PlaybackInteraction; request: NiceStageRequest; lookup: PlaybackLookup; index: number },
	options: { partSizeBytes?: number; signal?: AbortSignal },
): Promise<{ ref: RecordingRef; reused: boolean; resumes: number }> {
	const { conversationId, recordingId, interaction } = target;
	const stateKey = stateKeyOf(SOURCE, conversationId, recordingId);
	const baseRef = describe(conversationId, recordingId, interaction, target.request, stateKey);
	const row = await deps.state.upsertRecording({ stateKey, source: SOURCE, conversationId, recordingId, stage: 'staging', ref: baseRef });
	// A retried execution finds the object already staged and intact: no second download, no playback quota spent.
	if (STAGED_STAGES.has(row.stage) && row.ref.object) {
		const head = await deps.store.head(row.ref.object.key);
		if (head && head.size === row.ref.object.size) {
			return { ref: { ...baseRef, ...row.ref, object: row.ref.object } as RecordingRef, reused: true, resumes: 0 };
		}
	}
	let resumes = 0;
	const freshUrl = async (): Promise<string> => {
		const contact = await getPlayback(deps.client, target.lookup, options.signal);
		const again = contact ? screenInteractions(contact) : [];
		const same = again.find((candidate, index) => recordingIdOf(candidate, index, target.request.segmentId) === recordingId) ?? again[target.index];
		if (!same?.fileToPlayUrl) throw new Error(`NICE CXone no longer offers media for recording ${recordingId} of contact ${conversationId}`);
		return same.fileToPlayUrl;
	};
	const media = resumableSignedStream(deps.client, interaction.fileToPlayUrl!, freshUrl, {
		signal: options.signal,
		onResume: () => {
			resumes++;
		},
	});
	media.stream.on('error', () => undefined);
	media.stream.read(0);
	const announced = await media.first;
	// fileToPlayUrl is a composed voice+screen MP4; a generic type from the storage host is read as that.
	const announcedType = (announced?.contentType ?? '').split(';')[0].trim().toLowerCase();
	const contentType = extensionForContentType(announcedType) === 'bin' ? 'video/mp4' : announcedType;
	const key = recordingObjectKey(SOURCE, conversationId, recordingId, `original.${extensionForContentType(contentType)}`);
	const stored = await deps.store.uploadStream(key, media.stream, {
		contentType,
		metadata: { 'conversation-id': conversationId, 'recording-id': recordingId, source: SOURCE },
		partSizeBytes: options.partSizeBytes,
		signal: options.signal,
	});
	if (announced?.contentLength !== undefined && resumes === 0 && announced.contentLength !== stored.size) {
		throw new Error(`Recording ${recordingId}: received ${stored.size} bytes, the media host announced ${announced.contentLength}`);
	}
	const ref: RecordingRef = {
		...baseRef,
		object: { bucket: stored.bucket, key: stored.key, size: stored.size, sha256: stored.sha256, contentType: stored.contentType },
	};
	await saveStaged(deps.state, stateKey, ref);
	return { ref, reused: false, resumes };
}

/** Compare-and-swap until the row says staged (a later stage written meanwhile is kept). */
export async function saveStaged(state: StateStore, stateKey: string, ref: RecordingRef): Promise<void> {
	for (let attempt = 0; attempt < 5; attempt++) {
		const row = await state.getRecording(stateKey);
		if (!row) throw new Error(`State row ${stateKey} disappeared while staging`);
		const stage = STAGED_STAGES.has(row.stage) ? row.stage : 'staged';
		if (await state.updateRecording(stateKey, row.version, { stage, ref: { ...row.ref, ...ref } })) return;
	}
	throw new Error(`State row ${stateKey} kept changing while staging`);
}

export function isStagedStage(stage: string): boolean {
	return STAGED_STAGES.has(stage);
}

function describe(conversationId: string, recordingId: string, interaction: PlaybackInteraction, request: NiceStageRequest, stateKey: string): RecordingRef {
	const startMs = interaction.startTime ? Date.parse(interaction.startTime) : NaN;
	const endMs = interaction.endTime ? Date.parse(interaction.endTime) : NaN;
	const ref: RecordingRef = {
		source: SOURCE,
		conversationId,
		recordingId,
		agent: interaction.agentName
			? { id: interaction.agentId ?? request.agentId ?? '', name: interaction.agentName }
			: { id: interaction.agentId ?? request.agentId ?? '' },
		mediaType: VOICE_AND_SCREEN,
		startTime: Number.isNaN(startMs) ? '' : new Date(startMs).toISOString(),
		stateKey,
	};
	if (!Number.isNaN(endMs)) ref.endTime = new Date(endMs).toISOString();
	if (!Number.isNaN(startMs) && !Number.isNaN(endMs) && endMs >= startMs) ref.durationSec = Math.round((endMs - startMs) / 100) / 10;
	if (interaction.direction) ref.direction = interaction.direction;
	if (request.sensitive) ref.platformFlags = { sensitiveData: true };
	return ref;
}
