import { assertSafeId, isSafeId } from '../../ids';
import { stateKeyOf, type RecordingRef } from '../../recordingRef';
import type { StateStore } from '../../state/types';
import { extensionForContentType } from '../../store/keys';
import type { ObjectStoreApi } from '../../store/types';
import { stageSignedMedia } from '../common';
import type { NiceClient } from './client';
import { getPlayback, VOICE_AND_SCREEN, type PlaybackContact, type PlaybackInteraction, type PlaybackLookup } from './playback';

const SOURCE = 'nice-cxone' as const;

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
	const baseRef = describe(conversationId, recordingId, interaction, target.request, stateKeyOf(SOURCE, conversationId, recordingId));
	const freshUrl = async (): Promise<string> => {
		const contact = await getPlayback(deps.client, target.lookup, options.signal);
		const again = contact ? screenInteractions(contact) : [];
		const same = again.find((candidate, index) => recordingIdOf(candidate, index, target.request.segmentId) === recordingId) ?? again[target.index];
		if (!same?.fileToPlayUrl) throw new Error(`NICE CXone no longer offers media for recording ${recordingId} of contact ${conversationId}`);
		return same.fileToPlayUrl;
	};
	return await stageSignedMedia(
		deps,
		baseRef,
		{
			open: (url, offset) => deps.client.openSigned(url, { signal: options.signal, offset }),
			initialUrl: () => interaction.fileToPlayUrl!,
			freshUrl,
			// fileToPlayUrl is a composed voice+screen MP4; a generic type from the storage host is read as that.
			contentTypeOf: (announced) => (extensionForContentType(announced) === 'bin' ? 'video/mp4' : announced),
		},
		options,
	);
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
