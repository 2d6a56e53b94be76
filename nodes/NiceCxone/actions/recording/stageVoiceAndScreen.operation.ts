import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { stageVoiceAndScreen } from '../../../shared/ccaas/nice/staging';
import { isSafeId } from '../../../shared/ids';
import { objectStoreFor, stateStoreFor } from '../../../shared/n8n/resources';
import { niceClient } from '../../transport';

const show = { resource: ['recording'], operation: ['stageVoiceAndScreen'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Look Up By',
		name: 'lookupBy',
		type: 'options',
		options: [
			{ name: 'ACD Contact ID', value: 'contact', description: 'Every voice-and-screen recording of the contact, looked up by its ACD call ID' },
			{ name: 'Segment ID', value: 'segment', description: 'One recorded segment of a contact' },
		],
		default: 'contact',
		displayOptions: { show },
	},
	{
		displayName: 'ACD Contact ID',
		name: 'contactId',
		type: 'string',
		required: true,
		default: '={{ $json.conversationId }}',
		description: 'The ACD contact ID (master contact ID) whose recordings to stage; QM evaluations name it acdId',
		displayOptions: { show: { ...show, lookupBy: ['contact'] } },
	},
	{
		displayName: 'Segment ID',
		name: 'segmentId',
		type: 'string',
		required: true,
		default: '={{ $json.nice?.segmentId }}',
		description: 'The recorded segment to stage',
		displayOptions: { show: { ...show, lookupBy: ['segment'] } },
	},
	{
		displayName: 'Agent ID',
		name: 'agentId',
		type: 'string',
		default: '={{ $json.agentId }}',
		description: 'Used when the playback answer names no agent',
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
				displayName: 'Mark as Sensitive',
				name: 'sensitive',
				type: 'boolean',
				default: false,
				description: 'Whether the recording holds sensitive data (e.g. payments): it carries platformFlags.sensitiveData, so PII Scan and LMS Push keep it private',
			},
			{
				displayName: 'Upload Part Size (MiB)',
				name: 'partSizeMiB',
				type: 'number',
				typeOptions: { minValue: 5, maxValue: 512 },
				default: 8,
				description: 'Multipart part size; memory per upload is about two parts, whatever the recording size',
			},
		],
	},
];

/** Output 0: staged recordings; output 1: contacts NICE does not know or that have no screen media. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
	const lookupBy = this.getNodeParameter('lookupBy', itemIndex, 'contact') as string;
	const field = lookupBy === 'segment' ? 'segmentId' : 'contactId';
	const id = String(this.getNodeParameter(field, itemIndex, '') ?? '');
	if (!isSafeId(id)) {
		throw new NodeOperationError(this.getNode(), `${lookupBy === 'segment' ? 'Segment ID' : 'ACD Contact ID'} must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'`, {
			itemIndex,
			description: `Field: ${field}`,
		});
	}
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const result = await stageVoiceAndScreen(
		{ client: await niceClient.call(this, itemIndex), store: await objectStoreFor(this, itemIndex), state: await stateStoreFor(this) },
		{
			acdCallId: lookupBy === 'segment' ? undefined : id,
			segmentId: lookupBy === 'segment' ? id : undefined,
			agentId: (this.getNodeParameter('agentId', itemIndex, '') as string) || undefined,
			sensitive: options.sensitive === true,
		},
		{ partSizeBytes: Number(options.partSizeMiB ?? 8) * 1024 * 1024, signal: this.getExecutionCancelSignal() },
	);
	return [
		result.refs.map((ref) => ({
			json: { ...ref, staging: { reused: result.reused.includes(ref.recordingId), resumes: result.resumes } } as unknown as IDataObject,
			pairedItem: { item: itemIndex },
		})),
		result.skipped.map((skipped) => ({ json: { ...skipped, status: skipped.outcome } as unknown as IDataObject, pairedItem: { item: itemIndex } })),
	];
}
