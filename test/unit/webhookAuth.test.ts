import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ICredentialDataDecryptedObject, IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { GenesysWebhookAuthApi } from '../../credentials/GenesysWebhookAuthApi.credentials';
import { GenesysRecordingTrigger } from '../../nodes/GenesysRecordingTrigger/GenesysRecordingTrigger.node';
import { verifySignedRequest, type SignedRequest } from '../../nodes/shared/security';
import { startGenesysSimulator, type GenesysSimulator } from '../simulators/genesysCloud';

const SECRET = 'hmac-signing-secret-0123456789';
const NOW_MS = Date.parse('2025-03-04T12:00:00.000Z');
const NOW_SEC = NOW_MS / 1000;
const CONV = '0b6a1d3e-8c2f-4e51-9d7a-2f3b4c5d6e7f';
const BODY = Buffer.from(JSON.stringify({ eventBody: { conversationId: CONV, userId: 'agent-1', eventTime: NOW_MS } }));

const sign = (payload: Buffer | string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
const signWithTimestamp = (timestamp: string | number, body: Buffer = BODY, secret = SECRET) =>
	sign(Buffer.concat([Buffer.from(`${timestamp}.`), body]), secret);

function check(overrides: Partial<SignedRequest>) {
	return verifySignedRequest({
		rawBody: BODY,
		secret: SECRET,
		signature: undefined,
		timestamp: undefined,
		requireTimestamp: false,
		toleranceSec: 300,
		nowMs: NOW_MS,
		...overrides,
	});
}

describe('verifySignedRequest', () => {
	it('accepts sha256=<hex> over the raw body when no timestamp is sent and none is required', () => {
		expect(check({ signature: sign(BODY) })).toBeNull();
		expect(check({ signature: sign(BODY), timestamp: '   ' })).toBeNull();
	});

	it('signs <timestamp>.<raw body> when a timestamp is sent, so the timestamp cannot be swapped', () => {
		expect(check({ signature: signWithTimestamp(NOW_SEC), timestamp: String(NOW_SEC) })).toBeNull();
		// The body-only signature of a request that carries a timestamp does not count…
		expect(check({ signature: sign(BODY), timestamp: String(NOW_SEC) })).toBe('bad-signature');
		// …and a captured request replayed with a fresh timestamp fails: the old signature covers the old one.
		expect(check({ signature: signWithTimestamp(NOW_SEC - 3600), timestamp: String(NOW_SEC) })).toBe('bad-signature');
		// Stripping the timestamp header does not turn it into a body-only signature either.
		expect(check({ signature: signWithTimestamp(NOW_SEC), timestamp: undefined })).toBe('bad-signature');
	});

	it('allows ±300 s by default and refuses one second more, either way', () => {
		for (const offset of [-300, 300]) {
			const timestamp = String(NOW_SEC + offset);
			expect(check({ signature: signWithTimestamp(timestamp), timestamp })).toBeNull();
		}
		for (const offset of [-301, 301]) {
			const timestamp = String(NOW_SEC + offset);
			expect(check({ signature: signWithTimestamp(timestamp), timestamp })).toBe('stale-timestamp');
		}
		const timestamp = String(NOW_SEC - 20);
		expect(check({ signature: signWithTimestamp(timestamp), timestamp, toleranceSec: 10 })).toBe('stale-timestamp');
	});

	it('refuses a missing signature, a missing timestamp when required, and timestamps that are not epoch seconds', () => {
		expect(check({})).toBe('missing-signature');
		expect(check({ signature: '' })).toBe('missing-signature');
		expect(check({ signature: sign(BODY), requireTimestamp: true })).toBe('missing-timestamp');
		expect(check({ signature: signWithTimestamp(NOW_MS), timestamp: String(NOW_MS) })).toBe('bad-timestamp');
		expect(check({ signature: signWithTimestamp('2025-03-04T12:00:00Z'), timestamp: '2025-03-04T12:00:00Z' })).toBe('bad-timestamp');
		expect(check({ signature: signWithTimestamp('-5'), timestamp: '-5' })).toBe('bad-timestamp');
	});

	it('refuses another secret and an empty one', () => {
		expect(check({ signature: sign(BODY, 'another-secret') })).toBe('bad-signature');
		expect(check({ signature: sign(BODY, ''), secret: '' })).toBe('bad-signature');
	});
});

interface Answer {
	status?: number;
	body?: unknown;
	result: IWebhookResponseData;
}

/** Calls the trigger's webhook() with the smallest IWebhookFunctions it uses. */
async function callWebhook(options: {
	parameters?: IDataObject;
	credentials?: ICredentialDataDecryptedObject;
	headers?: Record<string, string>;
	body: Buffer | string;
}): Promise<Answer> {
	const answer: Partial<Answer> = {};
	const response = {
		status(code: number) {
			answer.status = code;
			return response;
		},
		json(body: unknown) {
			answer.body = body;
			return response;
		},
	};
	const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
	const request = { headers, rawBody: Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body) };
	const parameters: IDataObject = { authentication: 'hmacSignature', payloadFormat: 'genesys', eventTypes: ['user.end', 'acw'], ...options.parameters };
	const context = {
		getRequestObject: () => request,
		getResponseObject: () => response,
		getNodeParameter: (name: string, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
		getCredentials: async () => options.credentials ?? { headerName: 'X-CX-Webhook-Secret', secret: SECRET },
		getNode: () => ({ id: '1', name: 'Genesys Recording Trigger', type: 'n8n-nodes-cx-training.genesysRecordingTrigger', typeVersion: 1, position: [0, 0], parameters: {} }),
	} as unknown as IWebhookFunctions;
	answer.result = await new GenesysRecordingTrigger().webhook.call(context);
	return answer as Answer;
}

const accepted = (answer: Answer) => (answer.result.workflowData?.[0] ?? []).map((item) => item.json);

describe('Genesys Recording Trigger: HMAC-SHA256 Signature authentication', () => {
	beforeEach(() => {
		jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
	});
	afterEach(() => {
		jest.restoreAllMocks();
	});

	it('starts the workflow for a request signed with the credential secret (credential saved before the HMAC fields existed)', async () => {
		const answer = await callWebhook({ headers: { 'X-CX-Signature': sign(BODY) }, body: BODY });
		expect(answer.status).toBeUndefined();
		expect(answer.result.webhookResponse).toEqual({ received: 1, accepted: 1 });
		expect(accepted(answer)).toEqual([
			{ source: 'genesys-cloud', conversationId: CONV, userId: 'agent-1', eventTime: '2025-03-04T12:00:00.000Z', transport: 'notification' },
		]);
	});

	it('reads the header names, timestamp requirement and tolerance from the credential', async () => {
		const credentials = {
			secret: SECRET,
			signatureHeaderName: 'X-Forwarder-Signature',
			timestampHeaderName: 'X-Forwarder-Time',
			requireTimestamp: true,
			timestampToleranceSec: 30,
		};
		const timestamp = String(NOW_SEC - 25);
		const ok = await callWebhook({
			credentials,
			headers: { 'X-Forwarder-Signature': signWithTimestamp(timestamp), 'X-Forwarder-Time': timestamp },
			body: BODY,
		});
		expect(ok.result.webhookResponse).toEqual({ received: 1, accepted: 1 });

		const unsigned = await callWebhook({ credentials, headers: { 'X-CX-Signature': sign(BODY) }, body: BODY });
		expect(unsigned).toEqual({ status: 401, body: { error: 'Missing X-Forwarder-Signature header' }, result: { noWebhookResponse: true } });

		const withoutTime = await callWebhook({ credentials, headers: { 'X-Forwarder-Signature': sign(BODY) }, body: BODY });
		expect(withoutTime.status).toBe(401);
		expect(withoutTime.body).toEqual({ error: 'Missing X-Forwarder-Time header' });

		const late = String(NOW_SEC - 31);
		const stale = await callWebhook({
			credentials,
			headers: { 'X-Forwarder-Signature': signWithTimestamp(late), 'X-Forwarder-Time': late },
			body: BODY,
		});
		expect(stale.status).toBe(401);
		expect(stale.body).toEqual({ error: 'X-Forwarder-Time is outside the allowed time window' });
	});

	it('answers 401 to a wrong signature before looking at the body, and 400 to a correctly signed bad body', async () => {
		const forged = await callWebhook({ headers: { 'X-CX-Signature': sign('{"other":1}') }, body: '{not json' });
		expect(forged).toEqual({
			status: 401,
			body: { error: 'Wrong X-CX-Signature: not signed with the shared secret over this body' },
			result: { noWebhookResponse: true },
		});
		const badJson = await callWebhook({ headers: { 'X-CX-Signature': sign('{not json') }, body: '{not json' });
		expect(badJson.status).toBe(400);
		expect(badJson.body).toMatchObject({ field: 'body' });
		expect(String((badJson.body as IDataObject).error)).toMatch(/^The body is not valid JSON: /);
	});

	it('never echoes the secret or the expected signature in a refusal', async () => {
		const answer = await callWebhook({ headers: { 'X-CX-Signature': 'sha256=' + '0'.repeat(64) }, body: BODY });
		const text = JSON.stringify(answer.body);
		expect(text).not.toContain(SECRET);
		expect(text).not.toContain(sign(BODY).slice(7));
	});

	it('keeps the shared secret header working with the credential fields the shipped template uses', async () => {
		const credentials = { headerName: 'X-CX-Webhook-Secret', secret: SECRET };
		const ok = await callWebhook({ parameters: { authentication: 'sharedSecret' }, credentials, headers: { 'X-CX-Webhook-Secret': SECRET }, body: BODY });
		expect(ok.result.webhookResponse).toEqual({ received: 1, accepted: 1 });
		// A valid signature is no substitute for the shared secret in that mode.
		const signedOnly = await callWebhook({ parameters: { authentication: 'sharedSecret' }, credentials, headers: { 'X-CX-Signature': sign(BODY) }, body: BODY });
		expect(signedOnly).toEqual({ status: 401, body: { error: 'Missing or wrong shared secret' }, result: { noWebhookResponse: true } });
	});

	it('offers the HMAC option and asks for the credential with it', () => {
		const { description } = new GenesysRecordingTrigger();
		const authentication = description.properties.find((property) => property.name === 'authentication');
		expect(authentication?.options?.map((option) => (option as { value: string }).value)).toEqual(['sharedSecret', 'hmacSignature', 'none']);
		expect(description.credentials?.[0].displayOptions).toEqual({ show: { authentication: ['sharedSecret', 'hmacSignature'] } });
	});
});

describe('Genesys Webhook Auth credential', () => {
	it('keeps the existing fields and defaults and adds the signature ones', () => {
		const defaults = Object.fromEntries(new GenesysWebhookAuthApi().properties.map((property) => [property.name, property.default]));
		expect(defaults).toEqual({
			headerName: 'X-CX-Webhook-Secret',
			secret: '',
			signatureHeaderName: 'X-CX-Signature',
			timestampHeaderName: 'X-CX-Timestamp',
			requireTimestamp: false,
			timestampToleranceSec: 300,
		});
	});
});

describe('Genesys Recording Trigger: user.end and acw topics, EventBridge and notification shapes', () => {
	let sim: GenesysSimulator;
	let sink: Server;
	let sinkUrl: string;

	beforeAll(async () => {
		sim = await startGenesysSimulator();
		sim.seedConversation({
			conversationId: CONV,
			endTime: '2025-03-04T11:59:00.000Z',
			queueId: 'queue-billing',
			direction: 'inbound',
			wrapupCode: 'wrap-resolved',
			participants: [{ purpose: 'agent', userId: 'agent-1', participantId: 'participant-1' }],
			recordings: [{ recordingId: 'screen-1', media: 'screen', mediaSubtype: 'Screen', users: [{ id: 'agent-1' }] }],
		});
		// The simulator posts each event; the test only needs the document it posted (EmitResult.payload).
		sink = createServer((req, res) => {
			req.resume();
			req.on('end', () => res.end('ok'));
		});
		await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
		sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
	});

	afterAll(async () => {
		await sim.close();
		await new Promise((resolve) => sink.close(resolve));
	});

	async function eventBridge(topic: 'user.end' | 'acw'): Promise<Record<string, unknown>> {
		return (await sim.emitConversationEnd({ webhookUrl: sinkUrl, conversationId: CONV, shape: 'eventbridge', topic })).payload;
	}

	/** The same event as a notification message: the EventBridge `detail` without its timestamp. */
	function notification(envelope: Record<string, unknown>): Record<string, unknown> {
		const { topicName, version, eventBody, metadata } = envelope.detail as Record<string, unknown>;
		return { topicName, version, eventBody, metadata };
	}

	async function deliver(payload: unknown, eventTypes = ['user.end', 'acw']) {
		const body = Buffer.from(JSON.stringify(payload));
		return await callWebhook({ parameters: { eventTypes }, headers: { 'X-CX-Signature': sign(body) }, body });
	}

	for (const topic of ['user.end', 'acw'] as const) {
		it(`accepts ${topic} from both transports with the same fields`, async () => {
			const envelope = await eventBridge(topic);
			const fromEventBridge = await deliver(envelope);
			const fromNotification = await deliver(notification(envelope));
			const expected = {
				source: 'genesys-cloud',
				conversationId: CONV,
				userId: 'agent-1',
				queueId: 'queue-billing',
				mediaType: 'VOICE',
				direction: 'INBOUND',
				participantId: 'participant-1',
				eventType: topic,
				topicName: `v2.detail.events.conversation.${CONV}.${topic}`,
				// user.end fires at the conversation end, acw after the 15 s the simulator spends in wrap-up.
				eventTime: topic === 'acw' ? '2025-03-04T11:59:15.000Z' : '2025-03-04T11:59:00.000Z',
				...(topic === 'acw' ? { wrapupCode: 'wrap-resolved' } : {}),
			};
			for (const [answer, transport] of [
				[fromEventBridge, 'eventbridge'],
				[fromNotification, 'notification'],
			] as const) {
				expect(answer.result.webhookResponse).toEqual({ received: 1, accepted: 1 });
				const [event] = accepted(answer);
				expect(event).toMatchObject({ ...expected, transport });
				expect(event.sessionId).toBe((envelope.detail as { eventBody: { sessionId: string } }).eventBody.sessionId);
			}
		});
	}

	it('acknowledges but does not start the workflow for a topic outside Event Types, in either shape', async () => {
		const envelope = await eventBridge('acw');
		for (const payload of [envelope, notification(envelope)]) {
			const answer = await deliver(payload, ['user.end']);
			expect(answer.result).toEqual({ webhookResponse: { received: 1, accepted: 0 } });
		}
	});
});
