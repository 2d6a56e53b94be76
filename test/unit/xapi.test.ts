import { CX_TRAINING_NAMESPACE, uuidV5 } from '../../nodes/shared/ids';
import type { RecordingRef } from '../../nodes/shared/recordingRef';
import type { PlaceholderAsset } from '../../nodes/shared/lms/types';
import {
	InvalidStatementError,
	statementProblems,
	XapiClient,
	XapiLmsAdapter,
	type AssetStateDocument,
	type XapiCredentials,
} from '../../nodes/shared/lms/xapi';
import {
	assetStateProfileId,
	buildPlaceholderStatement,
	recordingActivityId,
	statementIdFor,
	VIDEO_ACTIVITY_TYPE,
	VIDEO_LENGTH_EXTENSION,
	type XapiStatementOptions,
} from '../../nodes/shared/lms/xapiStatements';
import { HttpError } from '../../nodes/shared/transport/errors';
import { HttpClient } from '../../nodes/shared/transport/http';
import { startXapiLrs, type XapiLrsSimulator } from '../simulators/xapiLrs';

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };
const IRI = 'https://xapi.cx-training.test';
const OPTIONS: XapiStatementOptions = {
	iriBase: IRI,
	actorHomePage: 'https://apps.mypurecloud.com',
	actorByEmail: false,
	language: 'en-US',
};

function refFor(recordingId: string, overrides: Partial<RecordingRef> = {}): RecordingRef {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId,
		agent: { id: 'agent-a', name: 'Ada Lovelace', email: 'ada@example.com' },
		queue: { id: 'queue-billing' },
		mediaType: 'screen',
		startTime: '2025-03-04T10:00:00.000Z',
		endTime: '2025-03-04T10:07:30.000Z',
		durationSec: 450,
		stateKey: `genesys-cloud:conv-1:${recordingId}`,
		object: {
			bucket: 'b',
			key: `recordings/genesys-cloud/conv-1/${recordingId}/original.webm`,
			size: 10,
			sha256: 'f'.repeat(64),
			contentType: 'video/webm',
		},
		...overrides,
	};
}

function assetFor(recordingId: string, overrides: Partial<PlaceholderAsset> = {}): PlaceholderAsset {
	return {
		ref: refFor(recordingId),
		title: 'Screen recording of a billing call',
		description: 'Pending QA review',
		tags: ['billing', 'screen'],
		...overrides,
	};
}

let lrs: XapiLrsSimulator;

function credentials(version: XapiCredentials['version'] = '1.0.3'): XapiCredentials {
	return { endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version };
}

function newClient(version: XapiCredentials['version'] = '1.0.3'): XapiClient {
	return new XapiClient(credentials(version), new HttpClient({ retry: FAST }));
}

function requestsTo(path: string, method?: string) {
	return lrs.requests.filter((entry) => entry.path === `/xAPI${path}` && (!method || entry.method === method));
}

beforeEach(async () => {
	lrs = await startXapiLrs();
});

afterEach(async () => {
	await lrs.close();
});

