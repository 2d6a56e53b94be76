import { randomUUID } from 'node:crypto';

import { CX_TRAINING_NAMESPACE, uuidV5 } from '../../nodes/shared/ids';
import type { RecordingRef } from '../../nodes/shared/recordingRef';
import type { AssignmentRequest, FinalAsset, PlaceholderAsset } from '../../nodes/shared/lms/types';
import { RETRACTED_STATUS } from '../../nodes/shared/lms/assetRules';
import {
	InvalidStatementError,
	XapiClient,
	XapiLmsAdapter,
	type AssetStateDocument,
} from '../../nodes/shared/lms/xapi';
import {
	buildAssignmentStatement,
	buildFinalStatement,
	buildPlaceholderStatement,
	finalStatementId,
	statementIdFor,
	voidingStatementId,
	type XapiStatementOptions,
} from '../../nodes/shared/lms/xapiStatements';
import { HttpClient } from '../../nodes/shared/transport/http';
import { startXapiLrs, type XapiLrsSimulator } from '../simulators/xapiLrs';

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };
const IRI = 'https://xapi.cx-training.test';
const HOME = 'https://apps.mypurecloud.com';
const OPTIONS: XapiStatementOptions = { iriBase: IRI, actorHomePage: HOME, actorByEmail: false, language: 'en-US' };
const ACTIVITY = `${IRI}/recordings/genesys-cloud/conv-1/rec-1`;
const STATE_KEY = 'genesys-cloud:conv-1:rec-1';
const AGENT_ACTOR = { objectType: 'Agent', account: { homePage: HOME, name: 'agent-a' } };
const ASSIGNED = 'https://w3id.org/xapi/dod-isd/verbs/assigned';
const VOIDED = 'http://adlnet.gov/expapi/verbs/voided';
const SCORED = 'http://adlnet.gov/expapi/verbs/scored';

function refFor(overrides: Partial<RecordingRef> = {}): RecordingRef {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId: 'rec-1',
		agent: { id: 'agent-a', name: 'Ada Lovelace', email: 'ada@example.com' },
		queue: { id: 'queue-billing' },
		mediaType: 'screen',
		startTime: '2025-03-04T10:00:00.000Z',
		durationSec: 450,
		stateKey: STATE_KEY,
		pii: { verdict: 'clean', findings: [] },
		...overrides,
	};
}

function placeholder(overrides: Partial<PlaceholderAsset> = {}): PlaceholderAsset {
	return { ref: refFor(), title: 'Billing call', description: 'Screen recording', tags: ['billing'], ...overrides };
}

function finalAsset(revision: string, overrides: Partial<FinalAsset> & { score?: number; evaluationId?: string } = {}): FinalAsset {
	const { score = 72, evaluationId = 'eval-1', ...rest } = overrides;
	return {
		...placeholder(),
		tags: ['billing', 'empathy'],
		evaluation: {
			id: evaluationId,
			totalScore: score,
			status: 'FINISHED',
			released: true,
			criteria: [
				{ id: 'greeting', name: 'Greeting', score: 10, maxScore: 10, failed: false },
				{ id: 'empathy', name: 'Empathy', score: 2, maxScore: 10, failed: true },
			],
		},
		revision,
		category: 'billing',
		assetType: 'coaching-example',
		courseId: 'course-7',
		visibility: 'public',
		...rest,
	};
}

let lrs: XapiLrsSimulator;

const buildPlaceholderStatementFor = () => buildPlaceholderStatement(placeholder(), OPTIONS);

