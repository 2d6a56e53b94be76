import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import { BodyTooLargeError, closeServer, httpDate, listen, maxRequestsInWindow, readBody, seededRandom, sendJson } from './httpUtil';

/**
 * A generic REST LMS implementing the package's REST contract (see nodes/shared/lms/rest.ts):
 * assets (create / lookup by externalId / PATCH / PUT), assignments (create / list by userId and since),
 * bearer, API-key or basic auth, a seeded fault profile (429 with Retry-After seconds, HTTP date or none;
 * 500), 409 on a duplicate externalId, an enforced sliding-window rate limit and a timestamped request log.
 */

export type RestLmsSimAuth =
	| { type: 'bearer'; token: string }
	| { type: 'apiKey'; header: string; key: string }
	| { type: 'basic'; username: string; password: string };

export interface RestLmsFaultProfile {
	/** Seed of the fault dice, so a run is reproducible. */
	seed?: number;
	/** Fraction (0..1) of requests answered 429. */
	rate429?: number;
	/** How a 429 says when to come back (default `seconds`). */
	retryAfter?: 'seconds' | 'http-date' | 'none';
	/** Default 1. */
	retryAfterSec?: number;
	/** Fraction (0..1) of requests answered 500. */
	rate500?: number;
	/** Only these methods get faults (default all). */
	methods?: string[];
}

export interface RestLmsSimOptions {
	host?: string;
	port?: number;
	/** Default: bearer token `sim-rest-token`. */
	auth?: RestLmsSimAuth;
	faults?: RestLmsFaultProfile;
	/** Enforced server side: a request beyond `limit` within any `windowMs` gets 429 + Retry-After. */
	rateLimit?: { limit: number; windowMs: number };
	/** Page size of the assignment list (a `next` link marks further pages). */
	assignmentPageSize?: number;
	/** Echo the Authorization / API-key header into error bodies, like a careless server (to test scrubbing). */
	leakyErrors?: boolean;
}

export interface SimRestAsset {
	id: string;
	externalId: string;
	title: string;
	description?: string;
	url?: string;
	moreInfo?: string;
	tags?: string[];
	category?: string;
	assetType?: string;
	visibility: 'private' | 'public';
	status: string;
	score?: number;
	evaluationId?: string;
	revision?: string;
	createdAt: string;
	updatedAt: string;
	/** Writes to this asset after its creation (PATCH or PUT). */
	updates: number;
	[key: string]: unknown;
}

export type SimRestAssignmentState = 'assigned' | 'started' | 'completed';

export interface SimRestAssignment {
	id: string;
	externalId: string;
	userId: string;
	moduleId: string;
	dueDate: string;
	dueAt?: string;
	reason?: string;
	assetId?: string;
	state: SimRestAssignmentState;
	assignedAt: string;
	[key: string]: unknown;
}

export interface RestLmsLogEntry {
	/** Arrival time (epoch ms). */
	at: number;
	method: string;
	path: string;
	query: string;
	status: number;
	/** Why the request was refused before reaching its route, if it was. */
	refused?: 'rate-limit' | 'fault-429' | 'fault-500' | 'auth';
	/** For a 429: the instant the client was told to come back. */
	retryAfterAt?: number;
}

export interface RestLmsSimulator {
	readonly url: string;
	readonly port: number;
	readonly auth: RestLmsSimAuth;
	readonly assets: Map<string, SimRestAsset>;
	readonly assignments: Map<string, SimRestAssignment>;
	readonly requestLog: RestLmsLogEntry[];
	close(): Promise<void>;
	setFaults(profile: RestLmsFaultProfile | undefined): void;
	setRateLimit(limit: { limit: number; windowMs: number } | undefined): void;
	/** Moves an assignment (by id or externalId) to another state, as the learner would. */
	setAssignmentState(idOrExternalId: string, state: SimRestAssignmentState): void;
	/** Runs once just before the next asset or assignment create is processed (e.g. a concurrent writer winning). */
	beforeNextCreate(hook: (kind: 'asset' | 'assignment', body: Record<string, unknown>) => void): void;
	/** The largest number of requests that arrived within any window of `windowMs`. */
	maxInWindow(windowMs: number, entries?: RestLmsLogEntry[]): number;
}

const ASSETS = '/api/v1/learning/assets';
const ASSIGNMENTS = '/api/v1/learning/assignments';
const HEALTH = '/api/v1/health';
const STATES: SimRestAssignmentState[] = ['assigned', 'started', 'completed'];

function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