describe('xAPI statements', () => {
	it('derives the statement id from state key and stage with uuidV5 in the package namespace', () => {
		const id = statementIdFor('genesys-cloud:conv-1:rec-1', 'placeholder');
		expect(id).toBe(uuidV5('genesys-cloud:conv-1:rec-1:placeholder', CX_TRAINING_NAMESPACE));
		expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(statementIdFor('genesys-cloud:conv-1:rec-1', 'final')).not.toBe(id);
		expect(statementIdFor('genesys-cloud:conv-1:rec-2', 'placeholder')).not.toBe(id);
		expect(buildPlaceholderStatement(assetFor('rec-1'), OPTIONS).id).toBe(id);
	});

	it('builds a private pending_review video activity that passes xapi-validation', () => {
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		expect(statementProblems(statement)).toEqual([]);
		const activityId = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
		expect(statement).toEqual({
			id: statementIdFor('genesys-cloud:conv-1:rec-1', 'placeholder'),
			actor: { objectType: 'Agent', account: { homePage: 'https://apps.mypurecloud.com', name: 'agent-a' } },
			verb: { id: 'http://adlnet.gov/expapi/verbs/experienced', display: { 'en-US': 'experienced' } },
			object: {
				objectType: 'Activity',
				id: activityId,
				definition: {
					type: VIDEO_ACTIVITY_TYPE,
					name: { 'en-US': 'Screen recording of a billing call' },
					description: { 'en-US': 'Pending QA review' },
					moreInfo: activityId,
					extensions: {
						[`${IRI}/xapi/extensions/status`]: 'pending_review',
						[`${IRI}/xapi/extensions/visibility`]: 'private',
						[`${IRI}/xapi/extensions/tags`]: ['billing', 'screen'],
						[`${IRI}/xapi/extensions/source-ids`]: {
							source: 'genesys-cloud',
							conversationId: 'conv-1',
							recordingId: 'rec-1',
							queueId: 'queue-billing',
							stateKey: 'genesys-cloud:conv-1:rec-1',
						},
						[VIDEO_LENGTH_EXTENSION]: 450,
					},
				},
			},
			context: { platform: 'Genesys Cloud', language: 'en-US' },
			timestamp: '2025-03-04T10:00:00.000Z',
		});
		expect(recordingActivityId(IRI, assetFor('rec-1'))).toBe(activityId);
	});

	it('identifies the agent by account only: no e-mail or name leaves the building unless opted in', () => {
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		const text = JSON.stringify(statement);
		expect(text).not.toContain('ada@example.com');
		expect(text).not.toContain('Lovelace');
		expect(text).not.toContain('mbox');

		const byEmail = buildPlaceholderStatement(assetFor('rec-1'), { ...OPTIONS, actorByEmail: true });
		expect(byEmail.actor).toEqual({ objectType: 'Agent', mbox: 'mailto:ada@example.com' });
		expect(statementProblems(byEmail)).toEqual([]);
		const noEmail = assetFor('rec-1', { ref: refFor('rec-1', { agent: { id: 'agent-z' } }) });
		expect(() => buildPlaceholderStatement(noEmail, { ...OPTIONS, actorByEmail: true })).toThrow(
			'Agent agent-z has no e-mail address; turn off "Identify Agent by E-mail"',
		);
	});

	it('is byte-identical on a retry and leaves out optional parts it does not have', () => {
		const a = JSON.stringify(buildPlaceholderStatement(assetFor('rec-1'), OPTIONS));
		const b = JSON.stringify(buildPlaceholderStatement(assetFor('rec-1'), OPTIONS));
		expect(b).toBe(a);
		const bare = buildPlaceholderStatement(
			assetFor('rec-2', {
				ref: refFor('rec-2', { durationSec: undefined, queue: undefined, startTime: '' }),
				moreInfoUrl: 'https://player.example/rec-2',
			}),
			OPTIONS,
		);
		expect(bare).not.toHaveProperty('timestamp');
		expect(bare.object.definition.extensions).not.toHaveProperty([VIDEO_LENGTH_EXTENSION]);
		expect(bare.object.definition.extensions[`${IRI}/xapi/extensions/source-ids`]).not.toHaveProperty('queueId');
		expect(bare.object.definition.moreInfo).toBe('https://player.example/rec-2');
		expect(statementProblems(bare)).toEqual([]);
	});

	it('reports validator problems by path', () => {
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		const problems = statementProblems({ ...statement, actor: { objectType: 'Agent' }, verb: { id: 'not an iri' } });
		expect(problems.length).toBeGreaterThan(0);
		expect(problems).toContain('statement.actor (NoIfiWarning)');
		expect(problems.some((problem) => problem.startsWith('statement.verb.id'))).toBe(true);
	});
});

