import { isSafeId } from '../../ids';

/** What the Genesys Recording Trigger emits for each conversation event. */
export interface ConversationEvent {
	source: 'genesys-cloud';
	conversationId: string;
	userId?: string;
	queueId?: string;
	mediaType?: string;
	direction?: string;
	wrapupCode?: string;
	participantId?: string;
	sessionId?: string;
	/** ISO 8601 time the platform stamped on the event. */
	eventTime?: string;
	/** `user.end`, `acw`, … (the tail of `v2.detail.events.conversation.{id}.<event>`). */
	eventType?: string;
	topicName?: string;
	correlationId?: string;
	/** How the event arrived; `polling` means the analytics conversation details query found it. */
	transport: 'eventbridge' | 'notification' | 'eventBody' | 'custom' | 'polling';
}

/** A payload the trigger must refuse with 400, naming the offending field. */
export class EventPayloadError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(message);
		this.name = 'EventPayloadError';
	}
}

/** Field paths (dot notation, `[n]` for array indexes) into an operator's own JSON. Data, never code. */
export interface CustomFieldMapping {
	conversationId: string;
	userId?: string;
	queueId?: string;
	mediaType?: string;
	direction?: string;
	wrapupCode?: string;
	eventTime?: string;
	eventType?: string;
}

const TOPIC = /^v2\.detail\.events\.conversation\.([^.]+)\.(.+)$/;

/**
 * Reads the documented conversation detail-event shapes: the EventBridge envelope (`detail.eventBody`),
 * a notification message (`topicName` + `eventBody`), or the bare `eventBody` a Process Automation
 * workflow's data action posts. An array yields one event per element.
 */
export function parseConversationEvents(payload: unknown, mapping?: CustomFieldMapping): ConversationEvent[] {
	const list = Array.isArray(payload) ? payload : [payload];
	if (list.length === 0) throw new EventPayloadError('body', 'The body is an empty array: no event to process');
	return list.map((entry, index) => {
		const prefix = Array.isArray(payload) ? `[${index}].` : '';
		return mapping ? fromCustom(entry, mapping, prefix) : fromGenesys(entry, prefix);
	});
}

function fromGenesys(entry: unknown, prefix: string): ConversationEvent {
	if (!isRecord(entry)) throw new EventPayloadError(`${prefix}body`, `Expected a JSON object, got ${kind(entry)}`);
	let transport: ConversationEvent['transport'] = 'eventBody';
	let body: Record<string, unknown> = entry;
	let topicName: string | undefined;
	let correlationId: string | undefined;
	let bodyPath = '';
	if (isRecord(entry.detail)) {
		transport = 'eventbridge';
		const detail = entry.detail;
		if (!isRecord(detail.eventBody)) {
			throw new EventPayloadError(`${prefix}detail.eventBody`, 'EventBridge event has no detail.eventBody object');
		}
		body = detail.eventBody;
		topicName = str(detail.topicName);
		correlationId = isRecord(detail.metadata) ? str(detail.metadata.CorrelationId) : undefined;
		bodyPath = 'detail.eventBody.';
	} else if (isRecord(entry.eventBody)) {
		transport = 'notification';
		body = entry.eventBody;
		topicName = str(entry.topicName);
		correlationId = isRecord(entry.metadata) ? str(entry.metadata.CorrelationId) : undefined;
		bodyPath = 'eventBody.';
	}
	const topic = topicName ? TOPIC.exec(topicName) : null;
	const conversationId = requireConversationId(body.conversationId ?? topic?.[1], `${prefix}${bodyPath}conversationId`);
	return compact({
		source: 'genesys-cloud',
		conversationId,
		userId: str(body.userId),
		queueId: str(body.queueId),
		mediaType: str(body.mediaType),
		direction: str(body.direction),
		wrapupCode: str(body.wrapupCode),
		participantId: str(body.participantId),
		sessionId: str(body.sessionId),
		eventTime: toIsoTime(body.eventTime),
		eventType: topic?.[2],
		topicName,
		correlationId,
		transport,
	});
}

function fromCustom(entry: unknown, mapping: CustomFieldMapping, prefix: string): ConversationEvent {
	if (!mapping.conversationId) throw new EventPayloadError('fieldMapping.conversationId', 'The field mapping needs a path for the conversation id');
	const read = (path?: string) => (path ? readPath(entry, path) : undefined);
	return compact({
		source: 'genesys-cloud',
		conversationId: requireConversationId(read(mapping.conversationId), `${prefix}${mapping.conversationId}`),
		userId: str(read(mapping.userId)),
		queueId: str(read(mapping.queueId)),
		mediaType: str(read(mapping.mediaType)),
		direction: str(read(mapping.direction)),
		wrapupCode: str(read(mapping.wrapupCode)),
		eventTime: toIsoTime(read(mapping.eventTime)),
		eventType: str(read(mapping.eventType)),
		transport: 'custom',
	});
}

function requireConversationId(value: unknown, field: string): string {
	if (value === undefined || value === null || value === '') {
		throw new EventPayloadError(field, `Missing ${field}: the event does not say which conversation ended`);
	}
	if (!isSafeId(value)) {
		throw new EventPayloadError(field, `${field} must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'`);
	}
	return value;
}

/** Reads `a.b[0].c` from a JSON value; returns undefined for any missing step. */
export function readPath(value: unknown, path: string): unknown {
	const steps = path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
	let current: unknown = value;
	for (const step of steps) {
		if (Array.isArray(current) && /^\d+$/.test(step)) current = current[Number(step)];
		else if (isRecord(current) && Object.prototype.hasOwnProperty.call(current, step)) current = current[step];
		else return undefined;
	}
	return current;
}

/** Genesys stamps `eventTime` as epoch milliseconds; custom payloads may send ISO strings. */
function toIsoTime(value: unknown): string | undefined {
	let epochMs: number | undefined;
	if (typeof value === 'number') epochMs = value;
	else if (typeof value === 'string' && value !== '') epochMs = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
	// Out-of-range or unparseable times are dropped, never allowed to crash the webhook.
	if (epochMs === undefined || !Number.isFinite(epochMs) || Math.abs(epochMs) > MAX_EPOCH_MS) return undefined;
	return new Date(epochMs).toISOString();
}

/** The largest time a JavaScript Date can hold (ECMA-262 §21.4.1.1). */
const MAX_EPOCH_MS = 8.64e15;

function str(value: unknown): string | undefined {
	if (typeof value === 'string') return value === '' ? undefined : value;
	if (typeof value === 'number') return String(value);
	return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
	return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
}

function compact<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
