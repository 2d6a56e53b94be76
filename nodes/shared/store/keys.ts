import { assertSafeId } from '../ids';
import type { RecordingSource } from '../recordingRef';

export const RECORDING_SOURCES: readonly RecordingSource[] = [
	'genesys-cloud',
	'nice-cxone',
	'genesys-engage',
	'calabrio-one',
];

export class InvalidSourceError extends Error {
	readonly field = 'source';

	constructor(readonly value: unknown) {
		const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
		super(`source must be one of ${RECORDING_SOURCES.join(', ')}; got ${shown}`);
		this.name = 'InvalidSourceError';
	}
}

export function assertRecordingSource(value: unknown): RecordingSource {
	if (!RECORDING_SOURCES.includes(value as RecordingSource)) throw new InvalidSourceError(value);
	return value as RecordingSource;
}

/**
 * `recordings/<source>/<conversationId>/<recordingId>/`. Every segment is validated, so ids coming from a
 * platform or a webhook can never climb out of their recording's prefix.
 */
export function recordingObjectPrefix(
	source: RecordingSource,
	conversationId: string,
	recordingId: string,
): string {
	return [
		'recordings',
		assertRecordingSource(source),
		assertSafeId('conversationId', conversationId),
		assertSafeId('recordingId', recordingId),
		'',
	].join('/');
}

/** `recordings/<source>/<conversationId>/<recordingId>/<fileName>` (DESIGN.md §3). */
export function recordingObjectKey(
	source: RecordingSource,
	conversationId: string,
	recordingId: string,
	fileName: string,
): string {
	return (
		recordingObjectPrefix(source, conversationId, recordingId) + assertSafeId('fileName', fileName)
	);
}

const EXTENSIONS: Record<string, string> = {
	'video/webm': 'webm',
	'video/mp4': 'mp4',
	'video/quicktime': 'mov',
	'video/x-matroska': 'mkv',
	'video/x-msvideo': 'avi',
	'audio/webm': 'webm',
	'audio/ogg': 'ogg',
	'audio/opus': 'opus',
	'audio/mpeg': 'mp3',
	'audio/mp3': 'mp3',
	'audio/mp4': 'm4a',
	'audio/x-m4a': 'm4a',
	'audio/aac': 'aac',
	'audio/wav': 'wav',
	'audio/wave': 'wav',
	'audio/x-wav': 'wav',
	'audio/vnd.wave': 'wav',
	'audio/flac': 'flac',
	'audio/x-flac': 'flac',
	'image/jpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'application/json': 'json',
};

/**
 * File extension for a media type, ignoring parameters (`video/webm; codecs=vp9` → `webm`);
 * `bin` for anything unknown so a key can always be built.
 */
export function extensionForContentType(contentType: string): string {
	const essence = String(contentType ?? '')
		.split(';')[0]
		.trim()
		.toLowerCase();
	return EXTENSIONS[essence] ?? 'bin';
}