describe('XapiClient against the LRS simulator', () => {
	it('stores a statement with PUT ?statementId=, leaves an identical one alone and reports a conflicting one', async () => {
		const client = newClient();
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		expect(await client.putStatement(statement)).toBe('stored');
		expect(await client.putStatement(statement)).toBe('stored');
		// Same id, another agent: not the same statement (definitions and verb displays do not count).
		const changed = { ...statement, actor: { objectType: 'Agent', account: { homePage: OPTIONS.actorHomePage, name: 'agent-b' } } };
		expect(await client.putStatement(changed)).toBe('conflict');
		expect(lrs.statements().map((s) => s.id)).toEqual([statement.id]);
		expect(requestsTo('/statements', 'PUT').map((entry) => [entry.query, entry.status])).toEqual([
			[`?statementId=${statement.id}`, 204],
			[`?statementId=${statement.id}`, 204],
			[`?statementId=${statement.id}`, 409],
		]);
		expect((await client.getStatement(statement.id))?.id).toBe(statement.id);
		expect(await client.getStatement(statementIdFor('nope', 'placeholder'))).toBeUndefined();
	});

	it('is accepted by a 2.0 LRS as well', async () => {
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		expect(await newClient('2.0.0').putStatement(statement)).toBe('stored');
		expect(lrs.statements()[0].version).toBe('2.0.0');
	});

	it('refuses an invalid statement without sending it', async () => {
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		const invalid = { ...statement, actor: { objectType: 'Agent', name: 'no identifier' } };
		const error = await newClient()
			.putStatement(invalid)
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidStatementError);
		expect((error as InvalidStatementError).problems.length).toBeGreaterThan(0);
		expect((error as Error).message).toBe('The xAPI statement is not valid: statement.actor (NoIfiWarning)');
		expect(lrs.requests).toHaveLength(0);
	});

	it('retries a 503 from the LRS on PUT statements', async () => {
		lrs.setFault({ path: '/statements', method: 'PUT', status: 503 });
		const statement = buildPlaceholderStatement(assetFor('rec-1'), OPTIONS);
		expect(await newClient().putStatement(statement)).toBe('stored');
		expect(requestsTo('/statements', 'PUT').map((entry) => entry.status)).toEqual([503, 204]);
	});

	it('writes a new profile document with If-None-Match: * and an existing one with its ETag', async () => {
		const client = newClient();
		const activityId = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
		const profileId = assetStateProfileId(IRI);
		expect(await client.getActivityProfile(activityId, profileId)).toBeUndefined();
		expect(await client.putActivityProfile(activityId, profileId, { n: 1 }, undefined)).toBe(true);
		// A second create loses: If-None-Match: * fails once the document exists (without the header the LRS would answer 409).
		expect(await client.putActivityProfile(activityId, profileId, { n: 2 }, undefined)).toBe(false);
		const current = await client.getActivityProfile<{ n: number }>(activityId, profileId);
		expect(current?.document).toEqual({ n: 1 });
		expect(current?.etag).toBe(`"${lrs.activityProfiles()[0].etag}"`);
		expect(await client.putActivityProfile(activityId, profileId, { n: 3 }, '"0000000000000000000000000000000000000000"')).toBe(false);
		expect(await client.putActivityProfile(activityId, profileId, { n: 3 }, current!.etag)).toBe(true);
		expect(lrs.activityProfiles()[0].json).toEqual({ n: 3 });
		expect(lrs.activityProfiles()[0].contentType).toMatch(/^application\/json/);
		expect(requestsTo('/activities/profile', 'PUT').map((entry) => entry.status)).toEqual([204, 412, 412, 204]);
	});

	it('re-reads and retries the read-modify-write when another writer wins (412)', async () => {
		const other = newClient();
		let raced = 0;
		class RacingClient extends XapiClient {
			override async getActivityProfile<T>(activityId: string, profileId: string) {
				const current = await super.getActivityProfile<T>(activityId, profileId);
				if (raced < 2) {
					raced++;
					await other.putActivityProfile(activityId, profileId, { ...(current?.document ?? {}), [`other${raced}`]: true }, current?.etag);
				}
				return current;
			}
		}
		const client = new RacingClient(credentials(), new HttpClient({ retry: FAST }));
		const calls: Array<Record<string, unknown> | undefined> = [];
		const result = await client.updateActivityProfile<Record<string, unknown>>('https://a.test/1', 'https://a.test/p', (current) => {
			calls.push(current);
			return { ...current, mine: true };
		});
		expect(calls).toEqual([undefined, { other1: true }, { other1: true, other2: true }]);
		expect(result).toEqual({ other1: true, other2: true, mine: true });
		expect(lrs.activityProfiles()[0].json).toEqual({ other1: true, other2: true, mine: true });
		// other (create), ours (If-None-Match: * → 412), other (If-Match), ours (stale If-Match → 412), ours (204).
		expect(requestsTo('/activities/profile', 'PUT').map((entry) => entry.status)).toEqual([204, 412, 204, 412, 204]);
	});

	it('gives up with a 412 HttpError after maxAttempts lost races', async () => {
		const other = newClient();
		class AlwaysLosing extends XapiClient {
			override async getActivityProfile<T>(activityId: string, profileId: string) {
				const current = await super.getActivityProfile<T>(activityId, profileId);
				await other.putActivityProfile(activityId, profileId, { at: Date.now() + Math.random() }, current?.etag);
				return current;
			}
		}
		const client = new AlwaysLosing(credentials(), new HttpClient({ retry: FAST }));
		const error = (await client.updateActivityProfile('https://a.test/1', 'https://a.test/p', () => ({ mine: true }), 3).catch((e: unknown) => e)) as HttpError;
		expect(error).toBeInstanceOf(HttpError);
		expect(error.status).toBe(412);
		expect(error.message).toBe('The asset state document of https://a.test/1 kept changing under 3 attempts');
		const ours = requestsTo('/activities/profile', 'PUT').filter((_entry, i) => i % 2 === 1);
		expect(ours.map((entry) => entry.status)).toEqual([412, 412, 412]);
	});
});