export async function startRestLms(options: RestLmsSimOptions = {}): Promise<RestLmsSimulator> {
	const host = options.host ?? '127.0.0.1';
	const auth: RestLmsSimAuth = options.auth ?? { type: 'bearer', token: 'sim-rest-token' };
	const assets = new Map<string, SimRestAsset>();
	const assignments = new Map<string, SimRestAssignment>();
	const requestLog: RestLmsLogEntry[] = [];
	const pageSize = options.assignmentPageSize ?? 50;
	let faults = options.faults;
	let dice = seededRandom(faults?.seed ?? 1);
	let rateLimit = options.rateLimit;
	let createHook: ((kind: 'asset' | 'assignment', body: Record<string, unknown>) => void) | undefined;

	function presentedCredential(req: IncomingMessage): string {
		if (auth.type === 'apiKey') return String(req.headers[auth.header.toLowerCase()] ?? '');
		return req.headers.authorization ?? '';
	}

	function authorised(req: IncomingMessage): boolean {
		const given = presentedCredential(req);
		if (auth.type === 'bearer') return safeEqual(given, `Bearer ${auth.token}`);
		if (auth.type === 'apiKey') return safeEqual(given, auth.key);
		return safeEqual(given, `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`);
	}

	function error(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
		const leak = options.leakyErrors ? { received: presentedCredential(req) } : {};
		sendJson(res, status, { error: code, message, status, ...leak }, headers);
	}

	function arrivalsWithin(now: number, windowMs: number): RestLmsLogEntry[] {
		return requestLog.filter((entry) => entry.at > now - windowMs && entry.at <= now);
	}

	async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
		const text = (await readBody(req, 1024 * 1024)).toString('utf8');
		const parsed: unknown = text ? JSON.parse(text) : {};
		if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('body must be a JSON object');
		return parsed as Record<string, unknown>;
	}

	function validateAsset(req: IncomingMessage, res: ServerResponse, asset: Record<string, unknown>): boolean {
		const problems: string[] = [];
		if (typeof asset.externalId !== 'string' || !asset.externalId) problems.push('externalId is required');
		if (typeof asset.title !== 'string' || !asset.title) problems.push('title is required');
		if (asset.visibility !== 'private' && asset.visibility !== 'public') problems.push('visibility must be private or public');
		if (typeof asset.status !== 'string' || !asset.status) problems.push('status is required');
		if (asset.score !== undefined && (typeof asset.score !== 'number' || asset.score < 0 || asset.score > 100)) problems.push('score must be 0..100');
		if (asset.tags !== undefined && (!Array.isArray(asset.tags) || asset.tags.some((tag) => typeof tag !== 'string'))) problems.push('tags must be strings');
		if (problems.length) error(req, res, 400, 'validation_failed', problems.join('; '));
		return problems.length === 0;
	}

	function byExternalId(externalId: string): SimRestAsset | undefined {
		return [...assets.values()].find((asset) => asset.externalId === externalId);
	}

	function findAssignment(idOrExternalId: string): SimRestAssignment | undefined {
		return assignments.get(idOrExternalId) ?? [...assignments.values()].find((a) => a.externalId === idOrExternalId);
	}

	async function handleAssets(req: IncomingMessage, res: ServerResponse, url: URL, id: string | undefined): Promise<void> {
		const method = req.method ?? 'GET';
		if (!id && method === 'GET') {
			const externalId = url.searchParams.get('externalId');
			const limit = Number(url.searchParams.get('limit') ?? 100);
			const items = [...assets.values()].filter((asset) => externalId === null || asset.externalId === externalId);
			sendJson(res, 200, { items: items.slice(0, Number.isFinite(limit) && limit > 0 ? limit : 100), next: null });
			return;
		}
		if (!id && method === 'POST') {
			const body = await jsonBody(req);
			if (!validateAsset(req, res, body)) return;
			const hook = createHook;
			createHook = undefined;
			hook?.('asset', body);
			const existing = byExternalId(String(body.externalId));
			if (existing) {
				error(req, res, 409, 'conflict', `An asset with externalId ${String(body.externalId)} already exists`);
				return;
			}
			const now = new Date().toISOString();
			const asset = { ...body, id: randomUUID(), createdAt: now, updatedAt: now, updates: 0 } as SimRestAsset;
			for (const [key, value] of Object.entries(asset)) if (value === null) delete asset[key];
			assets.set(asset.id, asset);
			sendJson(res, 201, publicAsset(asset), { Location: `${ASSETS}/${asset.id}` });
			return;
		}
		const asset = id ? assets.get(id) : undefined;
		if (!asset) {
			error(req, res, 404, 'not_found', 'No such asset');
			return;
		}
		if (method === 'GET') {
			sendJson(res, 200, publicAsset(asset));
			return;
		}
		if (method === 'PATCH' || method === 'PUT') {
			const body = await jsonBody(req);
			if (body.externalId !== undefined && body.externalId !== asset.externalId) {
				error(req, res, 400, 'validation_failed', 'externalId cannot change');
				return;
			}
			const next: Record<string, unknown> =
				method === 'PUT'
					? { ...body, id: asset.id, externalId: asset.externalId, createdAt: asset.createdAt }
					: { ...asset, ...body };
			// Merge-patch: null removes a field.
			for (const [key, value] of Object.entries(next)) if (value === null) delete next[key];
			if (!validateAsset(req, res, next)) return;
			const updated = { ...next, updatedAt: new Date().toISOString(), updates: asset.updates + 1 } as SimRestAsset;
			assets.set(asset.id, updated);
			sendJson(res, 200, publicAsset(updated));
			return;
		}
		error(req, res, 405, 'method_not_allowed', `${method} is not allowed here`);
	}

	function publicAsset(asset: SimRestAsset): Record<string, unknown> {
		const { updates: _updates, ...rest } = asset;
		return rest;
	}

	async function handleAssignments(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const method = req.method ?? 'GET';
		if (method === 'GET') {
			const userId = url.searchParams.get('userId');
			if (!userId) {
				error(req, res, 400, 'validation_failed', 'userId is required');
				return;
			}
			const sinceRaw = url.searchParams.get('since');
			const since = sinceRaw ? Date.parse(sinceRaw) : Number.NEGATIVE_INFINITY;
			if (Number.isNaN(since)) {
				error(req, res, 400, 'validation_failed', 'since must be an ISO-8601 instant');
				return;
			}
			const cursor = Number(url.searchParams.get('cursor') ?? 0) || 0;
			const all = [...assignments.values()]
				.filter((a) => a.userId === userId && Date.parse(a.assignedAt) >= since)
				.sort((a, b) => a.assignedAt.localeCompare(b.assignedAt) || a.id.localeCompare(b.id));
			const page = all.slice(cursor, cursor + pageSize);
			let next: string | null = null;
			if (cursor + pageSize < all.length) {
				const params = new URLSearchParams({ userId, cursor: String(cursor + pageSize) });
				if (sinceRaw) params.set('since', sinceRaw);
				next = `${ASSIGNMENTS}?${params.toString()}`;
			}
			sendJson(res, 200, { items: page, next });
			return;
		}
		if (method === 'POST') {
			const body = await jsonBody(req);
			const problems = ['externalId', 'userId', 'moduleId', 'dueDate'].filter((field) => typeof body[field] !== 'string' || !body[field]).map((field) => `${field} is required`);
			if (typeof body.dueDate === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(body.dueDate)) problems.push('dueDate must be YYYY-MM-DD');
			if (problems.length) {
				error(req, res, 400, 'validation_failed', problems.join('; '));
				return;
			}
			const hook = createHook;
			createHook = undefined;
			hook?.('assignment', body);
			if (findAssignment(String(body.externalId))) {
				error(req, res, 409, 'conflict', `An assignment with externalId ${String(body.externalId)} already exists`);
				return;
			}
			const assignment = { ...body, id: randomUUID(), state: 'assigned', assignedAt: new Date().toISOString() } as SimRestAssignment;
			assignments.set(assignment.id, assignment);
			sendJson(res, 201, assignment);
			return;
		}
		error(req, res, 405, 'method_not_allowed', `${method} is not allowed here`);
	}

	/** Out-of-band control for a simulator in another process (not logged, not rate limited). */
	async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const method = (req.method ?? 'GET').toUpperCase();
		if (method === 'GET' && url.pathname === '/__sim/state') {
			return sendJson(res, 200, { assets: [...assets.values()], assignments: [...assignments.values()], requests: requestLog.length });
		}
		if (method === 'GET' && url.pathname === '/__sim/requests') return sendJson(res, 200, requestLog);
		if (method === 'POST' && url.pathname === '/__sim/faults') {
			const profile = await jsonBody(req);
			faults = Object.keys(profile).length ? (profile as RestLmsFaultProfile) : undefined;
			dice = seededRandom(faults?.seed ?? 1);
			return sendJson(res, 200, { faults: faults ?? null });
		}
		const match = /^\/__sim\/assignments\/([^/]+)\/state$/.exec(url.pathname);
		if (method === 'POST' && match) {
			const { state } = await jsonBody(req);
			const assignment = findAssignment(decodeURIComponent(match[1]));
			if (!assignment) return sendJson(res, 404, { error: 'not_found', message: 'No such assignment' });
			if (!STATES.includes(state as SimRestAssignmentState)) return sendJson(res, 400, { error: 'validation_failed', message: `state must be one of ${STATES.join(', ')}` });
			assignment.state = state as SimRestAssignmentState;
			return sendJson(res, 200, assignment);
		}
		sendJson(res, 404, { error: 'not_found', message: 'unknown control endpoint' });
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const at = Date.now();
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		if (url.pathname.startsWith('/__sim/')) return handleControl(req, res, url);
		const entry: RestLmsLogEntry = { at, method, path: url.pathname, query: url.search, status: 0 };
		// Requests already in the window, before this one is logged.
		const windowed = rateLimit ? arrivalsWithin(at, rateLimit.windowMs) : [];
		requestLog.push(entry);
		res.on('finish', () => (entry.status = res.statusCode));
		res.on('close', () => (entry.status ||= res.statusCode || 0));

		if (rateLimit && windowed.length >= rateLimit.limit) {
			const oldest = Math.min(...windowed.map((e) => e.at));
			const waitSec = Math.max(1, Math.ceil((oldest + rateLimit.windowMs - at) / 1000));
			entry.refused = 'rate-limit';
			entry.retryAfterAt = at + waitSec * 1000;
			error(req, res, 429, 'rate_limited', `More than ${rateLimit.limit} requests within ${rateLimit.windowMs} ms`, { 'Retry-After': String(waitSec) });
			return;
		}
		if (faults && (!faults.methods || faults.methods.includes(method))) {
			const roll = dice();
			if (roll < (faults.rate429 ?? 0)) {
				const sec = faults.retryAfter === 'none' ? undefined : (faults.retryAfterSec ?? 1);
				const headers: Record<string, string> = {};
				entry.refused = 'fault-429';
				if (sec !== undefined && faults.retryAfter === 'http-date') {
					// An HTTP date has whole seconds: round up so the client never comes back early.
					const until = Math.ceil((at + sec * 1000) / 1000) * 1000;
					headers['Retry-After'] = httpDate(until);
					entry.retryAfterAt = until;
				} else if (sec !== undefined) {
					headers['Retry-After'] = String(sec);
					entry.retryAfterAt = at + sec * 1000;
				}
				error(req, res, 429, 'rate_limited', 'Too many requests', headers);
				return;
			}
			if (roll < (faults.rate429 ?? 0) + (faults.rate500 ?? 0)) {
				entry.refused = 'fault-500';
				error(req, res, 500, 'internal_error', 'Something went wrong');
				return;
			}
		}
		if (!authorised(req)) {
			entry.refused = 'auth';
			error(req, res, 401, 'unauthorized', 'Missing or invalid credentials', auth.type === 'bearer' ? { 'WWW-Authenticate': 'Bearer' } : {});
			return;
		}
		const path = url.pathname.replace(/\/+$/, '');
		if (path === HEALTH && method === 'GET') return sendJson(res, 200, { status: 'ok' });
		if (path === ASSETS) return handleAssets(req, res, url, undefined);
		if (path.startsWith(`${ASSETS}/`) && path.split('/').length === 6) return handleAssets(req, res, url, decodeURIComponent(path.split('/')[5]));
		if (path === ASSIGNMENTS) return handleAssignments(req, res, url);
		error(req, res, 404, 'not_found', 'No such route');
	}

	const server = createServer((req, res) => {
		handle(req, res).catch((err: Error) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: 'too_large', message: err.message });
			if (err instanceof SyntaxError) return sendJson(res, 400, { error: 'bad_json', message: err.message });
			sendJson(res, 500, { error: 'internal_error', message: err.message });
		});
	});
	const port = await listen(server, host, options.port ?? 0);

	return {
		url: `http://${host}:${port}`,
		port,
		auth,
		assets,
		assignments,
		requestLog,
		close: () => closeServer(server),
		setFaults(profile) {
			faults = profile;
			dice = seededRandom(profile?.seed ?? 1);
		},
		setRateLimit(limit) {
			rateLimit = limit;
		},
		setAssignmentState(idOrExternalId, state) {
			const assignment = findAssignment(idOrExternalId);
			if (!assignment) throw new Error(`No assignment ${idOrExternalId}`);
			if (!STATES.includes(state)) throw new Error(`Unknown state ${state}`);
			assignment.state = state;
		},
		beforeNextCreate(hook) {
			createHook = hook;
		},
		maxInWindow(windowMs, entries = requestLog) {
			return maxRequestsInWindow(entries, windowMs);
		},
	};
}
