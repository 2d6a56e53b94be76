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
			description:
				'Shared Secret Header authentication: the header your EventBridge API destination, data action or forwarder sends the secret in',
		},
		{
			displayName: 'Shared Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'A long random value; requests without it (or, with HMAC-SHA256 Signature authentication, not signed with it) get 401 and start no execution',
		},
		{
			displayName: 'Signature Header Name',
			name: 'signatureHeaderName',
			type: 'string',
			default: 'X-CX-Signature',
			description:
				'HMAC-SHA256 Signature authentication: the header carrying sha256=&lt;hex&gt; of the raw body (or of &lt;timestamp&gt;.&lt;raw body&gt; when a timestamp is sent)',
		},
		{
			displayName: 'Timestamp Header Name',
			name: 'timestampHeaderName',
			type: 'string',
			default: 'X-CX-Timestamp',
			description:
				'HMAC-SHA256 Signature authentication: the header carrying the Unix time in seconds when the request was signed, against replays',
		},
		{
			displayName: 'Require Timestamp',
			name: 'requireTimestamp',
			type: 'boolean',
			default: false,
			description:
				'Whether signed requests without the timestamp header are refused. Turn on once your forwarder sends it: only then can an old request not be replayed.',
		},
		{
			displayName: 'Timestamp Tolerance (Seconds)',
			name: 'timestampToleranceSec',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 300,
			description:
				'How far the timestamp may be from this server’s clock, either way, before the request gets 401',
		},
	];
}
