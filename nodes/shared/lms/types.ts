import type { ObjectPointer, RecordingRef } from '../recordingRef';

/** What LMS Push hands to a target for stage 1 (a private placeholder asset). */
export interface PlaceholderAsset {
	ref: RecordingRef;
	title: string;
	description: string;
	tags: string[];
	/** A stable link for learners (player page); signed media links go into mutable asset state instead. */
	moreInfoUrl?: string;
	/** A signed link to the staged media and when it stops working, kept in the asset's mutable state. */
	mediaLink?: { url: string; expiresAt: string; object: ObjectPointer };
}

export interface PushResult {
	target: string;
	assetId: string;
	statementIds: string[];
	/** False when the target already held this asset (a retry or a redelivered event). */
	created: boolean;
	stage: 'placeholder' | 'final' | 'quarantined';
	details: Record<string, unknown>;
}

/** One interface for every LMS target (xAPI LRS first; Genesys Cloud Learning, Docebo, Moodle, … later). */
export interface LmsAdapter {
	readonly target: string;
	pushPlaceholder(asset: PlaceholderAsset, signal?: AbortSignal): Promise<PushResult>;
}

export type { RecordingRef };
