import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import validateStatement from 'xapi-validation';

import {
	BodyTooLargeError,
	closeServer,
	httpDate,
	listen,
	maxRequestsInWindow,
	pathMatcher,
	readBody,
	seededRandom,
	sendEmpty,
	sendJson,
} from './httpUtil';

export interface XapiLrsOptions {
	key?: string;
	secret?: string;
	host?: string;
	port?: number;
	/** Path of the xAPI endpoint (default `/xAPI`). */
	basePath?: string;
	/** Largest page the statement query returns (also used for `limit=0`). */
	maxLimit?: number;
}

export interface XapiFault {
	/** Whole-path pattern (`*` one segment, `**` any), with or without the base path, or a RegExp. */
	path: string | RegExp;
	method?: string;
	count?: number;
	status?: 429 | 500 | 502 | 503;
	/** Seconds in `Retry-After` (default 1 for 429, none otherwise); `null` sends no header. */
	retryAfterSec?: number | null;
	/** Destroy the socket without answering. */
	drop?: boolean;
}

/**
 * Probabilistic faults: every matching request draws from a PRNG seeded with `seed`, so a run is
 * reproducible. A fraction `rate429` is answered 429 and a further fraction `rate500` 500.
 */
export interface XapiRandomFaults {
	seed: number;
	rate429?: number;
	rate500?: number;
	/**
	 * How a 429 says when to retry: `Retry-After` in seconds, no header, an HTTP date, or (default) a seeded
	 * mix of the three.
	 */
	retryAfter?: 'seconds' | 'none' | 'http-date' | 'mixed';
	/** Delay the header asks for (default 1 s). */
	retryAfterSec?: number;
	/** Only requests to this path (same patterns as XapiFault.path); all requests when absent. */
	path?: string | RegExp;
	method?: string;
}

export interface XapiRequestLogEntry {
	method: string;
	path: string;
	query: string;
	/** 0 when the connection was dropped. */
	status: number;
	/** When the request arrived (epoch ms). */
	at: number;
	/** Set when a fault (scripted or random) produced the answer. */
	fault?: 'scripted' | 'random';
	/** The Retry-After header sent with an injected fault, if any. */
	retryAfter?: string;
}

export type XapiStatement = Record<string, unknown> & { id: string };

export type XapiDocumentKind = 'state' | 'activityProfile' | 'agentProfile';

export interface XapiDocument {
	kind: XapiDocumentKind;
	id: string;
	activityId?: string;
	agent?: Record<string, unknown>;
	registration?: string;
	contentType: string;
	/** SHA-1 hex of the content, unquoted. */
	etag: string;
	updated: string;
	content: string;
	/** Parsed content for application/json documents. */
	json?: unknown;
}

export interface XapiLrsSimulator {
	/** Ends with a slash, e.g. http://127.0.0.1:PORT/xAPI/ */
	readonly endpoint: string;
	readonly port: number;
	readonly key: string;
	readonly secret: string;
	readonly requests: XapiRequestLogEntry[];
	close(): Promise<void>;
	/** Every stored statement in stored order, voided ones included. */
	statements(): XapiStatement[];
	/** Ids of statements that are currently voided. */
	voidedStatementIds(): string[];
	activityProfiles(): XapiDocument[];
	agentProfiles(): XapiDocument[];
	states(): XapiDocument[];
	setFault(fault: XapiFault): void;
	/** Starts (or, with undefined, stops) probabilistic 429/500 answers. */
	setRandomFaults(faults: XapiRandomFaults | undefined): void;
	/** Clears scripted and random faults. */
	clearFaults(): void;
}

interface StoredStatement {
	statement: XapiStatement;
	comparable: string;
	storedMs: number;
}

interface DocumentRecord {
	kind: XapiDocumentKind;
	id: string;
	activityId?: string;
	agent?: Record<string, unknown>;
	registration?: string;
	content: Buffer;
	contentType: string;
	etag: string;
	updatedMs: number;
}

interface CursorState {
	ids: string[];
	offset: number;
	limit: number;
	format: string;
	language?: string;
}

interface ActiveFault extends XapiFault {
	remaining: number;
	matches: (path: string) => boolean;
}

class XapiError extends Error {
	constructor(
		readonly status: number,
		message: string,
		readonly warnings?: string[],
	) {
		super(message);
	}
}

interface ValidationWarning {
	path: string[];
	data: unknown;
	constructor: { name: string };
}

type Json = Record<string, unknown>;

const VOIDED_VERB = 'http://adlnet.gov/expapi/verbs/voided';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATEMENT_QUERY_PARAMS = new Set([
	'statementId',
	'voidedStatementId',
	'agent',
	'verb',
	'activity',
	'registration',
	'related_activities',
	'related_agents',
	'since',
	'until',
	'limit',
	'format',
	'attachments',
	'ascending',
	'cursor',
]);

