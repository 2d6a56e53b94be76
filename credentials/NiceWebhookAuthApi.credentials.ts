import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Verifies calls to the NICE Evaluation Webhook Trigger; nothing is sent to NICE with it. */
export class NiceWebhookAuthApi implements ICredentialType {
	name = 'niceWebhookAuthApi';

	displayName = 'NICE Evaluation Webhook Auth API';

	icon = { light: 'file:../nodes/NiceEvaluationWebhookTrigger/niceEvaluationWebhookTrigger.svg', dark: 'file:../nodes/NiceEvaluationWebhookTrigger/niceEvaluationWebhookTrigger.dark.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#nice-evaluation-webhook-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-CX-Webhook-Secret',
			description: 'The header your forwarder sends the shared secret in',
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
