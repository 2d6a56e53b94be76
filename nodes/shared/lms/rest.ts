import { createHash } from 'node:crypto';

import { HttpError, TransportError } from '../transport/errors';
import { HttpClient, type HttpRequest, type RetryPolicy } from '../transport/http';
import { sharedBucket, windowLimit } from '../transport/rateLimit';
import { finalVisibility, isQuarantined, RETRACTED_STATUS, staleFinal, staleRetraction } from './assetRules';
import type {
	AssetSnapshot,
	AssigneeRef,
	AssignmentRequest,
	AssignResult,
	FinalAsset,
	LmsAdapter,
	PlaceholderAsset,
	PushResult,
	RecordingRef,
	TargetAssignment,
} from './types';

/**
 * Generic REST LMS target. The contract (paths, field names, status words) is the package's own, for LMSs
 * or middleware built to it; every path is configurable.
 *
 *   POST  {assets}                    create   {externalId, title, description, url, moreInfo, tags, category,
 *                                               assetType, visibility, status, score, evaluationId, revision}
 *   GET   {assets}?externalId=…       lookup   → array or {items|data|entities: [...]}
 *   PATCH {asset}  (or PUT)           update
 *   POST  {assignments}               {externalId, userId, agent, moduleId, dueDate, dueAt, reason, assetId, …}
 *   GET   {assignments}?userId=&since= list    → state assigned | started | completed
 */

export type RestLmsAuthType = 'bearer' | 'apiKey' | 'basic';

/** Field names match the Rest LMS API credential, so its decrypted data can be passed as it is. */
export interface RestLmsCredentials {
	baseUrl: string;
	authType: RestLmsAuthType;
	token?: string;
	headerName?: string;
	apiKey?: string;
	username?: string;
	password?: string;
	/** Requests per minute for this credential (default 120); the client never sends more in any minute. */
	requestsPerMinute?: number;
	/** Plain http, for simulators and private test deployments only. */
	allowInsecureHttp?: boolean;
	assetsPath?: string;
	assignmentsPath?: string;
	healthPath?: string;
	updateMethod?: 'PATCH' | 'PUT';
}

export interface RestLmsPaths {
	assets: string;
	/** One asset; `{id}` is replaced by the LMS's asset id. */
	asset: string;
	assignments: string;
	/** Checked by `ping()`; default: the assets list with limit=1. */
	health?: string;
}

export const DEFAULT_REST_LMS_PATHS: RestLmsPaths = {
	assets: '/api/v1/learning/assets',
	asset: '/api/v1/learning/assets/{id}',
	assignments: '/api/v1/learning/assignments',
};

export interface RestLmsOptions {
	paths?: Partial<RestLmsPaths>;
	updateMethod?: 'PATCH' | 'PUT';
	retry?: Partial<RetryPolicy>;
	/** The rate limit counts requests in windows of this length (default one minute; tests shrink it). */
	rateWindowMs?: number;
	/** A completed module may be assigned again (default false: started or completed modules are never reassigned). */
	reassignCompleted?: boolean;
	/** The target's name in results (default `rest`). */
	target?: string;
}

/** Status words of the contract. */
export const REST_STATUS = {
	placeholder: 'pending_review',
	final: 'published',
	quarantined: 'quarantined',
	retracted: RETRACTED_STATUS,
} as const;

export interface RestAsset {
	id: string;
	externalId: string;
	title?: string;
	description?: string;
	url?: string;
	moreInfo?: string;
	tags?: string[];
	category?: string | null;
	assetType?: string | null;
	visibility?: 'private' | 'public';
	status?: string;
	score?: number | null;
	evaluationId?: string | null;
	revision?: string | null;
	mediaUrlExpiresAt?: string | null;
	createdAt?: string;
	updatedAt?: string;
}

export interface RestAssignment {
	id: string;
	externalId?: string;
	userId?: string;
	moduleId: string;
	dueDate?: string;
	dueAt?: string;
	reason?: string;
	assetId?: string;
	state?: string;
	assignedAt?: string;
	createdAt?: string;
}

/** The LMS refused the credential (401/403). The message names the request, never the secret. */
export class RestLmsAuthError extends Error {
	constructor(
		readonly status: number,
		readonly method: string,
		readonly url: string,
	) {
		super(
			`The REST LMS refused the credential (HTTP ${status}) on ${method} ${url}: check the authentication type, ` +
				'the API key header name and the token, key or password',
		);
		this.name = 'RestLmsAuthError';
	}
}

