/** Shapes of Genesys Cloud's Platform API v2 (purecloud-platform-client-v2 index.d.ts; enums from the Python SDK). */
export type GenesysFileState =
	| 'ARCHIVED'
	| 'AVAILABLE'
	| 'DELETED'
	| 'RESTORED'
	| 'RESTORING'
	| 'UPLOADING'
	| 'ERROR';

export interface GenesysAnnotation {
	id?: string;
	name?: string;
	type?: string;
	location?: number;
	durationMs?: number;
	absoluteLocation?: number;
	absoluteDurationMs?: number;
	reason?: 'Hold' | 'SecurePause' | 'FlowOrQueue' | 'Pause' | string;
}

export interface GenesysUser {
	id: string;
	name?: string;
	email?: string;
	username?: string;
}

export interface GenesysRecording {
	id: string;
	name?: string;
	conversationId?: string;
	path?: string;
	startTime?: string;
	endTime?: string;
	media?: string;
	mediaSubtype?: 'Trunk' | 'Station' | 'Consult' | 'Screen' | 'Snippet' | string;
	mediaSubject?: string;
	annotations?: GenesysAnnotation[];
	fileState?: GenesysFileState;
	mediaUris?: Record<string, { mediaUri?: string; waveformData?: number[] }>;
	estimatedTranscodeTimeMs?: number;
	actualTranscodeTimeMs?: number;
	outputDurationMs?: number;
	outputSizeInBytes?: number;
	sessionId?: string;
	users?: GenesysUser[];
	recordingFileRole?: string;
	creationTime?: string;
	selfUri?: string;
}

export interface GenesysOrganization {
	id: string;
	name: string;
	domain?: string;
	state?: string;
}

export function isScreenRecording(recording: GenesysRecording): boolean {
	return recording.mediaSubtype === 'Screen' || recording.media === 'screen';
}
