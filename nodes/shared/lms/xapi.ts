import { HttpError } from '../transport/errors';
import { HttpClient } from '../transport/http';
import { sharedBucket } from '../transport/rateLimit';
import type { LmsAdapter, PlaceholderAsset, PushResult } from './types';
import {
	assetStateProfileId,
	buildPlaceholderStatement,
	recordingActivityId,
	type XapiStatement,
	type XapiStatementOptions,
} from './xapiStatements';

import validateStatement from 'xapi-validation';

export interface XapiCredentials {
	endpoint: string;
	key: string;
	secret: string;
	version: '1.0.3' | '2.0.0';
	requestsPerMinute?: number;
}

/** A statement the validator refused; nothing was sent. */
export class InvalidStatementError extends Error {
	constructor(readonly problems: string[]) {
		super(`The xAPI statement is not valid: ${problems.join('; ')}`);
		this.name = 'InvalidStatementError';
	}
}

export function statementProblems(statement: unknown): string[] {
	return validateStatement(statement).map(
		(warning) => `${(warning.path ?? []).join('.')} (${warning.constructor.name})`,
	);
}

export interface AssetStateDocument {
	stage: 'placeholder' | 'final' | 'quarantined';
	status: string;
	visibility: 'private' | 'public';
	source: string;
	conversationId: string;
	recordingId: string;
	statementIds: string[];
	object?: unknown;
	mediaUrl?: string;
	mediaUrlExpiresAt?: string;
	updatedAt: string;
	[key: string]: unknown;
}

const STAGE_RANK: Record<AssetStateDocument['stage'], number> = { placeholder: 0, final: 1, quarantined: 1 };

/** xAPI 1.0.3 / 2.0 client over the shared transport (statements and Activity Profile documents). */
export class XapiClient {
	private readonly http: HttpClient;
	private readonly base: string;

	constructor(private readonly credentials: XapiCredentials, http?: HttpClient) {
		if (!credentials.endpoint) throw new Error('xAPI LRS credential: Endpoint is empty');
		this.base = credentials.endpoint.endsWith('/') ? credentials.endpoint : `${credentials.endpoint}/`;
		this.http =
			http ?? new HttpClient({ bucket: sharedBucket(`xapi|${this.base}|${credentials.key}`, credentials.requestsPerMinute ?? 600) });
	}

	private headers(extra: Record<string, string> = {}): Record<string, string> {
		const basic = Buffer.from(`${this.credentials.key}:${this.credentials.secret}`).toString('base64');
		return { authorization: `Basic ${basic}`, 'x-experience-api-version': this.credentials.version, ...extra };
	}

	async about(): Promise<{ version: string[] }> {
		const response = await this.http.request<{ version: string[] }>({ method: 'GET', url: `${this.base}about`, headers: this.headers() });
		return response.body;
	}

	/**
	 * `PUT /statements?statementId=` with our deterministic id: 204 when stored, and the LRS must leave an
	 * identical statement alone. A 409 means a statement with this id but other content is already stored.
	 */
	async putStatement(statement: XapiStatement): Promise<'stored' | 'conflict'> {
		const problems = statementProblems(statement);
		if (problems.length) throw new InvalidStatementError(problems);
		const response = await this.http.request({
			method: 'PUT',
			url: `${this.base}statements`,
			query: { statementId: statement.id },
			headers: this.headers(),
			body: statement,
			acceptStatus: [409],
			responseType: 'text',
		});
		return response.status === 409 ? 'conflict' : 'stored';
	}

	async getStatement(statementId: string): Promise<XapiStatement | undefined> {
		const response = await this.http.request<XapiStatement>({
			method: 'GET',
			url: `${this.base}statements`,
			query: { statementId },
			headers: this.headers(),
			acceptStatus: [404],
		});
		return response.status === 404 ? undefined : response.body;
	}

	async getActivityProfile<T>(activityId: string, profileId: string): Promise<{ document: T; etag: string } | undefined> {
		const response = await this.http.request<T>({
			method: 'GET',
			url: `${this.base}activities/profile`,
			query: { activityId, profileId },
			headers: this.headers(),
			acceptStatus: [404],
		});
		if (response.status === 404) return undefined;
		return { document: response.body, etag: response.headers.get('etag') ?? '' };
	}

	/** PUT with `If-Match: <etag>` or, for a new document, `If-None-Match: *`; false on 412 (someone else wrote first). */
	async putActivityProfile(activityId: string, profileId: string, document: unknown, etag: string | undefined): Promise<boolean> {
		const response = await this.http.request({
			method: 'PUT',
			url: `${this.base}activities/profile`,
			query: { activityId, profileId },
			headers: this.headers(etag ? { 'if-match': etag } : { 'if-none-match': '*' }),
			body: document,
			acceptStatus: [412],
			responseType: 'text',
		});
		return response.status !== 412;
	}

	/** Read-modify-write of an Activity Profile document, retried when a concurrent writer wins. */
	async updateActivityProfile<T>(
		activityId: string,
		profileId: string,
		change: (current: T | undefined) => T,
		maxAttempts = 5,
	): Promise<T> {
		for (let attempt = 1; attempt <= maxAttempts; attempt++) {
			const current = await this.getActivityProfile<T>(activityId, profileId);
			const next = change(current?.document);
			if (await this.putActivityProfile(activityId, profileId, next, current?.etag)) return next;
		}
		throw new HttpError(412, 'PUT', `${this.base}activities/profile`, undefined, `The asset state document of ${activityId} kept changing under ${maxAttempts} attempts`);
	}
}

export class XapiLmsAdapter implements LmsAdapter {
	readonly target = 'xapi';

	constructor(
		private readonly client: XapiClient,
		private readonly options: XapiStatementOptions,
	) {}

	async pushPlaceholder(asset: PlaceholderAsset): Promise<PushResult> {
		const statement = buildPlaceholderStatement(asset, this.options);
		// Look first so the result can say whether this push created the asset or found it (a redelivery).
		const existing = await this.client.getStatement(statement.id);
		const outcome = existing ? 'existing' : await this.client.putStatement(statement);
		const activityId = recordingActivityId(this.options.iriBase, asset);
		const { ref } = asset;
		const document = await this.client.updateActivityProfile<AssetStateDocument>(
			activityId,
			assetStateProfileId(this.options.iriBase),
			(current) => {
				const statementIds = [...new Set([...(current?.statementIds ?? []), statement.id])];
				const base: AssetStateDocument = {
					...current,
					stage: 'placeholder',
					status: 'pending_review',
					visibility: 'private',
					source: ref.source,
					conversationId: ref.conversationId,
					recordingId: ref.recordingId,
					statementIds,
					object: ref.object,
					mediaUrl: asset.mediaLink?.url,
					mediaUrlExpiresAt: asset.mediaLink?.expiresAt,
					updatedAt: new Date().toISOString(),
				};
				// The evaluation half may have completed the asset already: a late stage-1 retry never downgrades it.
				if (current && STAGE_RANK[current.stage] > STAGE_RANK.placeholder) {
					return { ...current, statementIds, updatedAt: base.updatedAt };
				}
				return base;
			},
		);
		return {
			target: this.target,
			assetId: activityId,
			statementIds: [statement.id],
			created: outcome === 'stored',
			stage: document.stage,
			details: { statementOutcome: outcome, assetState: { stage: document.stage, status: document.status, visibility: document.visibility } },
		};
	}
}
