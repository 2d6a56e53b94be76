import {
	EventPayloadError,
	parseConversationEvents,
	readPath,
	type CustomFieldMapping,
} from '../../nodes/shared/ccaas/genesys/events';

const CONV = '0b6a1d3e-8c2f-4e51-9d7a-2f3b4c5d6e7f';
const USER = 'a1b2c3d4-0000-4000-8000-000000000001';
const END_MS = Date.parse('2025-03-04T10:07:30.000Z');

function eventBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		eventTime: END_MS,
		conversationId: CONV,
		participantId: 'participant-agent-1',
		sessionId: 'session-1',
		mediaType: 'VOICE',
		direction: 'INBOUND',
		userId: USER,
		queueId: 'queue-billing',
		disconnectType: 'CLIENT',
		...overrides,
	};
}

function envelope(body: unknown, topic = 'user.end'): Record<string, unknown> {
	return {
		version: '0',
		id: 'a7c0c0de-0000-4000-8000-00000000000e',
		'detail-type': `v2.detail.events.conversation.{id}.${topic}`,
		source: 'aws.partner/genesys.com/cloud/org/cx-training',
		detail: {
			topicName: `v2.detail.events.conversation.${CONV}.${topic}`,
			version: '2',
			eventBody: body,
			metadata: { CorrelationId: 'corr-123' },
		},
	};
}

function parseError(payload: unknown, mapping?: CustomFieldMapping): EventPayloadError {
	try {
		parseConversationEvents(payload, mapping);
	} catch (error) {
		expect(error).toBeInstanceOf(EventPayloadError);
		return error as EventPayloadError;
	}
	throw new Error('expected parseConversationEvents to throw');
}

describe('parseConversationEvents: Genesys shapes', () => {
	it('reads the EventBridge envelope: body fields, topic event type, correlation id, ISO event time', () => {
		expect(parseConversationEvents(envelope(eventBody()))).toEqual([
			{
				source: 'genesys-cloud',
				conversationId: CONV,
				userId: USER,
				queueId: 'queue-billing',
				mediaType: 'VOICE',
				direction: 'INBOUND',
				participantId: 'participant-agent-1',
				sessionId: 'session-1',
				eventTime: '2025-03-04T10:07:30.000Z',
				eventType: 'user.end',
				topicName: `v2.detail.events.conversation.${CONV}.user.end`,
				correlationId: 'corr-123',
				transport: 'eventbridge',
			},
		]);
	});

	it('reads the acw topic and its wrap-up code', () => {
		const [event] = parseConversationEvents(envelope(eventBody({ wrapupCode: 'wrapup-resolved' }), 'acw'));
		expect(event.eventType).toBe('acw');
		expect(event.wrapupCode).toBe('wrapup-resolved');
	});

	it('reads a notification message (topicName + eventBody at the top level)', () => {
		const [event] = parseConversationEvents({
			topicName: `v2.detail.events.conversation.${CONV}.user.end`,
			version: '2',
			eventBody: eventBody({ userId: 'agent-2' }),
			metadata: { CorrelationId: 'corr-n' },
		});
		expect(event).toMatchObject({
			transport: 'notification',
			conversationId: CONV,
			userId: 'agent-2',
			eventType: 'user.end',
			correlationId: 'corr-n',
		});
	});

	it('reads the bare eventBody a workflow data action posts, leaving out fields it lacks', () => {
		const [event] = parseConversationEvents({ conversationId: CONV, userId: USER, eventTime: String(END_MS) });
		expect(event).toEqual({
			source: 'genesys-cloud',
			conversationId: CONV,
			userId: USER,
			eventTime: '2025-03-04T10:07:30.000Z',
			transport: 'eventBody',
		});
		expect(Object.keys(event)).not.toContain('topicName');
		expect(Object.keys(event)).not.toContain('queueId');
	});

	it('takes the conversation id from the topic when the body has none', () => {
		const body = eventBody();
		delete body.conversationId;
		const [event] = parseConversationEvents(envelope(body));
		expect(event.conversationId).toBe(CONV);
		expect(event.eventType).toBe('user.end');
	});

	it('keeps ISO event times, drops unparseable ones and empty strings', () => {
		const iso = parseConversationEvents({ conversationId: CONV, eventTime: '2025-03-04T11:07:30+01:00', userId: '' });
		expect(iso[0].eventTime).toBe('2025-03-04T10:07:30.000Z');
		expect(iso[0].userId).toBeUndefined();
		const bad = parseConversationEvents({ conversationId: CONV, eventTime: 'yesterday' });
		expect(bad[0]).not.toHaveProperty('eventTime');
	});

	it('drops an out-of-range eventTime instead of crashing with a RangeError', () => {
		for (const eventTime of [1e20, '99999999999999999999']) {
			const [event] = parseConversationEvents({ conversationId: CONV, eventTime });
			expect(event).not.toHaveProperty('eventTime');
		}
	});

	it('turns an array into one event per element, in order', () => {
		const events = parseConversationEvents([
			envelope(eventBody()),
			{ conversationId: 'conv-2', userId: 'agent-2' },
			{ eventBody: { conversationId: 'conv-3' } },
		]);
		expect(events.map((event) => [event.conversationId, event.transport])).toEqual([
			[CONV, 'eventbridge'],
			['conv-2', 'eventBody'],
			['conv-3', 'notification'],
		]);
	});
});

