import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_EXTENSIONS, DEFAULT_KEY_PATTERN, pickUpRecordings, type BucketCursor } from '../../../shared/ccaas/nice/s3Pickup';
import { objectStoreConfigFromCredentials, objectStoreFor, stateStoreFor } from '../../../shared/n8n/resources';
import { customerStoreFor } from '../../transport';

const show = { resource: ['recording'], operation: ['pickUpFromS3'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Prefix',
		name: 'prefix',
		type: 'string',
		default: '',
		placeholder: 'cxone/recordings/',
		description: 'Folder (key prefix) of the customer bucket where CXone custom storage writes recordings',
		displayOptions: { show },
	},
	{
		displayName: 'Key Pattern',
		name: 'keyPattern',
		type: 'string',
		default: DEFAULT_KEY_PATTERN,
		description:
			'Regular expression with named groups contactId and recordingId, read from each key. The default reads file names like 700001_900001.mp4.',
		displayOptions: { show },
	},
	{
		displayName: 'Max Objects per Run',
		name: 'maxObjects',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1000 },
		default: 50,
		description: 'The oldest new objects are handled first; the rest wait for the next run',
		displayOptions: { show },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show },
		options: [
			{
				displayName: 'File Extensions',
				name: 'extensions',
				type: 'string',
				default: DEFAULT_EXTENSIONS.join(','),
				description: 'Comma-separated extensions of media files; other objects (metadata, logs) are ignored',
			},
			{
				displayName: 'Start After Key',
				name: 'startAfterKey',
				type: 'string',
				default: '',
				description: 'With Start After Time: replaces the stored cursor (to replay or skip objects)',
			},
			{
				displayName: 'Start After Time',
				name: 'startAfterTime',
				type: 'dateTime',
				default: '',
				description: 'Objects modified after this time (or at it, with a key after Start After Key) are picked up; replaces the stored cursor',
			},
			{
				displayName: 'Upload Part Size (MiB)',
				name: 'partSizeMiB',
				type: 'number',
				typeOptions: { minValue: 5, maxValue: 512 },
				default: 8,
			},
		],
	},
];

/**
 * Output 0: one RecordingRef per new object; output 1: objects whose key did not match the pattern. The cursor
 * (LastModified + key) is kept in the workflow's static data per prefix and also returned on every item.
 */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const prefix = this.getNodeParameter('prefix', itemIndex, '') as string;
	const keyPattern = this.getNodeParameter('keyPattern', itemIndex, DEFAULT_KEY_PATTERN) as string;
	const maxObjects = Number(this.getNodeParameter('maxObjects', itemIndex, 50)) || 50;
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	try {
		new RegExp(keyPattern);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), `Key Pattern is not a valid regular expression: ${(error as Error).message}`, { itemIndex, description: 'Field: keyPattern' });
	}
	const staticData = this.getWorkflowStaticData('node');
	const cursors = (staticData.s3Cursors ?? {}) as Record<string, BucketCursor>;
	let cursor: BucketCursor = cursors[prefix] ?? {};
	if (options.startAfterTime) {
		const ms = Date.parse(String(options.startAfterTime));
		if (Number.isNaN(ms)) throw new NodeOperationError(this.getNode(), 'Start After Time is not a date', { itemIndex, description: 'Field: startAfterTime' });
		cursor = { lastModified: new Date(ms).toISOString(), key: (options.startAfterKey as string) || undefined };
	}
	const customer = await customerStoreFor(this, itemIndex);
	const store = await objectStoreFor(this, itemIndex);
	const staging = objectStoreConfigFromCredentials(await this.getCredentials('cxObjectStoreApi', itemIndex));
	const sameStore = (staging.endpoint ?? '') === customer.endpoint && staging.bucket === customer.store.bucket;
	const extensions = String(options.extensions ?? DEFAULT_EXTENSIONS.join(','))
		.split(',')
		.map((ext) => ext.trim())
		.filter(Boolean);
	const result = await pickUpRecordings(
		{ customer: customer.store, store, sameStore, state: await stateStoreFor(this) },
		{ prefix, cursor, keyPattern, maxObjects, extensions },
		{ partSizeBytes: Number(options.partSizeMiB ?? 8) * 1024 * 1024, signal: this.getExecutionCancelSignal() },
	);
	staticData.s3Cursors = { ...cursors, [prefix]: result.cursor };
	const pickup = { cursor: result.cursor, more: result.more };
	return [
		result.refs.map((ref) => ({ json: { ...ref, pickup: { ...ref.pickup, ...pickup } } as unknown as IDataObject, pairedItem: { item: itemIndex } })),
		result.skipped.map((skip) => ({ json: { ...skip, status: skip.outcome, pickup } as unknown as IDataObject, pairedItem: { item: itemIndex } })),
	];
}