function newClient(): XapiClient {
	return new XapiClient({ endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' }, new HttpClient({ retry: FAST }));
}

function adapter(options: XapiStatementOptions = OPTIONS): XapiLmsAdapter {
	return new XapiLmsAdapter(newClient(), options);
}

function stateDocument(): AssetStateDocument | undefined {
	return lrs.activityProfiles().find((doc) => doc.activityId === ACTIVITY)?.json as AssetStateDocument | undefined;
}

/** Statement writes the LRS received (PUT and POST on /statements). */
function statementWrites(): number {
	return lrs.requests.filter((entry) => entry.path === '/xAPI/statements' && entry.method !== 'GET').length;
}

function profileWrites(): number {
	return lrs.requests.filter((entry) => entry.path === '/xAPI/activities/profile' && entry.method === 'PUT').length;
}

async function lrsGet<T>(path: string): Promise<T> {
	const response = await fetch(new URL(path, lrs.endpoint), {
		headers: { Authorization: `Basic ${Buffer.from(`${lrs.key}:${lrs.secret}`).toString('base64')}`, 'X-Experience-API-Version': '1.0.3' },
	});
	expect(response.status).toBe(200);
	return (await response.json()) as T;
}

async function canonicalDefinition(): Promise<{ extensions: Record<string, unknown> }> {
	const activity = await lrsGet<{ definition: { extensions: Record<string, unknown> } }>(`activities?activityId=${encodeURIComponent(ACTIVITY)}`);
	return activity.definition;
}

/**
 * The live (not voided) scored statements about the recording. The query also returns the voiding
 * statements that target matching statements (xAPI Communication §2.1.3), so keep the scored ones.
 */
async function liveFinalIds(): Promise<string[]> {
	const result = await lrsGet<{ statements: Array<{ id: string; verb: { id: string } }> }>(
		`statements?activity=${encodeURIComponent(ACTIVITY)}&verb=${encodeURIComponent(SCORED)}`,
	);
	return result.statements.filter((s) => s.verb.id === SCORED).map((s) => s.id);
}

async function postRaw(statement: Record<string, unknown>): Promise<string> {
	const response = await fetch(new URL('statements', lrs.endpoint), {
		method: 'POST',
		headers: {
			Authorization: `Basic ${Buffer.from(`${lrs.key}:${lrs.secret}`).toString('base64')}`,
			'X-Experience-API-Version': '1.0.3',
			'Content-Type': 'application/json',
		},
		body: JSON.stringify(statement),
	});
	expect(response.status).toBe(200);
	return ((await response.json()) as string[])[0];
}

beforeEach(async () => {
	lrs = await startXapiLrs();
});

afterEach(async () => {
	await lrs.close();
});

describe('final statement', () => {
	it('carries the score, the criteria and the updated activity definition, and passes xapi-validation', () => {
		const statement = buildFinalStatement(finalAsset('2025-03-05T10:00:00.000Z'), 'public', OPTIONS);
		expect(statement.id).toBe(uuidV5(`${STATE_KEY}:final:eval-1:2025-03-05T10:00:00.000Z`, CX_TRAINING_NAMESPACE));
		expect(statement.id).toBe(finalStatementId(STATE_KEY, 'eval-1', '2025-03-05T10:00:00.000Z'));
		expect(statement.verb.id).toBe(SCORED);
		expect(statement.actor).toEqual(AGENT_ACTOR);
		expect(statement.result?.score).toEqual({ scaled: 0.72, raw: 72, min: 0, max: 100 });
		expect(statement.result?.extensions?.[`${IRI}/xapi/extensions/failed-criteria`]).toEqual(['empathy']);
		expect(statement.result?.extensions?.[`${IRI}/xapi/extensions/criteria`]).toHaveLength(2);
		expect(statement.object.definition.extensions).toMatchObject({
			[`${IRI}/xapi/extensions/status`]: 'published',
			[`${IRI}/xapi/extensions/visibility`]: 'public',
			[`${IRI}/xapi/extensions/tags`]: ['billing', 'empathy'],
			[`${IRI}/xapi/extensions/category`]: 'billing',
			[`${IRI}/xapi/extensions/asset-type`]: 'coaching-example',
		});
		expect(statement.context?.extensions).toMatchObject({ [`${IRI}/xapi/extensions/evaluation-id`]: 'eval-1' });
		// The revision is an instant: it dates the statement, so a retry is identical.
		expect(statement.timestamp).toBe('2025-03-05T10:00:00.000Z');
		expect(JSON.stringify(buildFinalStatement(finalAsset('2025-03-05T10:00:00.000Z'), 'public', OPTIONS))).toBe(JSON.stringify(statement));
		const privateOne = buildFinalStatement(finalAsset('2025-03-05T10:00:00.000Z'), 'private', OPTIONS);
		expect(privateOne.object.definition.extensions[`${IRI}/xapi/extensions/status`]).toBe('private_reviewed');
		expect(privateOne.id).toBe(statement.id);
	});
});

describe('XapiLmsAdapter.pushFinal', () => {
	it('stores the final statement, redefines the activity and moves the document to final', async () => {
		await adapter().pushPlaceholder(placeholder());
		const result = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		const id = finalStatementId(STATE_KEY, 'eval-1', '2025-03-05T10:00:00.000Z');
		expect(result).toMatchObject({ target: 'xapi', assetId: ACTIVITY, statementIds: [id], created: true, stage: 'final' });
		expect(result.details).toMatchObject({ statementOutcome: 'stored', assetState: { stage: 'final', status: 'published', visibility: 'public' } });

		const stored = lrs.statements().find((s) => s.id === id) as unknown as { result: { score: { scaled: number; raw: number } } };
		expect(stored.result.score).toMatchObject({ scaled: 0.72, raw: 72 });
		expect((await canonicalDefinition()).extensions).toMatchObject({
			[`${IRI}/xapi/extensions/status`]: 'published',
			[`${IRI}/xapi/extensions/visibility`]: 'public',
			[`${IRI}/xapi/extensions/category`]: 'billing',
		});
		expect(stateDocument()).toMatchObject({
			stage: 'final',
			status: 'published',
			visibility: 'public',
			evaluationId: 'eval-1',
			revision: '2025-03-05T10:00:00.000Z',
			score: 72,
			scaled: 0.72,
			tags: ['billing', 'empathy'],
			category: 'billing',
			assetType: 'coaching-example',
			finalStatementId: id,
			statementIds: [statementIdFor(STATE_KEY, 'placeholder'), id],
		});
		expect(await adapter().findAsset(refFor())).toEqual({
			assetId: ACTIVITY,
			stage: 'final',
			revision: '2025-03-05T10:00:00.000Z',
			evaluationId: 'eval-1',
			visibility: 'public',
			statementIds: [statementIdFor(STATE_KEY, 'placeholder'), id],
		});
	});

	it('keeps the asset private when the scan was not clean, even if the taxonomy asks for public', async () => {
		const asset = finalAsset('2025-03-05T10:00:00.000Z', { ref: refFor({ pii: { verdict: 'unsure', findings: [] } }) });
		const result = await adapter().pushFinal(asset);
		expect(result.stage).toBe('quarantined');
		expect(stateDocument()).toMatchObject({ stage: 'quarantined', visibility: 'private', status: 'private_reviewed' });
		expect((await canonicalDefinition()).extensions[`${IRI}/xapi/extensions/visibility`]).toBe('private');
	});

	it('treats a redelivery of the same revision as a no-op', async () => {
		await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		const writes = statementWrites();
		const profilePuts = profileWrites();
		const again = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		expect(again.created).toBe(false);
		expect(again.details).toMatchObject({ stale: true, reason: 'same_revision', storedRevision: '2025-03-05T10:00:00.000Z' });
		expect(again.statementIds).toEqual([finalStatementId(STATE_KEY, 'eval-1', '2025-03-05T10:00:00.000Z')]);
		expect(statementWrites()).toBe(writes);
		expect(profileWrites()).toBe(profilePuts);
	});

	it('ignores an older revision that arrives late', async () => {
		await adapter().pushFinal(finalAsset('2025-03-06T10:00:00.000Z', { score: 90 }));
		const before = lrs.statements().length;
		const late = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z', { score: 40 }));
		expect(late).toMatchObject({ created: false, stage: 'final' });
		expect(late.details).toMatchObject({ stale: true, reason: 'older_revision', storedRevision: '2025-03-06T10:00:00.000Z' });
		expect(lrs.statements()).toHaveLength(before);
		expect(stateDocument()).toMatchObject({ score: 90, revision: '2025-03-06T10:00:00.000Z' });
	});

	it('voids the replaced final statement on a rescore and on a replacing evaluation', async () => {
		const first = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z', { score: 60 }));
		const second = await adapter().pushFinal(finalAsset('2025-03-06T10:00:00.000Z', { score: 80 }));
		const [firstId] = first.statementIds;
		const [secondId] = second.statementIds;
		expect(secondId).not.toBe(firstId);
		expect(second).toMatchObject({ created: true, stage: 'final' });
		expect(second.details).toMatchObject({ rescored: true, voidedStatementIds: [firstId], previousRevision: '2025-03-05T10:00:00.000Z' });

		expect(lrs.voidedStatementIds()).toEqual([firstId]);
		const voiding = lrs.statements().find((s) => s.id === voidingStatementId(STATE_KEY, firstId)) as unknown as {
			verb: { id: string };
			object: { objectType: string; id: string };
		};
		expect(voiding.verb.id).toBe(VOIDED);
		expect(voiding.object).toEqual({ objectType: 'StatementRef', id: firstId });
		const client = newClient();
		expect(await client.getStatement(firstId)).toBeUndefined();
		expect((await client.getVoidedStatement(firstId))?.id).toBe(firstId);
		expect(await liveFinalIds()).toEqual([secondId]);
		expect(stateDocument()).toMatchObject({ score: 80, finalStatementId: secondId, voidedStatementIds: [firstId], statementIds: [secondId] });

		// Another evaluation of the same recording replaces the first one the same way.
		const third = await adapter().pushFinal(finalAsset('2025-03-07T10:00:00.000Z', { score: 95, evaluationId: 'eval-2' }));
		expect(third.details.voidedStatementIds).toEqual([secondId]);
		expect(await liveFinalIds()).toEqual([third.statementIds[0]]);
		expect(stateDocument()).toMatchObject({ evaluationId: 'eval-2', score: 95 });
		expect(lrs.voidedStatementIds().sort()).toEqual([firstId, secondId].sort());
	});

	it('leaves exactly one live final statement when two revisions race', async () => {
		const [a, b] = await Promise.all([
			adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z', { score: 50 })),
			adapter().pushFinal(finalAsset('2025-03-06T10:00:00.000Z', { score: 70 })),
		]);
		const newer = finalStatementId(STATE_KEY, 'eval-1', '2025-03-06T10:00:00.000Z');
		expect(b.statementIds).toEqual([newer]);
		expect(stateDocument()).toMatchObject({ revision: '2025-03-06T10:00:00.000Z', score: 70, finalStatementId: newer });
		expect(await liveFinalIds()).toEqual([newer]);
		// Whichever order the writes landed in, the older revision's statement is the voided one.
		const older = finalStatementId(STATE_KEY, 'eval-1', '2025-03-05T10:00:00.000Z');
		expect(a.statementIds.concat((a.details.supersededStatementIds as string[] | undefined) ?? [])).toContain(older);
		expect(lrs.voidedStatementIds()).toEqual([older]);
	});

	it('never lets a late placeholder downgrade the final asset', async () => {
		await adapter().pushPlaceholder(placeholder());
		await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		const final = stateDocument();
		const profilePuts = profileWrites();
		const late = await adapter().pushPlaceholder(placeholder({ mediaLink: { url: 'http://s3.test/x?sig=1', expiresAt: '2025-04-01T00:00:00.000Z', object: { bucket: 'b', key: 'k', size: 1, sha256: 'f'.repeat(64), contentType: 'video/webm' } } }));
		expect(late).toMatchObject({ created: false, stage: 'final' });
		expect(stateDocument()).toEqual(final);
		expect(profileWrites()).toBe(profilePuts);
		expect((await canonicalDefinition()).extensions[`${IRI}/xapi/extensions/status`]).toBe('published');
	});

	it('keeps the final definition when the placeholder statement first arrives after the final one', async () => {
		await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		const late = await adapter().pushPlaceholder(placeholder());
		expect(late).toMatchObject({ created: true, stage: 'final' });
		const sent = lrs.statements().find((s) => s.id === statementIdFor(STATE_KEY, 'placeholder'))!;
		expect(sent.object).toEqual({ objectType: 'Activity', id: ACTIVITY });
		expect((await canonicalDefinition()).extensions).toMatchObject({
			[`${IRI}/xapi/extensions/status`]: 'published',
			[`${IRI}/xapi/extensions/visibility`]: 'public',
		});
		expect(stateDocument()).toMatchObject({ stage: 'final', score: 72 });
		// A retry with the full definition is the same statement to the LRS.
		expect(await newClient().putStatement(buildPlaceholderStatementFor())).toBe('stored');
	});

	it('refuses an invalid statement before any request', async () => {
		const error = await adapter()
			.pushFinal(finalAsset('2025-03-05T10:00:00.000Z', { score: 150 }))
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidStatementError);
		expect((error as InvalidStatementError).problems).toEqual(
			expect.arrayContaining(['statement.result.score.scaled (TypeWarning)', 'statement.result.score (RawMoreThanMaxWarning)']),
		);
		expect(lrs.requests).toHaveLength(0);
	});
});

describe('XapiLmsAdapter.retractEvaluation', () => {
	it('voids the final statement, takes the score away and makes the asset private', async () => {
		await adapter().pushPlaceholder(placeholder());
		const final = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		const [finalId] = final.statementIds;
		const result = await adapter().retractEvaluation(placeholder(), 'eval-1', '2025-03-06T00:00:00.000Z');
		expect(result).toMatchObject({ created: false, stage: 'placeholder', statementIds: [finalId] });
		expect(result.details).toMatchObject({ retracted: true, voidedStatementIds: [finalId] });
		expect(lrs.voidedStatementIds()).toEqual([finalId]);
		expect(await liveFinalIds()).toEqual([]);

		const doc = stateDocument()!;
		expect(doc).toMatchObject({ stage: 'placeholder', status: RETRACTED_STATUS, visibility: 'private', evaluationId: 'eval-1', revision: '2025-03-06T00:00:00.000Z' });
		expect(doc).not.toHaveProperty('score');
		expect(doc).not.toHaveProperty('scaled');
		expect(doc).not.toHaveProperty('finalStatementId');
		expect(doc.statementIds).toEqual([statementIdFor(STATE_KEY, 'placeholder')]);
		// The voiding statement carries the private definition: the LRS no longer shows the activity as published.
		expect((await canonicalDefinition()).extensions).toMatchObject({
			[`${IRI}/xapi/extensions/status`]: RETRACTED_STATUS,
			[`${IRI}/xapi/extensions/visibility`]: 'private',
		});
		expect(await adapter().findAsset(refFor())).toMatchObject({ stage: 'placeholder', visibility: 'private', revision: '2025-03-06T00:00:00.000Z' });
	});

	it('is idempotent and ignores a retraction older than the stored revision or of another evaluation', async () => {
		await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		await adapter().retractEvaluation(placeholder(), 'eval-1', '2025-03-05T10:00:00.000Z');
		const writes = statementWrites();
		const again = await adapter().retractEvaluation(placeholder(), 'eval-1', '2025-03-05T10:00:00.000Z');
		expect(again.details).toMatchObject({ stale: true, reason: 'already_retracted' });
		expect(statementWrites()).toBe(writes);

		// The retracted revision cannot come back through a late push.
		const latePush = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		expect(latePush.details).toMatchObject({ stale: true, reason: 'already_retracted' });
		expect(stateDocument()?.visibility).toBe('private');

		// A rescore after the retraction publishes again; a retraction older than it is ignored.
		const rescore = await adapter().pushFinal(finalAsset('2025-03-07T10:00:00.000Z', { score: 88 }));
		expect(rescore.created).toBe(true);
		const old = await adapter().retractEvaluation(placeholder(), 'eval-1', '2025-03-06T10:00:00.000Z');
		expect(old.details).toMatchObject({ stale: true, reason: 'older_revision' });
		const other = await adapter().retractEvaluation(placeholder(), 'eval-9', '2025-03-09T10:00:00.000Z');
		expect(other.details).toMatchObject({ stale: true, reason: 'other_evaluation' });
		expect(stateDocument()).toMatchObject({ stage: 'final', score: 88, visibility: 'public' });
		expect(await liveFinalIds()).toEqual(rescore.statementIds);
	});

	it('holds a retraction that arrives before the asset so the retracted revision never publishes', async () => {
		const result = await adapter().retractEvaluation(placeholder(), 'eval-1', '2025-03-05T10:00:00.000Z');
		expect(result).toMatchObject({ created: true, stage: 'placeholder', statementIds: [] });
		await adapter().pushPlaceholder(placeholder());
		expect(stateDocument()).toMatchObject({ stage: 'placeholder', status: RETRACTED_STATUS, revision: '2025-03-05T10:00:00.000Z' });
		const late = await adapter().pushFinal(finalAsset('2025-03-05T10:00:00.000Z'));
		expect(late.details.stale).toBe(true);
		expect(await liveFinalIds()).toEqual([]);
	});
});

describe('XapiLmsAdapter.findAsset', () => {
	it('is undefined for a recording the LRS has no asset of', async () => {
		expect(await adapter().findAsset(refFor({ recordingId: 'rec-404', stateKey: 'genesys-cloud:conv-1:rec-404' }))).toBeUndefined();
	});
});

function request(overrides: Partial<AssignmentRequest> = {}): AssignmentRequest {
	return {
		assignmentId: uuidV5(`agent-a:empathy-101:eval-1`, CX_TRAINING_NAMESPACE),
		agent: { id: 'agent-a', email: 'ada@example.com', name: 'Ada Lovelace' },
		moduleId: 'empathy-101',
		dueDate: '2025-03-14',
		dueAt: '2025-03-14T22:59:59.999Z',
		evaluationId: 'eval-1',
		conversationId: 'conv-1',
		reason: 'Failed criterion: Empathy',
		assetId: ACTIVITY,
		...overrides,
	};
}

describe('XapiLmsAdapter.assign', () => {
	const MODULE = `${IRI}/modules/empathy-101`;

	it('stores one assignment statement under the assignment id, and a retry creates nothing', async () => {
		const first = await adapter().assign(request());
		expect(first).toMatchObject({ target: 'xapi', assignmentId: request().assignmentId, created: true, state: 'assigned' });
		const [stored] = lrs.statements() as unknown as Array<Record<string, unknown>>;
		expect(stored).toMatchObject({
			id: request().assignmentId,
			actor: AGENT_ACTOR,
			verb: { id: ASSIGNED },
			object: { objectType: 'Activity', id: MODULE },
			context: {
				contextActivities: { other: [{ objectType: 'Activity', id: ACTIVITY }] },
				extensions: {
					[`${IRI}/xapi/extensions/due-date`]: { date: '2025-03-14', dueAt: '2025-03-14T22:59:59.999Z' },
					[`${IRI}/xapi/extensions/evaluation-id`]: 'eval-1',
					[`${IRI}/xapi/extensions/conversation-id`]: 'conv-1',
					[`${IRI}/xapi/extensions/reason`]: 'Failed criterion: Empathy',
				},
			},
		});
		expect(JSON.stringify(stored)).not.toContain('ada@example.com');
		// The module's definition belongs to the LMS: the assignment does not overwrite it.
		expect(stored.object).not.toHaveProperty('definition');

		const retry = await adapter().assign(request());
		expect(retry).toMatchObject({ created: false, state: 'assigned', details: { existing: true } });
		expect(lrs.statements()).toHaveLength(1);
		expect(lrs.requests.filter((entry) => entry.method === 'PUT')).toHaveLength(1);
	});

	it('identifies the agent by e-mail only when asked to', async () => {
		await adapter({ ...OPTIONS, actorByEmail: true }).assign(request());
		expect(lrs.statements()[0].actor).toEqual({ objectType: 'Agent', mbox: 'mailto:ada@example.com' });
	});

	it.each([
		['http://adlnet.gov/expapi/verbs/launched', 'started'],
		['http://adlnet.gov/expapi/verbs/attempted', 'started'],
		['http://adlnet.gov/expapi/verbs/progressed', 'started'],
		['http://adlnet.gov/expapi/verbs/initialized', 'started'],
		['http://adlnet.gov/expapi/verbs/completed', 'completed'],
	])('never reassigns a module the agent has %s (%s)', async (verb, state) => {
		await postRaw({ actor: AGENT_ACTOR, verb: { id: verb }, object: { objectType: 'Activity', id: MODULE } });
		const result = await adapter().assign(request());
		expect(result).toMatchObject({ created: false, state, details: { reason: `module_${state}` } });
		expect(lrs.statements().filter((s) => (s.verb as { id: string }).id === ASSIGNED)).toHaveLength(0);
	});

	it('counts progress on a part of the module as started, and ignores other agents and voided statements', async () => {
		const other = { objectType: 'Agent', account: { homePage: HOME, name: 'agent-b' } };
		await postRaw({ actor: other, verb: { id: 'http://adlnet.gov/expapi/verbs/completed' }, object: { objectType: 'Activity', id: MODULE } });
		const mistaken = await postRaw({ actor: AGENT_ACTOR, verb: { id: 'http://adlnet.gov/expapi/verbs/completed' }, object: { objectType: 'Activity', id: MODULE } });
		await postRaw({ actor: other, verb: { id: VOIDED }, object: { objectType: 'StatementRef', id: mistaken } });
		expect(await adapter().assign(request())).toMatchObject({ created: true, state: 'assigned' });

		const second = request({ assignmentId: randomUUID(), moduleId: 'hold-time-201' });
		await postRaw({
			actor: AGENT_ACTOR,
			verb: { id: 'http://adlnet.gov/expapi/verbs/completed' },
			object: { objectType: 'Activity', id: `${IRI}/modules/hold-time-201/lesson-1` },
			context: { contextActivities: { parent: [{ id: `${IRI}/modules/hold-time-201` }] } },
		});
		expect(await adapter().assign(second)).toMatchObject({ created: false, state: 'started' });
	});

	it('refuses an invalid assignment statement before any request', async () => {
		const error = await adapter()
			.assign(request({ assignmentId: 'not-a-uuid' }))
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(InvalidStatementError);
		expect((error as InvalidStatementError).problems).toContain('statement.id (TypeWarning)');
		expect(lrs.requests).toHaveLength(0);
		// An asset id that is not an IRI goes into an extension instead of contextActivities.
		const statement = buildAssignmentStatement(request({ assetId: 'lms-asset-42' }), OPTIONS);
		expect(statement.context).not.toHaveProperty('contextActivities');
		expect((statement.context?.extensions as Record<string, unknown>)[`${IRI}/xapi/extensions/asset-id`]).toBe('lms-asset-42');
	});
});

describe('XapiLmsAdapter.listAssignments', () => {
	it('reads every page of the agent\'s assignments since the instant, with each module\'s state', async () => {
		await lrs.close();
		lrs = await startXapiLrs({ maxLimit: 2 });
		const old = await adapter().assign(request({ assignmentId: randomUUID(), moduleId: 'old-module' }));
		expect(old.created).toBe(true);
		await new Promise((resolve) => setTimeout(resolve, 5));
		const since = new Date().toISOString();
		await new Promise((resolve) => setTimeout(resolve, 5));
		const made: string[] = [];
		for (const moduleId of ['m-1', 'm-2', 'm-3', 'm-4', 'm-5']) {
			const id = randomUUID();
			made.push(id);
			await adapter().assign(request({ assignmentId: id, moduleId, dueDate: `2025-04-0${moduleId.slice(2)}` }));
		}
		await adapter().assign(request({ assignmentId: randomUUID(), moduleId: 'm-1', agent: { id: 'agent-b' } }));
		await postRaw({ actor: AGENT_ACTOR, verb: { id: 'http://adlnet.gov/expapi/verbs/completed' }, object: { objectType: 'Activity', id: `${IRI}/modules/m-2` } });
		await postRaw({ actor: AGENT_ACTOR, verb: { id: 'http://adlnet.gov/expapi/verbs/launched' }, object: { objectType: 'Activity', id: `${IRI}/modules/m-4` } });
		lrs.requests.length = 0;

		const list = await adapter().listAssignments({ id: 'agent-a' }, since);
		expect(list.map((a) => a.assignmentId).sort()).toEqual([...made].sort());
		const byModule = Object.fromEntries(list.map((a) => [a.moduleId, a]));
		expect(byModule['m-1']).toMatchObject({ state: 'assigned', dueDate: '2025-04-01' });
		expect(byModule['m-2'].state).toBe('completed');
		expect(byModule['m-4'].state).toBe('started');
		expect(byModule['m-3']).toMatchObject({ state: 'assigned', dueDate: '2025-04-03' });
		for (const assignment of list) expect(Date.parse(assignment.assignedAt)).toBeGreaterThan(Date.parse(since));

		const assignmentQueries = lrs.requests.filter((entry) => entry.method === 'GET' && (entry.query.includes('verb=') || entry.query.includes('cursor=')));
		// 5 assignments, 2 per page: the first query and two `more` pages.
		expect(assignmentQueries).toHaveLength(3);
		expect(assignmentQueries.slice(1).every((entry) => entry.query.startsWith('?cursor='))).toBe(true);
		const first = new URLSearchParams(assignmentQueries[0].query);
		expect(JSON.parse(first.get('agent')!)).toEqual(AGENT_ACTOR);
		expect(first.get('verb')).toBe(ASSIGNED);
		expect(first.get('since')).toBe(since);
	});

	it('fails rather than return a partial history when the since instant is not a time', async () => {
		await expect(adapter().listAssignments({ id: 'agent-a' }, 'yesterday')).rejects.toThrow('"yesterday" is not a timestamp');
		expect(lrs.requests).toHaveLength(0);
	});
});

describe('stage 2 under a flaky LRS', () => {
	it('ends in the same state when a seeded share of requests fails with 429 and 500', async () => {
		lrs.setRandomFaults({ seed: 7, rate429: 0.2, rate500: 0.15, retryAfter: 'seconds', retryAfterSec: 0 });
		const flaky = new XapiLmsAdapter(
			new XapiClient({ endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' }, new HttpClient({ retry: { ...FAST, maxAttempts: 12 } })),
			OPTIONS,
		);
		await flaky.pushPlaceholder(placeholder());
		await flaky.pushFinal(finalAsset('2025-03-05T10:00:00.000Z', { score: 61 }));
		const rescore = await flaky.pushFinal(finalAsset('2025-03-06T10:00:00.000Z', { score: 83 }));
		const assigned = await flaky.assign(request());
		const again = await flaky.assign(request());
		const injected = lrs.requests.filter((entry) => entry.fault === 'random');
		expect(injected.some((entry) => entry.status === 429)).toBe(true);
		expect(injected.some((entry) => entry.status === 500)).toBe(true);

		expect(rescore.created).toBe(true);
		expect(assigned.created).toBe(true);
		expect(again.created).toBe(false);
		lrs.setRandomFaults(undefined);
		expect(stateDocument()).toMatchObject({ stage: 'final', score: 83 });
		expect(await liveFinalIds()).toEqual(rescore.statementIds);
		expect(lrs.statements().filter((s) => (s.verb as { id: string }).id === ASSIGNED)).toHaveLength(1);
	});
});
