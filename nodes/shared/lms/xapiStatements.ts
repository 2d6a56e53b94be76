import { CX_TRAINING_NAMESPACE, uuidV5 } from '../ids';
import type { PlaceholderAsset } from './types';

export const VIDEO_ACTIVITY_TYPE = 'https://w3id.org/xapi/video/activity-type/video';
export const VIDEO_LENGTH_EXTENSION = 'https://w3id.org/xapi/video/extensions/length';
/** ADL verb; lms-apis.md §1 uses "experienced" for a recording entering the LRS. */
export const VERB_EXPERIENCED = {
	id: 'http://adlnet.gov/expapi/verbs/experienced',
	display: { 'en-US': 'experienced' },
};

export interface XapiStatementOptions {
	/** Base IRI of this organisation's activities and extensions, without a trailing slash. */
	iriBase: string;
	/** `account.homePage` of agents (the contact-center platform). */
	actorHomePage: string;
	/** Identify the agent by e-mail (mbox) instead of the platform account; off by default (no PII). */
	actorByEmail: boolean;
	language: string;
}

export interface XapiStatement {
	id: string;
	actor: Record<string, unknown>;
	verb: { id: string; display: Record<string, string> };
	object: {
		objectType: 'Activity';
		id: string;
		definition: {
			type: string;
			name: Record<string, string>;
			description: Record<string, string>;
			moreInfo?: string;
			extensions: Record<string, unknown>;
		};
	};
	context?: Record<string, unknown>;
	timestamp?: string;
}

export function extensionIri(iriBase: string, name: string): string {
	return `${iriBase}/xapi/extensions/${name}`;
}

export function assetStateProfileId(iriBase: string): string {
	return `${iriBase}/xapi/profiles/asset-state`;
}

export function recordingActivityId(iriBase: string, asset: Pick<PlaceholderAsset, 'ref'>): string {
	const { source, conversationId, recordingId } = asset.ref;
	return `${iriBase}/recordings/${source}/${conversationId}/${recordingId}`;
}

/** Same recording + stage → same id, so a retried push is a no-op at the LRS. */
export function statementIdFor(stateKey: string, stage: string): string {
	return uuidV5(`${stateKey}:${stage}`, CX_TRAINING_NAMESPACE);
}

/**
 * The stage-1 statement: the agent's recording as a private video activity, `pending_review`.
 * Everything in it derives from the recording, so a retry sends byte-identical content.
 */
export function buildPlaceholderStatement(asset: PlaceholderAsset, options: XapiStatementOptions): XapiStatement {
	const { ref } = asset;
	const lang = options.language;
	const activityId = recordingActivityId(options.iriBase, asset);
	const extensions: Record<string, unknown> = {
		[extensionIri(options.iriBase, 'status')]: 'pending_review',
		[extensionIri(options.iriBase, 'visibility')]: 'private',
		[extensionIri(options.iriBase, 'tags')]: asset.tags,
		[extensionIri(options.iriBase, 'source-ids')]: compact({
			source: ref.source,
			conversationId: ref.conversationId,
			recordingId: ref.recordingId,
			queueId: ref.queue?.id,
			stateKey: ref.stateKey,
		}),
	};
	if (ref.durationSec !== undefined) extensions[VIDEO_LENGTH_EXTENSION] = ref.durationSec;
	const statement: XapiStatement = {
		id: statementIdFor(ref.stateKey, 'placeholder'),
		actor: actorFor(ref.agent, options),
		verb: VERB_EXPERIENCED,
		object: {
			objectType: 'Activity',
			id: activityId,
			definition: {
				type: VIDEO_ACTIVITY_TYPE,
				name: { [lang]: asset.title },
				description: { [lang]: asset.description },
				moreInfo: asset.moreInfoUrl || activityId,
				extensions,
			},
		},
		context: compact({
			platform: platformName(ref.source),
			language: lang,
		}),
	};
	if (ref.startTime) statement.timestamp = ref.startTime;
	return statement;
}

function actorFor(agent: { id: string; name?: string; email?: string }, options: XapiStatementOptions): Record<string, unknown> {
	if (options.actorByEmail) {
		if (!agent.email) throw new Error(`Agent ${agent.id} has no e-mail address; turn off "Identify Agent by E-mail"`);
		return { objectType: 'Agent', mbox: `mailto:${agent.email}` };
	}
	return { objectType: 'Agent', account: { homePage: options.actorHomePage, name: agent.id } };
}

function platformName(source: string): string {
	switch (source) {
		case 'genesys-cloud':
			return 'Genesys Cloud';
		case 'nice-cxone':
			return 'NICE CXone';
		case 'genesys-engage':
			return 'Genesys Engage';
		case 'calabrio-one':
			return 'Calabrio ONE';
		default:
			return source;
	}
}

function compact<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
