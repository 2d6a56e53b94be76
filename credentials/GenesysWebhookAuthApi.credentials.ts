import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Verifies calls to the Genesys Recording Trigger; nothing is sent to Genesys with it. */
export class GenesysWebhookAuthApi implements ICredentialType {
	name = 'genesysWebhookAuthApi';

	displayName = 'Genesys Recording Webhook Auth API';

	icon = { light: 'file:../nodes/GenesysRecordingTrigger/genesysRecordingTrigger.svg', dark: 'file:../nodes/GenesysRecordingTrigger/genesysRecordingTrigger.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-recording-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-CX-Webhook-Secret',
			description: 'The header your EventBridge API destination, data action or forwarder sends the secret in',
		},
		{
			displayName: 'Shared Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A long random value; requests without it get 401 and start no execution',
		},
	];
}
