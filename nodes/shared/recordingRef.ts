/** The item contract between nodes (DESIGN.md §2). Items carry pointers and metadata, never media. */
export type RecordingSource = 'genesys-cloud' | 'nice-cxone' | 'genesys-engage' | 'calabrio-one';

export interface ObjectPointer {
	bucket: string;
	key: string;
	size: number;
	sha256: string;
	contentType: string;
}

export interface EvaluationCriterion {
	id: string;
	name: string;
	score: number;
	maxScore: number;
	failed: boolean;
}

export interface RecordingRef {
	source: RecordingSource;
	conversationId: string;
	recordingId: string;
	agent: { id: string; name?: string; email?: string };
	queue?: { id: string; name?: string };
	skills?: string[];
	wrapupCode?: string;
	mediaType: string;
	direction?: string;
	startTime: string;
	endTime?: string;
	durationSec?: number;
	/** `<source>:<conversationId>:<recordingId>`, the row in the state store. */
	stateKey: string;
	/** Platform flags PII Scan and LMS Push must respect (sensitive data, SecurePause annotations). */
	platformFlags?: { sensitiveData?: boolean; securePause?: boolean };
	object?: ObjectPointer;
	rendition?: { key: string; contentType: 'video/mp4'; durationSec: number; posterKey?: string };
	probe?: {
		hasVideo: boolean;
		hasAudio: boolean;
		silentAudio: boolean;
		blackVideo: boolean;
		width?: number;
		height?: number;
		codecs: string[];
	};
	pii?: {
		verdict: 'clean' | 'found' | 'unsure';
		findings: Array<{ type: string; atSec: number; box?: number[]; confidence: number }>;
		evidenceKey?: string;
	};
	evaluation?: {
		id: string;
		totalScore: number;
		status: string;
		released: boolean;
		criteria: EvaluationCriterion[];
	};
	taxonomy?: {
		courseId?: string;
		category?: string;
		assetType?: string;
		tags: string[];
		visibility: 'private' | 'public';
		remedialModuleIds: string[];
	};
	lms?: {
		target: string;
		assetId?: string;
		statementIds?: string[];
		stage: 'placeholder' | 'final' | 'quarantined';
	};
}

export function stateKeyOf(source: RecordingSource, conversationId: string, recordingId: string): string {
	return `${source}:${conversationId}:${recordingId}`;
}