describe('XapiClient statement queries and voiding', () => {
	const agentStatement = (id: string, verb = 'http://adlnet.gov/expapi/verbs/launched') => ({
		id,
		actor: { objectType: 'Agent', account: { homePage: OPTIONS.actorHomePage, name: 'agent-a' } },
		verb: { id: verb, display: { 'en-US': 'launched' } },
		object: { objectType: 'Activity' as const, id: `${IRI}/modules/m-1`, definition: { type: 'http://adlnet.gov/expapi/activities/module', name: { 'en-US': 'm-1' }, description: { 'en-US': 'm-1' }, extensions: {} } },
	});

	it('POSTs a batch, reports a conflicting id, and refuses an invalid batch without sending it', async () => {
		const client = newClient();
		const a = agentStatement(statementIdFor('batch', 'a'));
		const b = agentStatement(statementIdFor('batch', 'b'));
		expect(await client.postStatements([a, b])).toEqual({ ids: [a.id, b.id], conflict: false });
		expect(await client.postStatements([a])).toEqual({ ids: [a.id], conflict: false });
		const changed = { ...a, verb: { id: 'http://adlnet.gov/expapi/verbs/completed', display: { 'en-US': 'completed' } } };
		expect(await client.postStatements([changed])).toEqual({ ids: [], conflict: true });
		const requestsBefore = lrs.requests.length;
		const error = await client.postStatements([a, { ...b, actor: { objectType: 'Agent' } }]).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidStatementError);
		expect((error as InvalidStatementError).problems).toEqual(['[1] statement.actor (NoIfiWarning)']);
		expect(lrs.requests).toHaveLength(requestsBefore);
		expect(lrs.statements()).toHaveLength(2);
	});

	it('reads a voided statement only through voidedStatementId', async () => {
		const client = newClient();
		const target = agentStatement(statementIdFor('void', 'target'));
		await client.putStatement(target);
		expect(await client.getVoidedStatement(target.id)).toBeUndefined();
		await client.postStatements([
			{ id: statementIdFor('void', 'voiding'), actor: target.actor, verb: { id: 'http://adlnet.gov/expapi/verbs/voided', display: { 'en-US': 'voided' } }, object: { objectType: 'StatementRef', id: target.id } },
		]);
		expect(await client.getStatement(target.id)).toBeUndefined();
		expect((await client.getVoidedStatement(target.id))?.id).toBe(target.id);
		expect(requestsTo('/statements', 'GET').map((entry) => entry.query)).toEqual([
			`?voidedStatementId=${target.id}`,
			`?statementId=${target.id}`,
			`?voidedStatementId=${target.id}`,
		]);
	});

	it('follows relative `more` links page by page and stops at the page budget', async () => {
		await lrs.close();
		lrs = await startXapiLrs({ maxLimit: 2 });
		const client = newClient();
		const ids = Array.from({ length: 5 }, (_v, i) => statementIdFor('paging', String(i)));
		for (const id of ids) await client.putStatement(agentStatement(id));
		const agent = { objectType: 'Agent', account: { homePage: OPTIONS.actorHomePage, name: 'agent-a' } };
		const all = await client.queryStatements({ agent, activity: `${IRI}/modules/m-1`, ascending: true });
		expect(all.statements.map((s) => s.id)).toEqual(ids);
		expect(all).toMatchObject({ truncated: false, pages: 3 });
		expect(Date.parse(all.consistentThrough!)).not.toBeNaN();
		const gets = requestsTo('/statements', 'GET');
		expect(new URLSearchParams(gets[0].query).get('agent')).toBe(JSON.stringify(agent));
		expect(gets.slice(1).every((entry) => /^\?cursor=/.test(entry.query))).toBe(true);

		const partial = await client.queryStatements({ verb: 'http://adlnet.gov/expapi/verbs/launched' }, { maxPages: 2 });
		expect(partial).toMatchObject({ truncated: true, pages: 2 });
		expect(partial.statements).toHaveLength(4);
		const none = await client.queryStatements({ verb: 'http://adlnet.gov/expapi/verbs/completed' });
		expect(none).toMatchObject({ statements: [], truncated: false, pages: 1 });
	});

	it('does not follow a `more` link to another origin', async () => {
		const { createServer } = await import('node:http');
		const server = createServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'application/json', 'x-experience-api-consistent-through': new Date().toISOString() });
			res.end(JSON.stringify({ statements: [], more: 'http://127.0.0.2:9/xAPI/statements?cursor=x' }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const port = (server.address() as { port: number }).port;
		try {
			const client = new XapiClient({ endpoint: `http://127.0.0.1:${port}/xAPI/`, key: 'k', secret: 's', version: '1.0.3' }, new HttpClient({ retry: FAST }));
			await expect(client.queryStatements({})).rejects.toThrow('The LRS returned a "more" link to another origin (http://127.0.0.2:9); not following it');
		} finally {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	});

	it('retries a 429 whose Retry-After is an HTTP date', async () => {
		lrs.setRandomFaults({ seed: 1, rate429: 1, retryAfter: 'http-date', retryAfterSec: 1, method: 'GET' });
		const client = newClient();
		const pending = client.getStatement(statementIdFor('nope', 'x'));
		// Stop the faults as soon as the first 429 went out: the retry is due a second or more later.
		while (!lrs.requests.some((entry) => entry.status === 429)) await new Promise((resolve) => setTimeout(resolve, 5));
		lrs.setRandomFaults(undefined);
		expect(await pending).toBeUndefined();
		// One 429, then the retry at the instant the date names (a client ignoring it would burn its attempts on 429s).
		const [limited, retried] = requestsTo('/statements', 'GET');
		expect(requestsTo('/statements', 'GET').map((entry) => entry.status)).toEqual([429, 404]);
		expect(limited.retryAfter).toMatch(/GMT$/);
		expect(retried.at).toBeGreaterThanOrEqual(Date.parse(limited.retryAfter!) - 5);
		expect(retried.at - limited.at).toBeGreaterThanOrEqual(900);
	});
});

