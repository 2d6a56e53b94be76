import { assertSafeId } from '../../ids';
import { HttpError } from '../../transport/errors';
import type { NiceClient } from './client';

/**
 * Media Playback API (help.nicecxone.com mediaplaybacksapis.htm): working public code reads camelCase
 * (`interactions[].data.fileToPlayUrl`) while the help page shows `value.Interactions[].Interaction`; every field is
 * read case-insensitively and both wrappers are unwrapped.
 */
export interface PlaybackInteraction {
	mediaType: string;
	fileToPlayUrl?: string;
	startTime?: string;
	endTime?: string;
	agentId?: string;
	agentName?: string;
	segmentIds: string[];
	direction?: string;
	tags: string[];
}

export interface PlaybackContact {
	contactId?: string;
	acdContactId?: string;
	interactions: PlaybackInteraction[];
}

export const VOICE_AND_SCREEN = 'voice-and-screen';

export type PlaybackLookup = { acdCallId: string; segmentId?: undefined } | { segmentId: string; acdCallId?: string };

/** The contact's interactions, or undefined when NICE does not know it ("Interaction Not Found"). */
export async function getPlayback(client: NiceClient, lookup: PlaybackLookup, signal?: AbortSignal): Promise<PlaybackContact | undefined> {
	const query = { 'media-type': VOICE_AND_SCREEN, 'exclude-waveforms': 'true', 'exclude-qm-categories': 'true' };
	try {
		const { body } = lookup.segmentId
			? await client.api<unknown>({
					method: 'GET',
					path: `/media-playback/v1/segments/${encodeURIComponent(assertSafeId('segmentId', lookup.segmentId))}`,
					query,
					playback: true,
					signal,
				})
			: await client.api<unknown>({
					method: 'GET',
					path: '/media-playback/v1/contacts',
					query: { 'acd-call-id': assertSafeId('acdCallId', lookup.acdCallId), ...query },
					playback: true,
					signal,
				});
		return parsePlayback(body);
	} catch (error) {
		// Only interactions recorded since 2018-12-13 are served; others answer "Interaction Not Found". Its status
		// code is not documented: 404, and a 400 naming it, both mean "no such recording".
		if (error instanceof HttpError && (error.status === 404 || (error.status === 400 && /not\s*found/i.test(JSON.stringify(error.responseBody ?? ''))))) {
			return undefined;
		}
		throw error;
	}
}

export function parsePlayback(body: unknown): PlaybackContact {
	let root = isRecord(body) ? body : {};
	const value = field(root, 'value');
	if (isRecord(value)) root = value;
	const interactions = asArray(field(root, 'interactions')).map(parseInteraction).filter((entry): entry is PlaybackInteraction => Boolean(entry));
	return {
		contactId: str(field(root, 'contactId')),
		acdContactId: str(field(root, 'acdcontactId')) ?? str(field(root, 'acdContactId')),
		interactions,
	};
}

function parseInteraction(raw: unknown): PlaybackInteraction | undefined {
	if (!isRecord(raw)) return undefined;
	const wrapped = field(raw, 'interaction');
	const interaction = isRecord(wrapped) ? wrapped : raw;
	const dataField = field(interaction, 'data');
	const data = isRecord(dataField) ? dataField : interaction;
	const participants = asArray(field(data, 'participantDataList')).filter(isRecord);
	const agent = participants.find((participant) => String(field(participant, 'participantType') ?? '').toUpperCase() === 'AGENT');
	const segments = asArray(field(data, 'segmentsDataList')).filter(isRecord);
	const segmentIds = segments.map((segment) => str(field(segment, 'segmentId')) ?? str(field(segment, 'id'))).filter((id): id is string => Boolean(id));
	const tags = asArray(field(interaction, 'callTaggingList'))
		.map((tag) => (isRecord(tag) ? str(field(tag, 'value')) : str(tag)))
		.filter((tag): tag is string => Boolean(tag));
	return {
		mediaType: String(str(field(interaction, 'mediaType')) ?? str(field(data, 'mediaType')) ?? ''),
		fileToPlayUrl: str(field(data, 'fileToPlayUrl')) ?? str(field(interaction, 'fileToPlayUrl')) ?? str(field(data, 'redirectUrl')),
		startTime: str(field(data, 'startTime')),
		endTime: str(field(data, 'endTime')),
		agentId: agent ? str(field(agent, 'participantId')) : undefined,
		agentName: agent ? str(field(agent, 'agentName')) : undefined,
		segmentIds,
		direction: segments.map((segment) => str(field(segment, 'directionType'))).find(Boolean),
		tags,
	};
}

/** Reads a property whatever its casing. */
function field(record: Record<string, unknown>, name: string): unknown {
	if (name in record) return record[name];
	const lower = name.toLowerCase();
	const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === lower);
	return key === undefined ? undefined : record[key];
}

function asArray(value: unknown): unknown[] {
	return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