export function mapAssignmentState(state: string | undefined): TargetAssignment['state'] {
	switch ((state ?? '').toLowerCase()) {
		case 'assigned':
			return 'assigned';
		case 'started':
			return 'started';
		case 'completed':
			return 'completed';
		default:
			return 'unknown';
	}
}

/** The REST contract over the shared transport: auth, rate limit, lookups and writes. */
export class RestLmsClient {
	readonly baseUrl: string;
	readonly paths: RestLmsPaths;
	readonly updateMethod: 'PATCH' | 'PUT';
	private readonly http: HttpClient;
	private readonly secrets: string[];

	constructor(
		private readonly credentials: RestLmsCredentials,
		options: RestLmsOptions = {},
	) {
		if (!credentials.baseUrl) throw new Error('REST LMS credential: Base URL is empty');
		let url: URL;
		try {
			url = new URL(credentials.baseUrl);
		} catch {
			throw new Error('REST LMS credential: Base URL is not a valid URL');
		}
		if (url.protocol !== 'https:' && !(url.protocol === 'http:' && credentials.allowInsecureHttp)) {
			throw new Error(`Refusing ${url.protocol}// URL: only https is allowed unless the credential is marked as a local simulator`);
		}
		this.baseUrl = credentials.baseUrl.replace(/\/+$/, '');
		this.paths = {
			...DEFAULT_REST_LMS_PATHS,
			...(credentials.assetsPath ? { assets: credentials.assetsPath, asset: `${credentials.assetsPath.replace(/\/+$/, '')}/{id}` } : {}),
			...(credentials.assignmentsPath ? { assignments: credentials.assignmentsPath } : {}),
			...(credentials.healthPath ? { health: credentials.healthPath } : {}),
			...options.paths,
		};
		this.updateMethod = options.updateMethod ?? credentials.updateMethod ?? 'PATCH';
		this.secrets = [credentials.token, credentials.apiKey, credentials.password]
			.filter((value): value is string => typeof value === 'string' && value.length >= 4);
		this.assertAuthConfigured();
		const identity = createHash('sha256')
			.update([credentials.authType, credentials.headerName, credentials.username, ...this.secrets].join('\u0000'))
			.digest('hex')
			.slice(0, 16);
		const limit = credentials.requestsPerMinute ?? 120;
		if (!Number.isFinite(limit) || limit < 2) throw new Error('REST LMS credential: Requests per Minute must be at least 2');
		const { perMinute, burst } = windowLimit(limit, options.rateWindowMs);
		this.http = new HttpClient({ bucket: sharedBucket(`rest-lms|${this.baseUrl}|${identity}`, perMinute, burst), retry: options.retry });
	}

	private assertAuthConfigured(): void {
		const c = this.credentials;
		if (c.authType === 'bearer' && !c.token) throw new Error('REST LMS credential: Token is empty');
		if (c.authType === 'apiKey' && (!c.apiKey || !c.headerName)) throw new Error('REST LMS credential: API key header name and key are required');
		if (c.authType === 'basic' && !c.username) throw new Error('REST LMS credential: Username is empty');
		if (!['bearer', 'apiKey', 'basic'].includes(c.authType)) throw new Error(`REST LMS credential: unknown authentication type "${String(c.authType)}"`);
	}

