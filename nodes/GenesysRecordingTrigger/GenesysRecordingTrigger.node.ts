import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type {
	IDataObject,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import {
	EventPayloadError,
	parseConversationEvents,
	type ConversationEvent,
	type CustomFieldMapping,
} from '../shared/ccaas/genesys/events';
import { parseQualityEvents, type QualityEventItem } from '../shared/ccaas/genesys/evaluations';
import { credentialTest } from '../shared/n8n/credentialTests';
import { secretsEqual, verifySignedRequest, type SignedRequestRefusal } from '../shared/security';

type WebhookRequest = ReturnType<IWebhookFunctions['getRequestObject']> & {
	rawBody?: Buffer;
	readRawBody?: () => Promise<void>;
};

const EVENT_TYPES = ['user.end', 'acw', 'acd.end', 'customer.end', 'wrapup'];

/** 401 answers for refused signatures: they name the header to fix, never the expected value. */
const SIGNATURE_REFUSALS: Record<SignedRequestRefusal, (signatureHeader: string, timestampHeader: string) => string> = {
	'missing-signature': (signature) => `Missing ${signature} header`,
	'bad-signature': (signature) => `Wrong ${signature}: not signed with the shared secret over this body`,
	'missing-timestamp': (_signature, timestamp) => `Missing ${timestamp} header`,
	'bad-timestamp': (_signature, timestamp) => `${timestamp} must be Unix time in seconds`,
	'stale-timestamp': (_signature, timestamp) => `${timestamp} is outside the allowed time window`,
};

function header(req: WebhookRequest, name: string): string | undefined {
	const value = req.headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

export class GenesysRecordingTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Genesys Recording Trigger',
		name: 'genesysRecordingTrigger',
		icon: { light: 'file:genesysRecordingTrigger.svg', dark: 'file:genesysRecordingTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["eventFamily"] === "qualityEvaluation" ? "Webhook: quality evaluations" : "Webhook: " + $parameter["payloadFormat"]}}',
		description:
			'Starts the workflow when a Genesys Cloud conversation ends (EventBridge, Process Automation or your own forwarder), so its screen recordings can be staged',
		defaults: { name: 'Genesys Recording Trigger' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-recording-trigger',
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'genesysWebhookAuthApi',
				required: true,
				testedBy: 'genesysWebhookSecretTest',
				displayOptions: { show: { authentication: ['sharedSecret', 'hmacSignature'] } },
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				// Empty (not absent) so n8n answers with this node's own webhookResponse ({received, accepted}).
				responseData: '',
				path: 'genesys-recording',
			},
		],
		properties: [
			{
				displayName:
					'Point an Amazon EventBridge API destination, a Genesys Process Automation data action or your own forwarder at this node’s Production URL, sending conversation detail events (user end or after-call work).',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{
						name: 'Shared Secret Header',
						value: 'sharedSecret',
						description: 'Requests must carry the secret of the credential in its header; others get 401',
					},
					{
						name: 'HMAC-SHA256 Signature',
						value: 'hmacSignature',
						description:
							'Requests must carry sha256=&lt;hex&gt; of the raw body signed with the credential’s secret, optionally with a timestamp against replays; others get 401',
					},
					{
						name: 'None (Not for Production)',
						value: 'none',
						description: 'Anyone who knows the URL can start the workflow',
					},
				],
				default: 'sharedSecret',
			},
			{
				displayName: 'Event Family',
				name: 'eventFamily',
				type: 'options',
				options: [
					{
						name: 'Conversation Ended',
						value: 'conversationEnd',
						description: 'Conversation detail events (user end, after-call work): stage the screen recordings',
					},
					{
						name: 'Quality Evaluation Changed',
						value: 'qualityEvaluation',
						description: 'Events of the v2.quality.evaluations topic, normalised to the shape the REST API gives',
					},
				],
				default: 'conversationEnd',
			},
			{
				displayName: 'Payload Format',
				name: 'payloadFormat',
				type: 'options',
				displayOptions: { show: { eventFamily: ['conversationEnd'] } },
				options: [
					{
						name: 'Genesys Event (Auto-Detect)',
						value: 'genesys',
						description:
							'EventBridge envelope (detail.eventBody), notification message (topicName + eventBody) or bare eventBody',
					},
					{
						name: 'Custom JSON (Field Mapping)',
						value: 'custom',
						description: 'Your own JSON; say where each field is',
					},
				],
				default: 'genesys',
			},
			{
				displayName: 'Field Mapping',
				name: 'fieldMapping',
				type: 'collection',
				placeholder: 'Add Field Path',
				default: { conversationId: 'conversationId' },
				displayOptions: { show: { payloadFormat: ['custom'] } },
				description: 'Dot paths into your JSON, e.g. data.call.ID or agents[0].ID',
				options: [
					{ displayName: 'Agent User ID Path', name: 'userId', type: 'string', default: '' },
					{ displayName: 'Conversation ID Path', name: 'conversationId', type: 'string', default: 'conversationId' },
					{ displayName: 'Direction Path', name: 'direction', type: 'string', default: '' },
					{ displayName: 'Event Time Path', name: 'eventTime', type: 'string', default: '' },
					{ displayName: 'Event Type Path', name: 'eventType', type: 'string', default: '' },
					{ displayName: 'Media Type Path', name: 'mediaType', type: 'string', default: '' },
					{ displayName: 'Queue ID Path', name: 'queueId', type: 'string', default: '' },
					{ displayName: 'Wrap-up Code Path', name: 'wrapupCode', type: 'string', default: '' },
				],
			},
			{
				displayName: 'Event Types',
				name: 'eventTypes',
				type: 'multiOptions',
				displayOptions: { show: { eventFamily: ['conversationEnd'] } },
				options: EVENT_TYPES.map((value) => ({ name: value, value })),
				default: ['user.end', 'acw'],
				description:
					'Conversation detail events that start the workflow; others are acknowledged and ignored. Events without a topic (bare eventBody) always pass.',
			},
			{
				// n8n parses JSON bodies itself (422 on bad JSON, before authentication) unless a trigger asks for
				// the raw body; this node reads it, so a bad secret gets 401 first and bad JSON a 400.
				displayName: 'Options',
				name: 'options',
				type: 'hidden',
				default: { binaryData: true },
			},
		],
	};

	methods = { credentialTest };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject() as WebhookRequest;
		const res = this.getResponseObject();
		const reject = (status: number, error: string, field?: string): IWebhookResponseData => {
			res.status(status).json(field ? { error, field } : { error });
			return { noWebhookResponse: true };
		};

		const authentication = this.getNodeParameter('authentication', 'sharedSecret') as string;
		if (authentication === 'sharedSecret') {
			const credentials = await this.getCredentials('genesysWebhookAuthApi');
			const received = header(req, String(credentials.headerName || 'X-CX-Webhook-Secret'));
			if (!secretsEqual(received, String(credentials.secret ?? ''))) {
				return reject(401, 'Missing or wrong shared secret');
			}
		}

		let rawBody: Buffer;
		try {
			if (!req.rawBody && req.readRawBody) await req.readRawBody();
			rawBody = req.rawBody ?? Buffer.alloc(0);
		} catch {
			return reject(400, 'The request body could not be read', 'body');
		}

		if (authentication === 'hmacSignature') {
			const credentials = await this.getCredentials('genesysWebhookAuthApi');
			const signatureHeader = String(credentials.signatureHeaderName || 'X-CX-Signature');
			const timestampHeader = String(credentials.timestampHeaderName || 'X-CX-Timestamp');
			// The signature is checked over the bytes as sent, before any parsing.
			const refusal = verifySignedRequest({
				rawBody,
				secret: String(credentials.secret ?? ''),
				signature: header(req, signatureHeader),
				timestamp: header(req, timestampHeader),
				requireTimestamp: credentials.requireTimestamp === true,
				toleranceSec: Number(credentials.timestampToleranceSec) || 300,
				nowMs: Date.now(),
			});
			if (refusal) return reject(401, SIGNATURE_REFUSALS[refusal](signatureHeader, timestampHeader));
		}

		let payload: unknown;
		try {
			const text = rawBody.toString('utf8').replace(/^\uFEFF/, '');
			if (text.trim() === '') return reject(400, 'The request has no body', 'body');
			payload = JSON.parse(text);
		} catch (error) {
			return reject(400, `The body is not valid JSON: ${(error as Error).message}`, 'body');
		}

		if (this.getNodeParameter('eventFamily', 'conversationEnd') === 'qualityEvaluation') {
			let evaluations: QualityEventItem[];
			try {
				evaluations = parseQualityEvents(payload);
			} catch (error) {
				if (error instanceof EventPayloadError) return reject(400, error.message, error.field);
				throw new NodeOperationError(this.getNode(), error as Error);
			}
			const response = { received: evaluations.length, accepted: evaluations.length };
			return { webhookResponse: response, workflowData: [evaluations.map((json) => ({ json: json as unknown as IDataObject }))] };
		}

		let events: ConversationEvent[];
		try {
			const mapping =
				this.getNodeParameter('payloadFormat', 'genesys') === 'custom'
					? (this.getNodeParameter('fieldMapping', {}) as unknown as CustomFieldMapping)
					: undefined;
			events = parseConversationEvents(payload, mapping);
		} catch (error) {
			if (error instanceof EventPayloadError) return reject(400, error.message, error.field);
			throw new NodeOperationError(this.getNode(), error as Error);
		}

		const eventTypes = this.getNodeParameter('eventTypes', EVENT_TYPES) as string[];
		const accepted = events.filter((event) => !event.eventType || eventTypes.includes(event.eventType));
		const body = { received: events.length, accepted: accepted.length };
		if (accepted.length === 0) return { webhookResponse: body };

		const items: INodeExecutionData[] = accepted.map((event) => ({ json: event as unknown as IDataObject }));
		return { webhookResponse: body, workflowData: [items] };
	}
}