// JSON round trip rather than structuredClone: the validator's plain-object checks fail on objects
// created in another realm (as structuredClone does under jest's vm sandbox).
function cloneJson<T>(value: T): T {
	return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function isObject(value: unknown): value is Json {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (isObject(value)) {
		return `{${Object.keys(value)
			.sort()
			.filter((key) => value[key] !== undefined)
			.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
			.join(',')}}`;
	}
	return JSON.stringify(value);
}

/** The Inverse Functional Identifier of an Agent or identified Group, as a comparable string. */
function ifiOf(actor: unknown): string | undefined {
	if (!isObject(actor)) return undefined;
	if (typeof actor.mbox === 'string') return `mbox:${actor.mbox}`;
	if (typeof actor.mbox_sha1sum === 'string')
		return `mbox_sha1sum:${actor.mbox_sha1sum.toLowerCase()}`;
	if (typeof actor.openid === 'string') return `openid:${actor.openid}`;
	if (isObject(actor.account)) return `account:${actor.account.homePage}|${actor.account.name}`;
	return undefined;
}

function ifiCount(actor: Json): number {
	return ['mbox', 'mbox_sha1sum', 'openid', 'account'].filter((key) => actor[key] !== undefined)
		.length;
}

function parseAgentParam(raw: string | null, name = 'agent'): Json {
	if (raw === null) throw new XapiError(400, `Missing required parameter '${name}'`);
	let agent: unknown;
	try {
		agent = JSON.parse(raw);
	} catch {
		throw new XapiError(400, `Parameter '${name}' is not valid JSON`);
	}
	if (!isObject(agent) || ifiCount(agent) !== 1) {
		throw new XapiError(400, `Parameter '${name}' must be an Agent with exactly one identifier`);
	}
	return agent;
}

function parseTimestamp(raw: string | null, name: string): number | undefined {
	if (raw === null) return undefined;
	const ms = Date.parse(raw);
	if (Number.isNaN(ms)) throw new XapiError(400, `Parameter '${name}' is not a timestamp`);
	return ms;
}

function parseBoolean(raw: string | null, name: string): boolean {
	if (raw === null) return false;
	if (raw !== 'true' && raw !== 'false') {
		throw new XapiError(400, `Parameter '${name}' must be true or false`);
	}
	return raw === 'true';
}

function isVoiding(statement: Json): boolean {
	return (
		isObject(statement.verb) &&
		statement.verb.id === VOIDED_VERB &&
		isObject(statement.object) &&
		statement.object.objectType === 'StatementRef'
	);
}

function contextActivityList(context: unknown): Json[] {
	if (!isObject(context) || !isObject(context.contextActivities)) return [];
	return Object.values(context.contextActivities).flatMap((entry) =>
		Array.isArray(entry) ? entry.filter(isObject) : isObject(entry) ? [entry] : [],
	);
}

function isActivity(object: unknown): object is Json {
	return isObject(object) && (object.objectType === undefined || object.objectType === 'Activity');
}

/** Strips what Statement comparison must ignore (xAPI Data §2.3.1 immutability exceptions). */
function comparableForm(statement: Json): string {
	const copy = cloneJson(statement);
	delete copy.id;
	delete copy.authority;
	delete copy.stored;
	delete copy.version;
	// Timestamps compare as instants, not as serialisations.
	const timestampMs = typeof copy.timestamp === 'string' ? Date.parse(copy.timestamp) : NaN;
	if (!Number.isNaN(timestampMs)) copy.timestamp = new Date(timestampMs).toISOString();
	const stripActivities = (part: Json) => {
		if (isObject(part.verb)) delete part.verb.display;
		if (isActivity(part.object)) delete part.object.definition;
		for (const activity of contextActivityList(part.context)) delete activity.definition;
		for (const key of ['actor', 'object']) {
			const actor = part[key];
			if (isObject(actor) && Array.isArray(actor.member)) {
				actor.member = [...actor.member].sort((a, b) =>
					canonicalJson(a) < canonicalJson(b) ? -1 : 1,
				);
			}
		}
	};
	stripActivities(copy);
	if (isObject(copy.object) && copy.object.objectType === 'SubStatement')
		stripActivities(copy.object);
	return canonicalJson(copy);
}

function formatWarnings(warnings: ValidationWarning[], prefix: string): string[] {
	return warnings.map((warning) => {
		const path = [prefix, ...warning.path.slice(1)].join('.');
		if (warning.constructor.name === 'RequiredWarning')
			return `Missing required value in '${path}'`;
		return `Problem in '${path}'. Received '${JSON.stringify(warning.data)}'`;
	});
}

function etagOf(content: Buffer): string {
	return createHash('sha1').update(content).digest('hex');
}

function parseEtags(header: string): string[] {
	return header.split(',').map((tag) =>
		tag
			.trim()
			.replace(/^W\//, '')
			.replace(/^"(.*)"$/, '$1')
			.toLowerCase(),
	);
}

function pickLanguage(map: unknown, language: string | undefined): unknown {
	if (!isObject(map)) return map;
	const keys = Object.keys(map);
	if (keys.length <= 1) return map;
	const chosen =
		keys.find((key) => key.toLowerCase() === language?.toLowerCase()) ??
		keys.find((key) => key.split('-')[0].toLowerCase() === language?.split('-')[0].toLowerCase()) ??
		keys[0];
	return { [chosen]: map[chosen] };
}

export async function startXapiLrs(options: XapiLrsOptions = {}): Promise<XapiLrsSimulator> {
	const key = options.key ?? 'sim-key';
	const secret = options.secret ?? 'sim-secret';
	const host = options.host ?? '127.0.0.1';
	const basePath = `/${(options.basePath ?? '/xAPI').replace(/^\/+|\/+$/g, '')}`;
	const maxLimit = options.maxLimit ?? 100;
	const authority = {
		objectType: 'Agent',
		name: key,
		mbox: `mailto:${key}@lrs.invalid`,
	};

	const statementList: StoredStatement[] = [];
	const statementsById = new Map<string, StoredStatement>();
	const activities = new Map<string, Json>();
	const agentsSeen = new Map<string, Json[]>();
	const documents = new Map<string, DocumentRecord>();
	const cursors = new Map<string, CursorState>();
	const requests: XapiRequestLogEntry[] = [];
	let faults: ActiveFault[] = [];
	let randomFaults:
		| (XapiRandomFaults & { random: () => number; matches: (path: string) => boolean })
		| undefined;
	let lastStoredMs = 0;
	let lastDocumentMs = 0;

	const nextStoredMs = () => (lastStoredMs = Math.max(Date.now(), lastStoredMs + 1));
	const nextDocumentMs = () => (lastDocumentMs = Math.max(Date.now(), lastDocumentMs + 1));

	function voidedIds(): Set<string> {
		const voided = new Set<string>();
		for (const { statement } of statementList) {
			if (!isVoiding(statement)) continue;
			const target = String((statement.object as Json).id).toLowerCase();
			const targetStatement = statementsById.get(target);
			// A voiding statement cannot itself be voided (xAPI Data §2.3.2).
			if (targetStatement && !isVoiding(targetStatement.statement)) voided.add(target);
		}
		return voided;
	}

	function validate(statement: Json, v2: boolean, prefix: string): string[] {
		let subject = statement;
		if (v2) {
			// xapi-validation knows 1.0.x only: hide 2.0 additions, keep the structural checks.
			subject = cloneJson(statement);
			delete subject.version;
			if (isObject(subject.context)) {
				delete subject.context.contextAgents;
				delete subject.context.contextGroups;
			}
		}
		const warnings = formatWarnings(
			validateStatement(subject) as unknown as ValidationWarning[],
			prefix,
		);
		for (const required of ['actor', 'verb', 'object']) {
			const message = `Missing required value in '${prefix}.${required}'`;
			if (statement[required] === undefined && !warnings.includes(message)) warnings.push(message);
		}
		return warnings;
	}

	function rememberDefinitions(statement: Json): void {
		const parts = [statement];
		if (isObject(statement.object) && statement.object.objectType === 'SubStatement') {
			parts.push(statement.object);
		}
		for (const part of parts) {
			const candidates = [
				...(isActivity(part.object) ? [part.object] : []),
				...contextActivityList(part.context),
			];
			for (const activity of candidates) {
				if (typeof activity.id !== 'string') continue;
				const known = activities.get(activity.id);
				if (!known || isObject(activity.definition)) {
					activities.set(activity.id, {
						objectType: 'Activity',
						id: activity.id,
						...(isObject(activity.definition)
							? { definition: cloneJson(activity.definition) }
							: {}),
					});
				}
			}
			for (const actor of [part.actor, part.object]) {
				const ifi = ifiOf(actor);
				if (!ifi || !isObject(actor) || actor.objectType === 'Group') continue;
				const list = agentsSeen.get(ifi) ?? [];
				list.push(actor);
				agentsSeen.set(ifi, list);
			}
		}
	}

	/** Checks a batch and stores it atomically; returns the ids in order. */
	function storeStatements(batch: Json[], v2: boolean, single: boolean): string[] {
		const ids = batch.map((statement) => {
			if (
				statement.id !== undefined &&
				(typeof statement.id !== 'string' || !UUID.test(statement.id))
			) {
				throw new XapiError(400, `Statement id '${String(statement.id)}' is not a UUID`);
			}
			return ((statement.id as string | undefined) ?? randomUUID()).toLowerCase();
		});
		const seen = new Set<string>();
		for (const id of ids) {
			if (seen.has(id)) throw new XapiError(400, `Duplicate statement id ${id} in one request`);
			seen.add(id);
		}
		const warnings = batch.flatMap((statement, i) =>
			validate(statement, v2, single ? 'statement' : `statements.${i}`),
		);
		if (warnings.length > 0) throw new XapiError(400, 'Invalid statement', warnings);
		const fresh: Array<{ id: string; statement: Json; comparable: string }> = [];
		batch.forEach((statement, i) => {
			const id = ids[i];
			const comparable = comparableForm(statement);
			const existing = statementsById.get(id);
			if (existing) {
				if (existing.comparable !== comparable) throw new XapiError(409, `${id} is conflicting`);
				return;
			}
			fresh.push({ id, statement, comparable });
		});
		for (const { id, statement, comparable } of fresh) {
			const storedMs = nextStoredMs();
			const storedIso = new Date(storedMs).toISOString();
			const record: XapiStatement = {
				...cloneJson(statement),
				id,
				timestamp: statement.timestamp ?? storedIso,
				stored: storedIso,
				authority,
				// 1.0.x statements are always stored as version 1.0.0.
				version: v2 ? (statement.version ?? '2.0.0') : '1.0.0',
			};
			const entry = { statement: record, comparable, storedMs };
			statementList.push(entry);
			statementsById.set(id, entry);
			rememberDefinitions(record);
		}
		return ids;
	}

	function agentMatches(actor: unknown, ifi: string): boolean {
		if (!isObject(actor)) return false;
		if (ifiOf(actor) === ifi) return true;
		return Array.isArray(actor.member) && actor.member.some((member) => ifiOf(member) === ifi);
	}

	interface StatementFilter {
		agentIfi?: string;
		verb?: string;
		activity?: string;
		registration?: string;
		relatedActivities: boolean;
		relatedAgents: boolean;
	}

	function directMatch(statement: Json, filter: StatementFilter): boolean {
		const parts = [statement];
		const sub = isObject(statement.object) && statement.object.objectType === 'SubStatement';
		if (filter.agentIfi) {
			const ifi = filter.agentIfi;
			const candidates: unknown[] = [statement.actor, statement.object];
			if (filter.relatedAgents) {
				candidates.push(statement.authority);
				if (isObject(statement.context))
					candidates.push(statement.context.instructor, statement.context.team);
				if (sub) {
					const object = statement.object as Json;
					candidates.push(object.actor, object.object);
					if (isObject(object.context))
						candidates.push(object.context.instructor, object.context.team);
				}
			}
			if (!candidates.some((candidate) => agentMatches(candidate, ifi))) return false;
		}
		if (filter.verb && !(isObject(statement.verb) && statement.verb.id === filter.verb))
			return false;
		if (filter.activity) {
			if (filter.relatedActivities && sub) parts.push(statement.object as Json);
			const ids = parts.flatMap((part) => [
				...(isActivity(part.object) ? [part.object.id] : []),
				...(filter.relatedActivities ? contextActivityList(part.context).map((a) => a.id) : []),
			]);
			if (!ids.includes(filter.activity)) return false;
		}
		if (filter.registration) {
			const registration = isObject(statement.context) ? statement.context.registration : undefined;
			if (typeof registration !== 'string' || registration.toLowerCase() !== filter.registration) {
				return false;
			}
		}
		return true;
	}

	/** A statement targeting another (StatementRef) also matches when its target does (Comm. §2.1.3). */
	function matches(statement: Json, filter: StatementFilter, depth = 0): boolean {
		if (directMatch(statement, filter)) return true;
		if (
			depth > 10 ||
			!isObject(statement.object) ||
			statement.object.objectType !== 'StatementRef'
		) {
			return false;
		}
		const target = statementsById.get(String(statement.object.id).toLowerCase());
		return !!target && matches(target.statement, filter, depth + 1);
	}

	function formatStatement(
		statement: XapiStatement,
		format: string,
		language?: string,
	): XapiStatement {
		if (format === 'exact') return statement;
		const copy = cloneJson(statement);
		const idsAgent = (actor: unknown): unknown => {
			if (!isObject(actor)) return actor;
			const reduced: Json = {};
			for (const field of ['objectType', 'mbox', 'mbox_sha1sum', 'openid', 'account']) {
				if (actor[field] !== undefined) reduced[field] = actor[field];
			}
			if (Array.isArray(actor.member) && ifiOf(actor) === undefined)
				reduced.member = actor.member.map(idsAgent);
			return reduced;
		};
		const reshape = (part: Json) => {
			if (format === 'ids') {
				part.actor = idsAgent(part.actor);
				if (isObject(part.verb)) part.verb = { id: part.verb.id };
				if (isActivity(part.object)) part.object = { objectType: 'Activity', id: part.object.id };
				else if (
					isObject(part.object) &&
					part.object.objectType !== 'SubStatement' &&
					part.object.objectType !== 'StatementRef'
				) {
					part.object = idsAgent(part.object);
				}
				if (part.authority) part.authority = idsAgent(part.authority);
				return;
			}
			// canonical: the LRS's activity definitions and one language per language map.
			if (isObject(part.verb) && part.verb.display)
				part.verb.display = pickLanguage(part.verb.display, language);
			if (isActivity(part.object) && typeof part.object.id === 'string') {
				const canonical = activities.get(part.object.id);
				const definition = cloneJson(
					(canonical?.definition ?? part.object.definition) as Json | undefined,
				);
				if (isObject(definition)) {
					definition.name = pickLanguage(definition.name, language);
					definition.description = pickLanguage(definition.description, language);
					for (const k of Object.keys(definition))
						if (definition[k] === undefined) delete definition[k];
					part.object.definition = definition;
				}
			}
		};
		reshape(copy);
		if (isObject(copy.object) && copy.object.objectType === 'SubStatement') reshape(copy.object);
		return copy;
	}

	function consistentThrough(): string {
		// Stored times are kept strictly increasing and can run a millisecond ahead of the clock in a burst.
		return new Date(Math.max(Date.now(), lastStoredMs)).toISOString();
	}

	function queryStatements(
		url: URL,
		req: IncomingMessage,
		headers: Record<string, string>,
		res: ServerResponse,
		head: boolean,
	): void {
		const q = url.searchParams;
		for (const name of q.keys()) {
			if (!STATEMENT_QUERY_PARAMS.has(name))
				throw new XapiError(400, `Unknown parameter '${name}'`);
		}
		const language =
			(req.headers['accept-language'] ?? '').split(',')[0]?.split(';')[0]?.trim() || undefined;
		if (parseBoolean(q.get('attachments'), 'attachments')) {
			// Multipart responses with attachment data are not implemented.
			throw new XapiError(400, 'attachments=true is not supported by this LRS simulator');
		}
		const format = q.get('format') ?? 'exact';
		if (!['ids', 'exact', 'canonical'].includes(format)) {
			throw new XapiError(400, `Parameter 'format' must be ids, exact or canonical`);
		}
		const single = q.get('statementId');
		const voided = q.get('voidedStatementId');
		if (single !== null || voided !== null) {
			if (single !== null && voided !== null) {
				throw new XapiError(400, 'statementId and voidedStatementId cannot be combined');
			}
			for (const name of q.keys()) {
				if (!['statementId', 'voidedStatementId', 'attachments', 'format'].includes(name)) {
					throw new XapiError(400, `Parameter '${name}' cannot be used with a statement id`);
				}
			}
			const id = (single ?? voided ?? '').toLowerCase();
			const entry = statementsById.get(id);
			const isVoided = voidedIds().has(id);
			if (!entry || (single !== null && isVoided) || (voided !== null && !isVoided)) {
				sendJson(res, 404, { errorId: randomUUID(), message: 'No Statement found' }, headers, head);
				return;
			}
			sendJson(
				res,
				200,
				formatStatement(entry.statement, format, language),
				{
					...headers,
					'Last-Modified': httpDate(entry.storedMs),
				},
				head,
			);
			return;
		}

		let cursor: CursorState;
		const cursorId = q.get('cursor');
		if (cursorId !== null) {
			const known = cursors.get(cursorId);
			if (!known) throw new XapiError(400, 'Unknown or expired cursor');
			cursor = known;
		} else {
			const agentRaw = q.get('agent');
			const registration = q.get('registration');
			if (registration !== null && !UUID.test(registration)) {
				throw new XapiError(400, `Parameter 'registration' must be a UUID`);
			}
			const filter: StatementFilter = {
				agentIfi: agentRaw !== null ? ifiOf(parseAgentParam(agentRaw)) : undefined,
				verb: q.get('verb') ?? undefined,
				activity: q.get('activity') ?? undefined,
				registration: registration?.toLowerCase(),
				relatedActivities: parseBoolean(q.get('related_activities'), 'related_activities'),
				relatedAgents: parseBoolean(q.get('related_agents'), 'related_agents'),
			};
			const since = parseTimestamp(q.get('since'), 'since');
			const until = parseTimestamp(q.get('until'), 'until');
			const rawLimit = q.get('limit') ?? '0';
			if (!/^\d+$/.test(rawLimit))
				throw new XapiError(400, `Parameter 'limit' must be a nonnegative integer`);
			const limit = Number(rawLimit) === 0 ? maxLimit : Math.min(Number(rawLimit), maxLimit);
			const ascending = parseBoolean(q.get('ascending'), 'ascending');
			const hidden = voidedIds();
			const selected = statementList.filter(
				(entry) =>
					!hidden.has(entry.statement.id) &&
					(since === undefined || entry.storedMs > since) &&
					(until === undefined || entry.storedMs <= until) &&
					matches(entry.statement, filter),
			);
			if (!ascending) selected.reverse();
			cursor = {
				ids: selected.map((entry) => entry.statement.id),
				offset: 0,
				limit,
				format,
				language,
			};
		}
		const hidden = voidedIds();
		const pageIds = cursor.ids.slice(cursor.offset, cursor.offset + cursor.limit);
		const nextOffset = cursor.offset + cursor.limit;
		let more = '';
		if (nextOffset < cursor.ids.length) {
			const token = randomUUID();
			cursors.set(token, { ...cursor, offset: nextOffset });
			more = `${basePath}/statements?cursor=${token}`;
		}
		const page = pageIds
			.filter((id) => !hidden.has(id))
			.map((id) => statementsById.get(id)!)
			.map((entry) => formatStatement(entry.statement, cursor.format, cursor.language));
		const newest = pageIds.reduce((max, id) => Math.max(max, statementsById.get(id)!.storedMs), 0);
		sendJson(
			res,
			200,
			{ statements: page, more },
			{
				...headers,
				...(newest ? { 'Last-Modified': httpDate(newest) } : {}),
			},
			head,
		);
	}

	async function handleStatements(
		req: IncomingMessage,
		res: ServerResponse,
		url: URL,
		v2: boolean,
		headers: Record<string, string>,
	): Promise<void> {
		headers['X-Experience-API-Consistent-Through'] = consistentThrough();
		const method = req.method ?? 'GET';
		if (method === 'GET' || method === 'HEAD')
			return queryStatements(url, req, headers, res, method === 'HEAD');
		if (method !== 'PUT' && method !== 'POST')
			throw new XapiError(405, `Method ${method} not allowed`);
		const contentType = (req.headers['content-type'] ?? '').toLowerCase();
		if (contentType.startsWith('multipart/')) {
			// Statements with attachment payloads (multipart/mixed) are not implemented.
			throw new XapiError(
				400,
				'multipart/mixed statements are not supported by this LRS simulator',
			);
		}
		if (url.searchParams.has('method')) {
			throw new XapiError(400, 'Alternate Request Syntax is not supported');
		}
		if (!contentType.startsWith('application/json')) {
			throw new XapiError(400, 'Content-Type must be application/json');
		}
		let body: unknown;
		try {
			body = JSON.parse((await readBody(req)).toString('utf8'));
		} catch {
			throw new XapiError(400, 'Request body is not valid JSON');
		}
		if (method === 'PUT') {
			for (const name of url.searchParams.keys()) {
				if (name !== 'statementId') throw new XapiError(400, `Unknown parameter '${name}'`);
			}
			const statementId = url.searchParams.get('statementId');
			if (!statementId || !UUID.test(statementId)) {
				throw new XapiError(400, `Parameter 'statementId' must be a UUID`);
			}
			if (!isObject(body)) throw new XapiError(400, 'PUT takes a single statement object');
			if (body.id !== undefined && String(body.id).toLowerCase() !== statementId.toLowerCase()) {
				throw new XapiError(400, 'Statement id does not match the statementId parameter');
			}
			storeStatements([{ ...body, id: statementId }], v2, true);
			sendEmpty(res, 204, headers);
			return;
		}
		const unexpected = [...url.searchParams.keys()][0];
		if (unexpected !== undefined) throw new XapiError(400, `Unknown parameter '${unexpected}'`);
		const batch = Array.isArray(body) ? body : [body];
		if (!batch.every(isObject)) throw new XapiError(400, 'Statements must be JSON objects');
		const ids = storeStatements(batch as Json[], v2, false);
		sendJson(res, 200, ids, headers);
	}

	function handleActivities(
		url: URL,
		res: ServerResponse,
		headers: Record<string, string>,
		head: boolean,
	): void {
		const activityId = url.searchParams.get('activityId');
		if (!activityId) throw new XapiError(400, `Missing required parameter 'activityId'`);
		// Unknown activities still yield an Activity object (Comm. §2.5).
		sendJson(
			res,
			200,
			activities.get(activityId) ?? { objectType: 'Activity', id: activityId },
			headers,
			head,
		);
	}

	function handleAgents(
		url: URL,
		res: ServerResponse,
		headers: Record<string, string>,
		head: boolean,
	): void {
		const agent = parseAgentParam(url.searchParams.get('agent'));
		const seen = agentsSeen.get(ifiOf(agent)!) ?? [agent];
		const person: Json = { objectType: 'Person' };
		for (const field of ['name', 'mbox', 'mbox_sha1sum', 'openid', 'account']) {
			const values = seen.map((a) => a[field]).filter((v) => v !== undefined);
			const unique = [...new Map(values.map((v) => [canonicalJson(v), v])).values()];
			if (unique.length > 0) person[field] = unique;
		}
		sendJson(res, 200, person, headers, head);
	}

	async function handleDocuments(
		kind: XapiDocumentKind,
		req: IncomingMessage,
		res: ServerResponse,
		url: URL,
		v2: boolean,
		headers: Record<string, string>,
	): Promise<void> {
		const q = url.searchParams;
		const method = req.method ?? 'GET';
		const activityId = kind === 'agentProfile' ? undefined : (q.get('activityId') ?? undefined);
		if (kind !== 'agentProfile' && !activityId) {
			throw new XapiError(400, `Missing required parameter 'activityId'`);
		}
		const agent = kind === 'activityProfile' ? undefined : parseAgentParam(q.get('agent'));
		const registration = kind === 'state' ? (q.get('registration') ?? undefined) : undefined;
		if (registration !== undefined && !UUID.test(registration)) {
			throw new XapiError(400, `Parameter 'registration' must be a UUID`);
		}
		const idParam = kind === 'state' ? 'stateId' : 'profileId';
		const documentId = q.get(idParam) ?? undefined;
		const scope = [
			kind,
			activityId ?? '',
			agent ? ifiOf(agent) : '',
			registration?.toLowerCase() ?? '',
		];
		const keyOf = (id: string) => [...scope, id].join('\u0000');
		const inScope = (record: DocumentRecord) =>
			record.kind === kind &&
			(record.activityId ?? '') === (activityId ?? '') &&
			(agent ? ifiOf(record.agent) === ifiOf(agent) : true) &&
			(kind !== 'state' ||
				registration === undefined ||
				record.registration === registration.toLowerCase());
		const head = method === 'HEAD';

		if ((method === 'GET' || head) && documentId === undefined) {
			const since = parseTimestamp(q.get('since'), 'since');
			const listed = [...documents.values()].filter(
				(record) => inScope(record) && (since === undefined || record.updatedMs > since),
			);
			const body = Buffer.from(JSON.stringify(listed.map((record) => record.id)));
			const newest = listed.reduce((max, record) => Math.max(max, record.updatedMs), 0);
			sendJson(
				res,
				200,
				listed.map((record) => record.id),
				{
					...headers,
					ETag: `"${etagOf(body)}"`,
					...(newest ? { 'Last-Modified': httpDate(newest) } : {}),
				},
				head,
			);
			return;
		}
		if (method === 'DELETE' && documentId === undefined) {
			if (kind !== 'state') throw new XapiError(400, `Missing required parameter '${idParam}'`);
			for (const [documentKey, record] of documents)
				if (inScope(record)) documents.delete(documentKey);
			sendEmpty(res, 204, headers);
			return;
		}
		if (documentId === undefined)
			throw new XapiError(400, `Missing required parameter '${idParam}'`);
		const documentKey = keyOf(documentId);
		const existing = documents.get(documentKey);

		if (method === 'GET' || head) {
			if (!existing) {
				sendJson(res, 404, { errorId: randomUUID(), message: 'No document found' }, headers, head);
				return;
			}
			res.writeHead(200, {
				...headers,
				'Content-Type': existing.contentType,
				'Content-Length': String(existing.content.length),
				ETag: `"${existing.etag}"`,
				'Last-Modified': httpDate(existing.updatedMs),
			});
			res.end(head ? undefined : existing.content);
			return;
		}

		const ifMatch = req.headers['if-match'];
		const ifNoneMatch = req.headers['if-none-match'];
		const preconditionFailed =
			(ifMatch !== undefined &&
				(!existing || !parseEtags(ifMatch).some((tag) => tag === '*' || tag === existing.etag))) ||
			(ifNoneMatch !== undefined &&
				!!existing &&
				parseEtags(ifNoneMatch).some((tag) => tag === '*' || tag === existing.etag));
		if (preconditionFailed) {
			throw new XapiError(
				412,
				existing
					? `Precondition failed: the document's current ETag is "${existing.etag}"`
					: 'Precondition failed: the document does not exist',
			);
		}

		if (method === 'DELETE') {
			documents.delete(documentKey);
			sendEmpty(res, 204, headers);
			return;
		}
		if (method !== 'PUT' && method !== 'POST')
			throw new XapiError(405, `Method ${method} not allowed`);

		const content = await readBody(req);
		const contentType = req.headers['content-type'] ?? 'application/octet-stream';
		const isJsonType = (type: string) => type.toLowerCase().startsWith('application/json');
		let stored = content;
		if (method === 'PUT') {
			// State is exempt from the header requirement in 1.0.3; the 2.0 tests apply it to State too.
			const headerRequired = kind !== 'state' || v2;
			if (existing && headerRequired && ifMatch === undefined && ifNoneMatch === undefined) {
				throw new XapiError(
					409,
					'The document already exists. GET it to check its current state, then send the PUT again with If-Match set to its ETag.',
				);
			}
		} else if (existing) {
			if (!isJsonType(contentType) || !isJsonType(existing.contentType)) {
				throw new XapiError(
					400,
					'POST merges JSON objects only: both documents must be application/json',
				);
			}
			let incoming: unknown;
			let current: unknown;
			try {
				incoming = JSON.parse(content.toString('utf8'));
				current = JSON.parse(existing.content.toString('utf8'));
			} catch {
				throw new XapiError(400, 'POST merges JSON objects only: a document is not valid JSON');
			}
			if (!isObject(incoming) || !isObject(current)) {
				throw new XapiError(400, 'POST merges JSON objects only: a document is not a JSON object');
			}
			stored = Buffer.from(JSON.stringify({ ...current, ...incoming }));
		} else if (isJsonType(contentType)) {
			try {
				JSON.parse(content.toString('utf8'));
			} catch {
				throw new XapiError(400, 'Document declared application/json is not valid JSON');
			}
		}
		const record: DocumentRecord = {
			kind,
			id: documentId,
			activityId,
			agent,
			registration: registration?.toLowerCase(),
			content: stored,
			contentType: existing && method === 'POST' ? existing.contentType : contentType,
			etag: etagOf(stored),
			updatedMs: nextDocumentMs(),
		};
		documents.set(documentKey, record);
		sendEmpty(res, 204, { ...headers, ETag: `"${record.etag}"` });
	}

	function toPublicDocument(record: DocumentRecord): XapiDocument {
		const content = record.content.toString('utf8');
		let json: unknown;
		if (record.contentType.toLowerCase().startsWith('application/json')) {
			try {
				json = JSON.parse(content);
			} catch {
				json = undefined;
			}
		}
		return {
			kind: record.kind,
			id: record.id,
			...(record.activityId ? { activityId: record.activityId } : {}),
			...(record.agent ? { agent: cloneJson(record.agent) } : {}),
			...(record.registration ? { registration: record.registration } : {}),
			contentType: record.contentType,
			etag: record.etag,
			updated: new Date(record.updatedMs).toISOString(),
			content,
			...(json !== undefined ? { json } : {}),
		};
	}

	const documentsOf = (kind?: XapiDocumentKind) =>
		[...documents.values()].filter((record) => !kind || record.kind === kind).map(toPublicDocument);

	function takeFault(
		method: string,
		fullPath: string,
		relativePath: string,
	): ActiveFault | undefined {
		const fault = faults.find(
			(f) =>
				f.remaining > 0 &&
				(!f.method || f.method.toUpperCase() === method) &&
				(f.matches(fullPath) || f.matches(relativePath)),
		);
		if (!fault) return undefined;
		fault.remaining -= 1;
		faults = faults.filter((f) => f.remaining > 0);
		return fault;
	}

	function setFault(fault: XapiFault): void {
		faults.push({ ...fault, remaining: fault.count ?? 1, matches: pathMatcher(fault.path) });
	}

	function setRandomFaults(config: XapiRandomFaults | undefined): void {
		if (!config) {
			randomFaults = undefined;
			return;
		}
		const rate429 = config.rate429 ?? 0;
		const rate500 = config.rate500 ?? 0;
		if (rate429 < 0 || rate500 < 0 || rate429 + rate500 > 1) {
			throw new Error('rate429 and rate500 must be fractions whose sum is at most 1');
		}
		randomFaults = {
			...config,
			random: seededRandom(config.seed),
			matches: config.path === undefined ? () => true : pathMatcher(config.path),
		};
	}

	/** Draws for one request; the status and Retry-After to answer with, or undefined to serve it. */
	function drawRandomFault(
		method: string,
		fullPath: string,
		relativePath: string,
	): { status: 429 | 500; retryAfter?: string } | undefined {
		const config = randomFaults;
		if (!config) return undefined;
		if (config.method && config.method.toUpperCase() !== method) return undefined;
		if (!config.matches(fullPath) && !config.matches(relativePath)) return undefined;
		const draw = config.random();
		const rate429 = config.rate429 ?? 0;
		if (draw < rate429) {
			const seconds = config.retryAfterSec ?? 1;
			const modes = ['seconds', 'none', 'http-date'] as const;
			const mode =
				!config.retryAfter || config.retryAfter === 'mixed'
					? modes[Math.floor(config.random() * modes.length)]
					: config.retryAfter;
			if (mode === 'none') return { status: 429 };
			if (mode === 'seconds') return { status: 429, retryAfter: String(seconds) };
			// HTTP dates have whole seconds: round up so the client never comes back early.
			return {
				status: 429,
				retryAfter: httpDate(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000),
			};
		}
		if (draw < rate429 + (config.rate500 ?? 0)) return { status: 500 };
		return undefined;
	}

	async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const path = url.pathname;
		if (req.method === 'GET' && path === '/__sim/statements') {
			return sendJson(
				res,
				200,
				statementList.map((entry) => entry.statement),
			);
		}
		if (req.method === 'GET' && path === '/__sim/documents')
			return sendJson(res, 200, documentsOf());
		if (req.method === 'GET' && path === '/__sim/requests') return sendJson(res, 200, requests);
		if (req.method === 'POST' && path === '/__sim/faults') {
			setFault(JSON.parse((await readBody(req)).toString('utf8')) as XapiFault);
			return sendEmpty(res, 204);
		}
		if (req.method === 'DELETE' && path === '/__sim/faults') {
			faults = [];
			randomFaults = undefined;
			return sendEmpty(res, 204);
		}
		if (req.method === 'POST' && path === '/__sim/random-faults') {
			try {
				setRandomFaults(JSON.parse((await readBody(req)).toString('utf8')) as XapiRandomFaults);
			} catch (error) {
				return sendJson(res, 400, { message: (error as Error).message });
			}
			return sendEmpty(res, 204);
		}
		if (req.method === 'DELETE' && path === '/__sim/random-faults') {
			randomFaults = undefined;
			return sendEmpty(res, 204);
		}
		if (req.method === 'GET' && path === '/__sim/max-rate') {
			const windowMs = Number(url.searchParams.get('windowMs') ?? '1000');
			if (!(windowMs > 0)) return sendJson(res, 400, { message: 'windowMs must be positive' });
			return sendJson(res, 200, { windowMs, maxRequests: maxRequestsInWindow(requests, windowMs) });
		}
		if (req.method === 'DELETE' && path === '/__sim/requests') {
			requests.length = 0;
			return sendEmpty(res, 204);
		}
		sendJson(res, 404, { message: 'unknown control endpoint' });
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		if (url.pathname.startsWith('/__sim/')) return handleControl(req, res, url);

		const entry: XapiRequestLogEntry = {
			method,
			path: url.pathname,
			query: url.search,
			status: 0,
			at: Date.now(),
		};
		requests.push(entry);
		// Record the status when the head goes out: a client may read the answer before 'finish' fires.
		const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
		res.writeHead = ((...args: unknown[]) => {
			entry.status = Number(args[0]);
			return writeHead(...args);
		}) as typeof res.writeHead;
		res.on('finish', () => {
			entry.status = res.statusCode;
		});

		const versionHeader = req.headers['x-experience-api-version'];
		const version = typeof versionHeader === 'string' ? versionHeader.trim() : '';
		const v2 = /^2\.0(\.\d+)?$/.test(version);
		const headers: Record<string, string> = { 'X-Experience-API-Version': v2 ? '2.0.0' : '1.0.3' };

		try {
			await route(req, res, url, method, v2, version, headers, entry);
		} catch (error) {
			if (!(error instanceof XapiError) || res.headersSent || res.destroyed) throw error;
			const body = error.warnings
				? { errorId: randomUUID(), warnings: error.warnings }
				: { errorId: randomUUID(), message: error.message };
			sendJson(res, error.status, body, headers);
		}
	}

	async function route(
		req: IncomingMessage,
		res: ServerResponse,
		url: URL,
		method: string,
		v2: boolean,
		version: string,
		headers: Record<string, string>,
		entry: XapiRequestLogEntry,
	): Promise<void> {
		const inBase = url.pathname === basePath || url.pathname.startsWith(`${basePath}/`);
		const relative = inBase
			? url.pathname.slice(basePath.length).replace(/\/+$/, '') || '/'
			: url.pathname;
		const fault = takeFault(method, url.pathname, relative);
		if (fault) {
			if (fault.drop) {
				req.socket.destroy();
				return;
			}
			const status = fault.status ?? 503;
			const retryAfter =
				fault.retryAfterSec === null
					? undefined
					: (fault.retryAfterSec ?? (status === 429 ? 1 : undefined));
			const reason: Record<number, string> = {
				429: 'Too Many Requests',
				500: 'Internal Server Error',
				502: 'Bad Gateway',
				503: 'Service Unavailable',
			};
			entry.fault = 'scripted';
			if (retryAfter !== undefined) entry.retryAfter = String(retryAfter);
			sendJson(
				res,
				status,
				{ errorId: randomUUID(), message: reason[status] },
				{
					...headers,
					...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}),
				},
			);
			return;
		}
		const random = drawRandomFault(method, url.pathname, relative);
		if (random) {
			entry.fault = 'random';
			if (random.retryAfter !== undefined) entry.retryAfter = random.retryAfter;
			sendJson(
				res,
				random.status,
				{
					errorId: randomUUID(),
					message: random.status === 429 ? 'Too Many Requests' : 'Internal Server Error',
				},
				{ ...headers, ...(random.retryAfter !== undefined ? { 'Retry-After': random.retryAfter } : {}) },
			);
			return;
		}
		if (!inBase) {
			sendJson(res, 404, { errorId: randomUUID(), message: 'Not found' }, headers);
			return;
		}
		const head = method === 'HEAD';

		if (relative === '/about') {
			// About is exempt from the version header and SHOULD allow unauthenticated access.
			if (method !== 'GET' && !head) throw new XapiError(405, `Method ${method} not allowed`);
			sendJson(res, 200, { version: ['1.0.3', '2.0.0'] }, headers, head);
			return;
		}

		const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		if (!basic || Buffer.from(basic[1], 'base64').toString('utf8') !== `${key}:${secret}`) {
			sendJson(
				res,
				401,
				{ errorId: randomUUID(), message: 'Unauthorised' },
				{
					...headers,
					'WWW-Authenticate': 'Basic realm="xAPI"',
				},
			);
			return;
		}
		if (!v2 && !/^1\.0(\.\d+)?$/.test(version)) {
			sendJson(
				res,
				400,
				{
					errorId: randomUUID(),
					warnings: [
						version
							? `Problem in 'header.X-Experience-API-Version'. Received '${JSON.stringify(version)}'`
							: "Missing required value in 'header.X-Experience-API-Version'",
					],
				},
				headers,
			);
			return;
		}

		switch (relative) {
			case '/statements':
				return handleStatements(req, res, url, v2, headers);
			case '/activities':
				return handleActivities(url, res, headers, head);
			case '/agents':
				return handleAgents(url, res, headers, head);
			case '/activities/state':
				return handleDocuments('state', req, res, url, v2, headers);
			case '/activities/profile':
				return handleDocuments('activityProfile', req, res, url, v2, headers);
			case '/agents/profile':
				return handleDocuments('agentProfile', req, res, url, v2, headers);
			default:
				sendJson(res, 404, { errorId: randomUUID(), message: 'Not found' }, headers);
		}
	}

	const server = createServer((req, res) => {
		handle(req, res).catch((error: Error) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			const headers = { 'X-Experience-API-Version': '1.0.3' };
			if (error instanceof BodyTooLargeError) {
				sendJson(res, 413, { errorId: randomUUID(), message: error.message }, headers);
				return;
			}
			sendJson(res, 500, { errorId: randomUUID(), message: error.message }, headers);
		});
	});
	const port = await listen(server, host, options.port ?? 0);

	return {
		endpoint: `http://${host}:${port}${basePath}/`,
		port,
		key,
		secret,
		requests,
		close: () => closeServer(server),
		statements: () => statementList.map((entry) => cloneJson(entry.statement)),
		voidedStatementIds: () => [...voidedIds()],
		activityProfiles: () => documentsOf('activityProfile'),
		agentProfiles: () => documentsOf('agentProfile'),
		states: () => documentsOf('state'),
		setFault,
		setRandomFaults,
		clearFaults() {
			faults = [];
			randomFaults = undefined;
		},
	};
}