describe('parseConversationEvents: refusals name the field', () => {
	it('refuses an EventBridge event without detail.eventBody', () => {
		const error = parseError({ detail: { topicName: 'x', eventBody: 'not an object' } });
		expect(error.field).toBe('detail.eventBody');
		expect(error.message).toBe('EventBridge event has no detail.eventBody object');
		expect(error.name).toBe('EventPayloadError');
	});

	it('names the conversationId path of each shape when it is missing', () => {
		const bridge = eventBody();
		delete bridge.conversationId;
		const noTopic = envelope(bridge);
		delete (noTopic.detail as Record<string, unknown>).topicName;
		expect(parseError(noTopic).field).toBe('detail.eventBody.conversationId');
		expect(parseError(noTopic).message).toBe(
			'Missing detail.eventBody.conversationId: the event does not say which conversation ended',
		);
		expect(parseError({ eventBody: { userId: USER } }).field).toBe('eventBody.conversationId');
		expect(parseError({ userId: USER, conversationId: '' }).field).toBe('conversationId');
		expect(parseError({ userId: USER, conversationId: null }).field).toBe('conversationId');
	});

	it('prefixes the array index of the offending element', () => {
		const error = parseError([{ conversationId: 'ok-1' }, { eventBody: { conversationId: 'ok-2' } }, { eventBody: {} }]);
		expect(error.field).toBe('[2].eventBody.conversationId');
		expect(parseError([{ conversationId: 'ok' }, 'text']).field).toBe('[1].body');
	});

	it('refuses conversation ids that could climb out of an object-store prefix', () => {
		const error = parseError({ eventBody: { conversationId: '../../etc/passwd' } });
		expect(error.field).toBe('eventBody.conversationId');
		expect(error.message).toBe(`eventBody.conversationId must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'`);
		expect(parseError({ conversationId: '..' }).field).toBe('conversationId');
		expect(parseError({ conversationId: 'a'.repeat(129) }).field).toBe('conversationId');
		expect(parseError({ conversationId: { id: CONV } }).field).toBe('conversationId');
	});

	it('refuses bodies that are not objects and an empty array', () => {
		expect(parseError(null).field).toBe('body');
		expect(parseError(null).message).toBe('Expected a JSON object, got null');
		expect(parseError('text').message).toBe('Expected a JSON object, got string');
		expect(parseError([[]]).message).toBe('Expected a JSON object, got an array');
		expect(parseError([[]]).field).toBe('[0].body');
		const empty = parseError([]);
		expect(empty.field).toBe('body');
		expect(empty.message).toBe('The body is an empty array: no event to process');
	});
});

describe('parseConversationEvents: custom field mapping', () => {
	const mapping: CustomFieldMapping = {
		conversationId: 'data.interaction.id',
		userId: 'data.agents[1].userId',
		queueId: 'data.queue.id',
		eventTime: 'meta.at',
		eventType: 'meta.kind',
		wrapupCode: 'data.wrapup',
	};

	it('reads dot and [n] paths from the operator\'s own JSON', () => {
		const payload = {
			meta: { at: '2025-03-04T10:07:30Z', kind: 'ended' },
			data: {
				interaction: { id: CONV },
				agents: [{ userId: 'first' }, { userId: 'second' }],
				queue: { id: 77 },
			},
		};
		expect(parseConversationEvents(payload, mapping)).toEqual([
			{
				source: 'genesys-cloud',
				conversationId: CONV,
				userId: 'second',
				queueId: '77',
				eventTime: '2025-03-04T10:07:30.000Z',
				eventType: 'ended',
				transport: 'custom',
			},
		]);
	});

	it('does not read the Genesys shape when a mapping is given', () => {
		const error = parseError(envelope(eventBody()), mapping);
		expect(error.field).toBe('data.interaction.id');
		expect(error.message).toContain('Missing data.interaction.id');
	});

	it('names the mapped path, with the array index, when the value is missing or unsafe', () => {
		expect(parseError([{ data: { interaction: { id: 'x' } } }, { data: {} }], mapping).field).toBe(
			'[1].data.interaction.id',
		);
		const unsafe = parseError({ data: { interaction: { id: 'a/b' } } }, mapping);
		expect(unsafe.field).toBe('data.interaction.id');
		expect(unsafe.message).toMatch(/must be 1-128 characters/);
	});

	it('refuses a mapping without a conversation id path', () => {
		const error = parseError({ id: CONV }, { conversationId: '' });
		expect(error.field).toBe('fieldMapping.conversationId');
	});

	it('never walks into inherited properties', () => {
		expect(readPath({}, 'constructor')).toBeUndefined();
		expect(readPath({ a: {} }, 'a.toString')).toBeUndefined();
		expect(readPath({ a: [1, 2] }, 'a.length')).toBeUndefined();
		expect(readPath({ a: [{ b: 'x' }] }, 'a[0].b')).toBe('x');
		expect(readPath({ a: [{ b: 'x' }] }, 'a[1].b')).toBeUndefined();
		expect(readPath({ a: { '0': 'zero' } }, 'a[0]')).toBe('zero');
		expect(parseError({}, { conversationId: '__proto__' }).field).toBe('__proto__');
	});
});
