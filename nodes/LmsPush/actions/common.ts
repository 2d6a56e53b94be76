import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { PlaceholderAsset } from '../../shared/lms/types';
import { objectStoreFor } from '../../shared/n8n/resources';
import type { RecordingRef } from '../../shared/recordingRef';

/** What stage 1 wrote about the asset, kept in the recording row so stage 2 shows the same title and links. */
export interface AssetDescription {
	title: string;
	description: string;
	moreInfoUrl?: string;
}

export function assetDescriptionOf(ref: Partial<RecordingRef> & { lmsAsset?: AssetDescription }): AssetDescription {
	return (
		ref.lmsAsset ?? {
			title: `Contact ${ref.conversationId} (screen recording)`,
			description: `Screen recording of agent ${ref.agent?.id ?? 'unknown'}${ref.queue ? ` in queue ${ref.queue.id}` : ''}, ${ref.startTime ?? ''}`,
		}
	);
}

/** The asset as sent to the target, with a fresh signed media link when an object store is connected. */
export async function assetFor(this: IExecuteFunctions, i: number, ref: RecordingRef, description: AssetDescription): Promise<PlaceholderAsset> {
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const asset: PlaceholderAsset = {
		ref,
		title: description.title,
		description: description.description,
		tags: ref.taxonomy?.tags ?? [],
		moreInfoUrl: description.moreInfoUrl || undefined,
	};
	if (ref.object && this.getNode().credentials?.cxObjectStoreApi) {
		const lifetimeSec = Number(options.mediaLinkHours ?? 168) * 3600;
		const store = await objectStoreFor(this, i);
		const key = ref.rendition?.key ?? ref.object.key;
		asset.mediaLink = {
			url: await store.presignGet(key, lifetimeSec),
			expiresAt: new Date(Date.now() + lifetimeSec * 1000).toISOString(),
			object: ref.object,
		};
	}
	return asset;
}

export function targetOptions(this: IExecuteFunctions, i: number): { iriBase?: string; language?: string } {
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	return { iriBase: options.iriBase as string | undefined, language: options.language as string | undefined };
}