	private authHeaders(): Record<string, string> {
		const c = this.credentials;
		if (c.authType === 'bearer') return { authorization: `Bearer ${c.token}` };
		if (c.authType === 'apiKey') return { [c.headerName!.trim().toLowerCase()]: c.apiKey! };
		return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}` };
	}

	url(path: string): string {
		return `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`;
	}

	assetUrl(assetId: string): string {
		return this.url(this.paths.asset.replace('{id}', encodeURIComponent(assetId)));
	}

	/** Every call goes through here: auth headers on, 401/403 turned into a clear error, secrets scrubbed. */
	async request<T>(request: HttpRequest): Promise<{ status: number; body: T }> {
		try {
			const response = await this.http.request<T>({ ...request, headers: { ...request.headers, ...this.authHeaders() } });
			return { status: response.status, body: response.body };
		} catch (error) {
			if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
				throw new RestLmsAuthError(error.status, error.method, error.url);
			}
			throw this.scrub(error);
		}
	}

	/** A server that echoes request headers into its error text must not leak the secret into logs. */
	private scrub(error: unknown): unknown {
		if (!(error instanceof Error) || this.secrets.length === 0) return error;
		const clean = (text: string) => this.secrets.reduce((acc, secret) => acc.split(secret).join('[redacted]'), text);
		if (error instanceof HttpError) {
			const raw = JSON.stringify(error.responseBody ?? '');
			const leaked = this.secrets.some((secret) => raw.includes(secret) || error.message.includes(secret));
			if (!leaked) return error;
			return new HttpError(error.status, error.method, error.url, '[redacted]', clean(error.message), error.retryAfterMs);
		}
		if (error instanceof TransportError) return error.message.includes('[redacted]') ? error : new TransportError(clean(error.message), error.url);
		error.message = clean(error.message);
		return error;
	}

	/** The credential test: the health path, or the assets list with limit=1. */
	async ping(signal?: AbortSignal): Promise<void> {
		await this.request({
			method: 'GET',
			url: this.url(this.paths.health ?? this.paths.assets),
			query: this.paths.health ? undefined : { limit: 1 },
			signal,
		});
	}

	async findAssetByExternalId(externalId: string, signal?: AbortSignal): Promise<RestAsset | undefined> {
		const response = await this.request<unknown>({ method: 'GET', url: this.url(this.paths.assets), query: { externalId }, signal });
		// A server may treat the filter as a search: only an exact match counts.
		return listOf<RestAsset>(response.body).find((asset) => asset.externalId === externalId);
	}

	/** `created: false` when the LMS answered 409 (someone created it first): the existing asset is read back. */
	async createAsset(body: Omit<RestAsset, 'id'>, signal?: AbortSignal): Promise<{ asset: RestAsset; created: boolean }> {
		const response = await this.request<RestAsset>({
			method: 'POST',
			url: this.url(this.paths.assets),
			body,
			acceptStatus: [409],
			signal,
		});
		if (response.status !== 409) return { asset: response.body, created: true };
		const existing = await this.findAssetByExternalId(body.externalId, signal);
		if (!existing) throw new HttpError(409, 'POST', this.url(this.paths.assets), undefined, `The REST LMS reported a conflict for ${body.externalId} but no asset with that external id can be found`);
		return { asset: existing, created: false };
	}

	/** PATCH sends the changes (null removes a field); PUT sends the whole asset. */
	async updateAsset(current: RestAsset, changes: Partial<RestAsset>, signal?: AbortSignal): Promise<RestAsset> {
		let body: Record<string, unknown>;
		if (this.updateMethod === 'PATCH') {
			body = { ...changes };
		} else {
			const merged: Record<string, unknown> = { ...current, ...changes };
			delete merged.id;
			for (const [key, value] of Object.entries(merged)) if (value === null) delete merged[key];
			body = merged;
		}
		const response = await this.request<RestAsset | undefined>({ method: this.updateMethod, url: this.assetUrl(current.id), body, signal });
		return response.body && typeof response.body === 'object' ? response.body : ({ ...current, ...changes } as RestAsset);
	}

	/** The user's assignments (all pages), optionally since an instant. */
	async listAssignments(userId: string, since?: string, signal?: AbortSignal): Promise<RestAssignment[]> {
		const all: RestAssignment[] = [];
		let url: string | undefined = this.url(this.paths.assignments);
		let query: HttpRequest['query'] = { userId, since };
		// The contract does not fix a paging scheme; a `next` link (absolute or relative) is followed when present.
		for (let page = 0; url && page < 100; page++) {
			const response: { body: unknown } = await this.request<unknown>({ method: 'GET', url, query, signal });
			all.push(...listOf<RestAssignment>(response.body));
			const next: unknown = (response.body as { next?: unknown } | undefined)?.next;
			url = typeof next === 'string' && next ? new URL(next, `${this.baseUrl}/`).toString() : undefined;
			query = undefined;
		}
		return all.filter((assignment) => assignment.userId === undefined || assignment.userId === userId);
	}

	/** `created: false` on 409 (the external id exists): the existing assignment is read back. */
	async createAssignment(body: Record<string, unknown> & { externalId: string; userId: string }, signal?: AbortSignal): Promise<{ assignment: RestAssignment; created: boolean }> {
		const response = await this.request<RestAssignment>({
			method: 'POST',
			url: this.url(this.paths.assignments),
			body,
			acceptStatus: [409],
			signal,
		});
		if (response.status !== 409) return { assignment: response.body, created: true };
		const existing = (await this.listAssignments(body.userId, undefined, signal)).find((a) => a.externalId === body.externalId);
		if (!existing) throw new HttpError(409, 'POST', this.url(this.paths.assignments), undefined, `The REST LMS reported a conflict for assignment ${body.externalId} but it cannot be found`);
		return { assignment: existing, created: false };
	}
}

function listOf<T>(body: unknown): T[] {
	if (Array.isArray(body)) return body as T[];
	if (body && typeof body === 'object') {
		const record = body as Record<string, unknown>;
		for (const key of ['items', 'data', 'entities', 'results']) {
			if (Array.isArray(record[key])) return record[key] as T[];
		}
	}
	return [];
}

function stageOf(asset: RestAsset): AssetSnapshot['stage'] {
	switch (asset.status) {
		case REST_STATUS.final:
			return 'final';
		case REST_STATUS.quarantined:
			return 'quarantined';
		default:
			// pending_review, and evaluation_retracted (back to an unscored private asset).
			return 'placeholder';
	}
}

export class RestLmsAdapter implements LmsAdapter {
	readonly target: string;

	constructor(
		readonly client: RestLmsClient,
		private readonly options: RestLmsOptions = {},
	) {
		this.target = options.target ?? 'rest';
	}

	static fromCredentials(credentials: RestLmsCredentials, options: RestLmsOptions = {}): RestLmsAdapter {
		return new RestLmsAdapter(new RestLmsClient(credentials, options), options);
	}

	private baseBody(asset: PlaceholderAsset): Omit<RestAsset, 'id' | 'visibility' | 'status'> {
		return {
			externalId: asset.ref.stateKey,
			title: asset.title,
			description: asset.description,
			// Learners open `url`; a signed media link expires, so the player page is preferred when there is one.
			url: asset.moreInfoUrl ?? asset.mediaLink?.url,
			moreInfo: asset.moreInfoUrl,
			mediaUrlExpiresAt: asset.moreInfoUrl ? undefined : asset.mediaLink?.expiresAt,
			tags: asset.tags,
		};
	}

	private result(asset: RestAsset, created: boolean, details: Record<string, unknown> = {}): PushResult {
		return {
			target: this.target,
			assetId: asset.id,
			statementIds: [],
			created,
			stage: stageOf(asset),
			details: { status: asset.status, visibility: asset.visibility, revision: asset.revision ?? undefined, ...details },
		};
	}

	async pushPlaceholder(asset: PlaceholderAsset, signal?: AbortSignal): Promise<PushResult> {
		const existing = await this.client.findAssetByExternalId(asset.ref.stateKey, signal);
		// A retry or a redelivery changes nothing, and never downgrades a final, quarantined or retracted asset.
		if (existing) return this.result(existing, false, { existing: true });
		const quarantined = isQuarantined(asset.ref);
		const { asset: stored, created } = await this.client.createAsset(
			{
				...this.baseBody(asset),
				visibility: 'private',
				status: quarantined ? REST_STATUS.quarantined : REST_STATUS.placeholder,
			},
			signal,
		);
		return this.result(stored, created, created ? {} : { existing: true, conflict: true });
	}

	async pushFinal(asset: FinalAsset, signal?: AbortSignal): Promise<PushResult> {
		const quarantined = isQuarantined(asset.ref);
		const fields: Omit<RestAsset, 'id'> = {
			...this.baseBody(asset),
			category: asset.category ?? null,
			assetType: asset.assetType ?? null,
			visibility: finalVisibility(asset),
			status: quarantined ? REST_STATUS.quarantined : REST_STATUS.final,
			score: asset.evaluation.totalScore,
			evaluationId: asset.evaluation.id,
			revision: asset.revision,
		};
		let current = await this.client.findAssetByExternalId(asset.ref.stateKey, signal);
		if (!current) {
			const { asset: stored, created } = await this.client.createAsset(fields, signal);
			if (created) return this.result(stored, true);
			current = stored; // lost a create race: apply the revision rule to what the winner wrote
		}
		if (staleFinal(current, asset.revision)) {
			return this.result(current, false, { stale: true, storedRevision: current.revision });
		}
		// The contract has no compare-and-swap on update; pushes of one recording are serialised by the state store's
		// versioned row, and the revision check above keeps redeliveries and late, older evaluations out.
		const updated = await this.client.updateAsset(current, fields, signal);
		return this.result(updated, false, { updated: true, previousRevision: current.revision ?? undefined });
	}

	async retractEvaluation(asset: PlaceholderAsset, evaluationId: string, revision: string, signal?: AbortSignal): Promise<PushResult> {
		const changes: Partial<RestAsset> = {
			visibility: 'private',
			score: null,
			status: REST_STATUS.retracted,
			evaluationId,
			revision,
		};
		const current = await this.client.findAssetByExternalId(asset.ref.stateKey, signal);
		if (!current) {
			// Retracted before the asset existed: a private, unscored asset holds the retraction's revision, so a late
			// push of the retracted evaluation cannot publish it.
			const fields = { ...this.baseBody(asset), ...changes } as Omit<RestAsset, 'id'>;
			delete (fields as Partial<RestAsset>).score;
			const { asset: stored, created } = await this.client.createAsset(fields, signal);
			if (created) return this.result(stored, true, { retracted: true });
			return this.retractExisting(stored, changes, evaluationId, revision, signal);
		}
		return this.retractExisting(current, changes, evaluationId, revision, signal);
	}

	private async retractExisting(current: RestAsset, changes: Partial<RestAsset>, evaluationId: string, revision: string, signal?: AbortSignal): Promise<PushResult> {
		const stale = staleRetraction(current, evaluationId, revision);
		// Another evaluation backs the asset now, or an older (or repeated) retraction: nothing changes.
		if (stale === 'other_evaluation') return this.result(current, false, { stale: true, otherEvaluation: true });
		if (stale) return this.result(current, false, { stale: true, storedRevision: current.revision ?? undefined });
		const updated = await this.client.updateAsset(current, changes, signal);
		return this.result(updated, false, { retracted: true, updated: true });
	}

	async findAsset(ref: RecordingRef, signal?: AbortSignal): Promise<AssetSnapshot | undefined> {
		const asset = await this.client.findAssetByExternalId(ref.stateKey, signal);
		if (!asset) return undefined;
		return {
			assetId: asset.id,
			stage: stageOf(asset),
			revision: asset.revision ?? undefined,
			evaluationId: asset.evaluationId ?? undefined,
			visibility: asset.visibility === 'public' ? 'public' : 'private',
			statementIds: [],
		};
	}

	async assign(request: AssignmentRequest, signal?: AbortSignal): Promise<AssignResult> {
		const userId = request.agent.id;
		// Without `since` the list is the agent's whole history (whether every server accepts that is not known;
		// the simulator does), so a started or completed module is seen however long ago it was assigned.
		const known = await this.client.listAssignments(userId, undefined, signal);
		const mine = known.find((assignment) => assignment.externalId === request.assignmentId);
		if (mine) return this.assignResult(mine, false, { existing: true });
		// Never a second copy of a module the agent has open, has started or (unless allowed) has completed.
		const blocking = known.find((assignment) => {
			if (assignment.moduleId !== request.moduleId) return false;
			const state = mapAssignmentState(assignment.state);
			return state === 'assigned' || state === 'started' || (state === 'completed' && !this.options.reassignCompleted);
		});
		if (blocking) {
			return this.assignResult(blocking, false, { existing: true, reason: `module_${mapAssignmentState(blocking.state)}` });
		}
		const { assignment, created } = await this.client.createAssignment(
			{
				externalId: request.assignmentId,
				userId,
				agent: { id: request.agent.id, email: request.agent.email, name: request.agent.name },
				moduleId: request.moduleId,
				dueDate: request.dueDate,
				dueAt: request.dueAt,
				reason: request.reason,
				assetId: request.assetId,
				evaluationId: request.evaluationId,
				conversationId: request.conversationId,
			},
			signal,
		);
		return this.assignResult(assignment, created, created ? {} : { existing: true, conflict: true });
	}

	private assignResult(assignment: RestAssignment, created: boolean, details: Record<string, unknown>): AssignResult {
		return {
			target: this.target,
			assignmentId: assignment.externalId ?? assignment.id,
			created,
			state: mapAssignmentState(assignment.state),
			details: { lmsAssignmentId: assignment.id, moduleId: assignment.moduleId, ...details },
		};
	}

	async listAssignments(agent: AssigneeRef, sinceIso: string, signal?: AbortSignal): Promise<TargetAssignment[]> {
		const since = Date.parse(sinceIso);
		return (await this.client.listAssignments(agent.id, sinceIso, signal))
			.map((assignment) => ({
				assignmentId: assignment.externalId ?? assignment.id,
				moduleId: assignment.moduleId,
				assignedAt: assignment.assignedAt ?? assignment.createdAt ?? '',
				state: mapAssignmentState(assignment.state),
				dueDate: assignment.dueDate,
			}))
			// A server that ignores `since` still gives the right answer.
			.filter((assignment) => Number.isNaN(since) || !assignment.assignedAt || Date.parse(assignment.assignedAt) >= since);
	}
}
