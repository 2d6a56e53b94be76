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
	/** A critical or kill question of this criterion was failed. */
	critical?: boolean;
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
		/** Comparable version of this evaluation (ISO time of its last change); a lower one never overwrites a higher one. */
		revision?: string;
		/** When the evaluation was submitted (ISO). */
		evaluatedAt?: string;
		/** Any critical or kill question failed. */
		failedCritical?: boolean;
		formName?: string;
	};
	taxonomy?: {
		courseId?: string;
		category?: string;
		assetType?: string;
		tags: string[];
		visibility: 'private' | 'public';
		remedialModuleIds: string[];
		/** Course module of the interaction type (Taxonomy Map). */
		moduleId?: string;
		assignTo?: 'agent' | 'supervisor' | 'team' | 'none';
		matchedRules?: Array<{ number: number; name?: string; condition: string }>;
		mappedBy?: 'queue' | 'skill' | 'default';
		unmapped?: string[];
		unmappedCriteria?: string[];
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

/**
 * The item contract of the evaluation half (Genesys Cloud → Evaluation, NICE Evaluation Trigger → Taxonomy Map →
 * LMS Push stage 2 → Guarded Assign). Carries the evaluation, who and what it is about, never media.
 */
export interface EvaluationItem {
	source: RecordingSource;
	conversationId: string;
	agentId: string;
	agent?: { id: string; name?: string; email?: string; timeZone?: string };
	evaluation: NonNullable<RecordingRef['evaluation']>;
	training: {
		drivesTraining: boolean;
		reason?: string;
		rescore: boolean;
		retracted: boolean;
	};
	queue?: { id: string; name?: string };
	skills?: string[];
	/** voice, chat, email… as the platform names it (Taxonomy Map: interaction type → module). */
	interactionType?: string;
	taxonomy?: RecordingRef['taxonomy'];
	lms?: RecordingRef['lms'];
}