describe('XapiLmsAdapter.pushPlaceholder', () => {
	const adapterFor = () => new XapiLmsAdapter(newClient(), OPTIONS);

	it('stores the statement once and the asset state document, and reports a redelivery as not created', async () => {
		const asset = assetFor('rec-1', {
			mediaLink: { url: 'http://s3.test/obj?X-Amz-Signature=1', expiresAt: '2025-03-11T10:00:00.000Z', object: refFor('rec-1').object! },
		});
		const statementId = statementIdFor('genesys-cloud:conv-1:rec-1', 'placeholder');
		const first = await adapterFor().pushPlaceholder(asset);
		expect(first).toEqual({
			target: 'xapi',
			assetId: `${IRI}/recordings/genesys-cloud/conv-1/rec-1`,
			statementIds: [statementId],
			created: true,
			stage: 'placeholder',
			details: { statementOutcome: 'stored', assetState: { stage: 'placeholder', status: 'pending_review', visibility: 'private' } },
		});
		const second = await adapterFor().pushPlaceholder(asset);
		expect(second.created).toBe(false);
		expect(second.details.statementOutcome).toBe('existing');
		expect(lrs.statements().map((s) => s.id)).toEqual([statementId]);
		expect(requestsTo('/statements', 'PUT')).toHaveLength(1);

		const [doc] = lrs.activityProfiles();
		expect(doc.activityId).toBe(`${IRI}/recordings/genesys-cloud/conv-1/rec-1`);
		expect(doc.id).toBe(`${IRI}/xapi/profiles/asset-state`);
		expect(doc.json).toMatchObject({
			stage: 'placeholder',
			status: 'pending_review',
			visibility: 'private',
			source: 'genesys-cloud',
			conversationId: 'conv-1',
			recordingId: 'rec-1',
			statementIds: [statementId],
			mediaUrl: 'http://s3.test/obj?X-Amz-Signature=1',
			mediaUrlExpiresAt: '2025-03-11T10:00:00.000Z',
			object: refFor('rec-1').object,
		});
	});

	it('never downgrades a final asset back to placeholder and keeps its statement ids', async () => {
		const client = newClient();
		const activityId = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
		await client.putActivityProfile(
			activityId,
			assetStateProfileId(IRI),
			{ stage: 'final', status: 'published', visibility: 'public', statementIds: ['11111111-1111-5111-8111-111111111111'], courseId: 'course-7' },
			undefined,
		);
		const result = await adapterFor().pushPlaceholder(assetFor('rec-1'));
		expect(result.stage).toBe('final');
		expect(result.details.assetState).toEqual({ stage: 'final', status: 'published', visibility: 'public' });
		const json = lrs.activityProfiles()[0].json as AssetStateDocument;
		expect(json.stage).toBe('final');
		expect(json.status).toBe('published');
		expect(json.visibility).toBe('public');
		expect(json.courseId).toBe('course-7');
		expect(json.statementIds).toEqual(['11111111-1111-5111-8111-111111111111', result.statementIds[0]]);
	});

	it('keeps a quarantined asset quarantined and private', async () => {
		const client = newClient();
		const activityId = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
		await client.putActivityProfile(activityId, assetStateProfileId(IRI), { stage: 'quarantined', status: 'pii_found', visibility: 'private', statementIds: [] }, undefined);
		const result = await adapterFor().pushPlaceholder(assetFor('rec-1'));
		expect(result.stage).toBe('quarantined');
		expect(lrs.activityProfiles()[0].json).toMatchObject({ stage: 'quarantined', status: 'pii_found', visibility: 'private' });
	});

	it('leaves the media link of a final asset alone on a late placeholder retry', async () => {
		const client = newClient();
		const activityId = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
		const final = {
			stage: 'final',
			status: 'published',
			visibility: 'public',
			statementIds: [],
			mediaUrl: 'https://cdn.example/rendition.mp4',
			mediaUrlExpiresAt: '2026-01-01T00:00:00.000Z',
		};
		await client.putActivityProfile(activityId, assetStateProfileId(IRI), final, undefined);
		await adapterFor().pushPlaceholder(
			assetFor('rec-1', {
				mediaLink: { url: 'http://s3.test/original.webm?X-Amz-Signature=1', expiresAt: '2025-03-11T10:00:00.000Z', object: refFor('rec-1').object! },
			}),
		);
		expect(lrs.activityProfiles()[0].json).toMatchObject({
			mediaUrl: 'https://cdn.example/rendition.mp4',
			mediaUrlExpiresAt: '2026-01-01T00:00:00.000Z',
		});
	});

	it('fails before touching the LRS when the agent has no e-mail but e-mail identification is on', async () => {
		const adapter = new XapiLmsAdapter(newClient(), { ...OPTIONS, actorByEmail: true });
		const asset = assetFor('rec-1', { ref: refFor('rec-1', { agent: { id: 'agent-z' } }) });
		await expect(adapter.pushPlaceholder(asset)).rejects.toThrow('Agent agent-z has no e-mail address');
		expect(lrs.requests).toHaveLength(0);
	});
});
