import type { RecordingRef } from '../../nodes/shared/recordingRef';
import { compareRevisions } from '../../nodes/shared/lms/assetRules';
import {
	RestLmsAdapter,
	RestLmsAuthError,
	RestLmsClient,
	type RestLmsCredentials,
	type RestLmsOptions,
} from '../../nodes/shared/lms/rest';
import type { AssignmentRequest, FinalAsset, PlaceholderAsset } from '../../nodes/shared/lms/types';
import { HttpError } from '../../nodes/shared/transport/errors';
import { RestLmsApi } from '../../credentials/RestLmsApi.credentials';
import { startRestLms, type RestLmsSimulator } from '../simulators/restLms';

const FAST = { baseDelayMs: 5, maxDelayMs: 20 };
const TOKEN = 'tok-3f9a1c77e2b84d05';

function refFor(recordingId: string, overrides: Partial<RecordingRef> = {}): RecordingRef {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId,
		agent: { id: 'agent-a', name: 'Ada Lovelace', email: 'ada@example.com' },
		mediaType: 'screen',
		startTime: '2025-03-04T10:00:00.000Z',
		stateKey: `genesys-cloud:conv-1:${recordingId}`,
		pii: { verdict: 'clean', findings: [] },
		...overrides,
	};
}

function placeholder(recordingId: string, overrides: Partial<RecordingRef> = {}): PlaceholderAsset {
	return {
		ref: refFor(recordingId, overrides),
		title: `Billing call ${recordingId}`,
		description: 'Screen recording of a billing call',
		tags: ['billing', 'screen'],
		moreInfoUrl: `https://player.example.com/r/${recordingId}`,
	};
}

function final(recordingId: string, revision: string, score: number, overrides: Partial<RecordingRef> = {}): FinalAsset {
	return {
		...placeholder(recordingId, overrides),
		evaluation: { id: 'eval-1', totalScore: score, status: 'FINISHED', released: true, criteria: [] },
		revision,
		category: 'billing',
		assetType: 'exemplar',
		visibility: 'public',
	};
}

function assignment(assignmentId: string, moduleId = 'module-refunds'): AssignmentRequest {
	return {
		assignmentId,
		agent: { id: 'agent-a', email: 'ada@example.com' },
		moduleId,
		dueDate: '2025-03-11',
		dueAt: '2025-03-11T22:59:59.999Z',
		evaluationId: 'eval-1',
		conversationId: 'conv-1',
		reason: 'Failed critical question: refund policy',
		assetId: 'asset-x',
	};
}

function credentialsFor(sim: RestLmsSimulator, overrides: Partial<RestLmsCredentials> = {}): RestLmsCredentials {
	return { baseUrl: sim.url, authType: 'bearer', token: TOKEN, requestsPerMinute: 6000, allowInsecureHttp: true, ...overrides };
}

function adapterFor(sim: RestLmsSimulator, overrides: Partial<RestLmsCredentials> = {}, options: RestLmsOptions = {}): RestLmsAdapter {
	return RestLmsAdapter.fromCredentials(credentialsFor(sim, overrides), { retry: FAST, ...options });
}

const writes = (sim: RestLmsSimulator, method: string, path = '/api/v1/learning/assets') =>
	sim.requestLog.filter((entry) => entry.method === method && entry.path.startsWith(path) && !entry.refused).length;

describe('generic REST LMS target', () => {
	let sim: RestLmsSimulator;
	let lms: RestLmsAdapter;

	beforeEach(async () => {
		sim = await startRestLms({ auth: { type: 'bearer', token: TOKEN } });
		lms = adapterFor(sim);
	});
	afterEach(async () => {
		await sim.close();
	});

	describe('assets', () => {
		it('creates a private placeholder once; a retry finds it and writes nothing', async () => {
			const first = await lms.pushPlaceholder(placeholder('rec-1'));
			expect(first).toMatchObject({ target: 'rest', created: true, stage: 'placeholder' });
			const again = await lms.pushPlaceholder(placeholder('rec-1'));
			expect(again).toMatchObject({ created: false, assetId: first.assetId, stage: 'placeholder' });
			expect(sim.assets.size).toBe(1);
			const stored = [...sim.assets.values()][0];
			expect(stored).toMatchObject({
				externalId: 'genesys-cloud:conv-1:rec-1',
				visibility: 'private',
				status: 'pending_review',
				url: 'https://player.example.com/r/rec-1',
				moreInfo: 'https://player.example.com/r/rec-1',
				tags: ['billing', 'screen'],
			});
			expect(stored).not.toHaveProperty('score');
			expect(writes(sim, 'POST')).toBe(1);
		});

		it('quarantines a placeholder whose PII scan found something', async () => {
			const result = await lms.pushPlaceholder(placeholder('rec-pii', { pii: { verdict: 'found', findings: [{ type: 'pan', atSec: 3, confidence: 0.98 }] } }));
			expect(result.stage).toBe('quarantined');
			expect([...sim.assets.values()][0]).toMatchObject({ status: 'quarantined', visibility: 'private' });
		});

		it('treats a 409 on create (someone else created it first) as the existing asset', async () => {
			let winnerId = '';
			sim.beforeNextCreate((kind, body) => {
				winnerId = 'winner-1';
				const now = new Date().toISOString();
				sim.assets.set(winnerId, {
					id: winnerId,
					externalId: String(body.externalId),
					title: 'written by a concurrent worker',
					visibility: 'private',
					status: 'pending_review',
					createdAt: now,
					updatedAt: now,
					updates: 0,
				});
			});
			const result = await lms.pushPlaceholder(placeholder('rec-race'));
			expect(result).toMatchObject({ created: false, assetId: 'winner-1' });
			expect(result.details).toMatchObject({ conflict: true });
			expect(sim.assets.size).toBe(1);
			expect(sim.requestLog.some((entry) => entry.method === 'POST' && entry.status === 409)).toBe(true);
		});

		it('a final push that loses the create race updates the winner’s placeholder', async () => {
			sim.beforeNextCreate((_kind, body) => {
				const now = new Date().toISOString();
				sim.assets.set('winner-2', { id: 'winner-2', externalId: String(body.externalId), title: 'placeholder', visibility: 'private', status: 'pending_review', createdAt: now, updatedAt: now, updates: 0 });
			});
			const result = await lms.pushFinal(final('rec-race2', '2025-03-05T09:00:00.000Z', 91));
			expect(result).toMatchObject({ created: false, assetId: 'winner-2', stage: 'final' });
			expect(sim.assets.get('winner-2')).toMatchObject({ status: 'published', score: 91, visibility: 'public' });
		});

		it('completes the placeholder with the final asset and never downgrades it afterwards', async () => {
			const stage1 = await lms.pushPlaceholder(placeholder('rec-2'));
			const stage2 = await lms.pushFinal(final('rec-2', '2025-03-05T09:00:00.000Z', 82));
			expect(stage2).toMatchObject({ assetId: stage1.assetId, created: false, stage: 'final' });
			expect(sim.assets.get(stage1.assetId)).toMatchObject({
				status: 'published',
				visibility: 'public',
				score: 82,
				evaluationId: 'eval-1',
				revision: '2025-03-05T09:00:00.000Z',
				category: 'billing',
				assetType: 'exemplar',
			});
			expect(writes(sim, 'PATCH')).toBe(1);

			const late = await lms.pushPlaceholder(placeholder('rec-2'));
			expect(late).toMatchObject({ created: false, stage: 'final' });
			expect(sim.assets.get(stage1.assetId)).toMatchObject({ status: 'published', score: 82 });
			expect(writes(sim, 'PATCH')).toBe(1);

			await expect(lms.findAsset(refFor('rec-2'))).resolves.toEqual({
				assetId: stage1.assetId,
				stage: 'final',
				revision: '2025-03-05T09:00:00.000Z',
				evaluationId: 'eval-1',
				visibility: 'public',
				statementIds: [],
			});
			await expect(lms.findAsset(refFor('rec-none'))).resolves.toBeUndefined();
		});

		it('creates the final asset directly when the evaluation half comes first', async () => {
			const result = await lms.pushFinal(final('rec-3', '2025-03-05T09:00:00.000Z', 77));
			expect(result).toMatchObject({ created: true, stage: 'final' });
			expect(sim.assets.size).toBe(1);
			expect(writes(sim, 'PATCH')).toBe(0);
		});

		it('ignores a revision at or below the stored one and applies a newer one', async () => {
			await lms.pushFinal(final('rec-4', '2025-03-05T10:00:00.000Z', 60));
			const older = await lms.pushFinal(final('rec-4', '2025-03-05T09:00:00.000Z', 99));
			expect(older).toMatchObject({ created: false, stage: 'final' });
			expect(older.details).toMatchObject({ stale: true, storedRevision: '2025-03-05T10:00:00.000Z' });
			const same = await lms.pushFinal(final('rec-4', '2025-03-05T10:00:00.000Z', 99));
			expect(same.details.stale).toBe(true);
			expect([...sim.assets.values()][0]).toMatchObject({ score: 60 });
			expect(writes(sim, 'PATCH')).toBe(0);

			const newer = await lms.pushFinal(final('rec-4', '2025-03-05T11:00:00.000Z', 70));
			expect(newer.details.stale).toBeUndefined();
			expect([...sim.assets.values()][0]).toMatchObject({ score: 70, revision: '2025-03-05T11:00:00.000Z' });
		});

		it('keeps a final asset private when the PII scan was not clean, whatever the taxonomy asks', async () => {
			const result = await lms.pushFinal(final('rec-5', '2025-03-05T09:00:00.000Z', 88, { pii: { verdict: 'unsure', findings: [] } }));
			expect(result.stage).toBe('quarantined');
			expect([...sim.assets.values()][0]).toMatchObject({ visibility: 'private', status: 'quarantined', score: 88 });
			const unscanned = await lms.pushFinal(final('rec-6', '2025-03-05T09:00:00.000Z', 88, { pii: undefined }));
			expect(sim.assets.get(unscanned.assetId)?.visibility).toBe('private');
			const paused = await lms.pushFinal(final('rec-6b', '2025-03-05T09:00:00.000Z', 88, { platformFlags: { securePause: true } }));
			expect(sim.assets.get(paused.assetId)).toMatchObject({ visibility: 'private', status: 'published' });
			const clean = await lms.pushFinal(final('rec-6c', '2025-03-05T09:00:00.000Z', 88));
			expect(sim.assets.get(clean.assetId)?.visibility).toBe('public');
		});

		it('retracts: back to private, score removed, status evaluation_retracted; older pushes stay out', async () => {
			const pushed = await lms.pushFinal(final('rec-7', '2025-03-05T09:00:00.000Z', 95));
			const retracted = await lms.retractEvaluation(placeholder('rec-7'), 'eval-1', '2025-03-06T09:00:00.000Z');
			expect(retracted).toMatchObject({ assetId: pushed.assetId, created: false, stage: 'placeholder' });
			const stored = sim.assets.get(pushed.assetId)!;
			expect(stored).toMatchObject({ visibility: 'private', status: 'evaluation_retracted', revision: '2025-03-06T09:00:00.000Z' });
			expect(stored).not.toHaveProperty('score');

			// A redelivered push of the retracted evaluation cannot publish it again.
			const replay = await lms.pushFinal(final('rec-7', '2025-03-05T09:00:00.000Z', 95));
			expect(replay.details.stale).toBe(true);
			expect(sim.assets.get(pushed.assetId)).toMatchObject({ visibility: 'private', status: 'evaluation_retracted' });
			// Retracting twice changes nothing.
			const twice = await lms.retractEvaluation(placeholder('rec-7'), 'eval-1', '2025-03-06T09:00:00.000Z');
			expect(twice.details.stale).toBe(true);
			// A newer evaluation publishes again.
			await lms.pushFinal(final('rec-7', '2025-03-07T09:00:00.000Z', 64));
			expect(sim.assets.get(pushed.assetId)).toMatchObject({ visibility: 'public', status: 'published', score: 64 });
			// An older retraction does not undo the newer evaluation.
			const old = await lms.retractEvaluation(placeholder('rec-7'), 'eval-1', '2025-03-06T12:00:00.000Z');
			expect(old.details.stale).toBe(true);
			expect(sim.assets.get(pushed.assetId)).toMatchObject({ visibility: 'public', score: 64 });
		});

		it('retraction before any asset exists leaves a private, unscored asset holding the revision', async () => {
			const result = await lms.retractEvaluation(placeholder('rec-8'), 'eval-1', '2025-03-06T09:00:00.000Z');
			expect(result.created).toBe(true);
			const late = await lms.pushFinal(final('rec-8', '2025-03-05T09:00:00.000Z', 90));
			expect(late.details.stale).toBe(true);
			expect([...sim.assets.values()][0]).toMatchObject({ visibility: 'private', status: 'evaluation_retracted' });
			expect([...sim.assets.values()][0]).not.toHaveProperty('score');
		});

		it('updates with PUT (whole asset, score dropped on retraction) when configured', async () => {
			const put = adapterFor(sim, { updateMethod: 'PUT' });
			const pushed = await put.pushFinal(final('rec-9', '2025-03-05T09:00:00.000Z', 71));
			await put.retractEvaluation(placeholder('rec-9'), 'eval-1', '2025-03-06T09:00:00.000Z');
			expect(writes(sim, 'PUT')).toBe(1);
			expect(writes(sim, 'PATCH')).toBe(0);
			const stored = sim.assets.get(pushed.assetId)!;
			expect(stored).toMatchObject({ title: 'Billing call rec-9', status: 'evaluation_retracted', visibility: 'private', tags: ['billing', 'screen'] });
			expect(stored).not.toHaveProperty('score');
		});
	});

	describe('assignments', () => {
		it('assigns once; a retry with the same id finds it', async () => {
			const first = await lms.assign(assignment('asg-1'));
			expect(first).toMatchObject({ target: 'rest', assignmentId: 'asg-1', created: true, state: 'assigned' });
			const again = await lms.assign(assignment('asg-1'));
			expect(again).toMatchObject({ assignmentId: 'asg-1', created: false, state: 'assigned' });
			expect(sim.assignments.size).toBe(1);
			expect([...sim.assignments.values()][0]).toMatchObject({
				externalId: 'asg-1',
				userId: 'agent-a',
				moduleId: 'module-refunds',
				dueDate: '2025-03-11',
				reason: 'Failed critical question: refund policy',
				assetId: 'asset-x',
			});
			expect(writes(sim, 'POST', '/api/v1/learning/assignments')).toBe(1);
		});

		it('treats a 409 on create as the existing assignment', async () => {
			sim.beforeNextCreate((_kind, body) => {
				sim.assignments.set('other', { id: 'other', externalId: String(body.externalId), userId: 'agent-a', moduleId: 'module-refunds', dueDate: '2025-03-11', state: 'started', assignedAt: new Date().toISOString() });
			});
			const result = await lms.assign(assignment('asg-race'));
			expect(result).toMatchObject({ created: false, assignmentId: 'asg-race', state: 'started' });
			expect(sim.assignments.size).toBe(1);
		});

		it.each(['started', 'completed'] as const)('never reassigns a %s module', async (state) => {
			await lms.assign(assignment('asg-first'));
			sim.setAssignmentState('asg-first', state);
			const second = await lms.assign(assignment('asg-second'));
			expect(second).toMatchObject({ created: false, assignmentId: 'asg-first', state });
			expect(second.details.reason).toBe(`module_${state}`);
			expect(sim.assignments.size).toBe(1);
			expect([...sim.assignments.values()][0].state).toBe(state);
		});

		it('does assign a different module, and a completed one when explicitly allowed', async () => {
			await lms.assign(assignment('asg-a'));
			sim.setAssignmentState('asg-a', 'completed');
			expect((await lms.assign(assignment('asg-b', 'module-tone'))).created).toBe(true);
			const allowing = adapterFor(sim, {}, { reassignCompleted: true });
			expect((await allowing.assign(assignment('asg-c'))).created).toBe(true);
			expect(sim.assignments.size).toBe(3);
		});

		it('lets another process change an assignment state through the control endpoint (not logged)', async () => {
			await lms.assign(assignment('asg-ctl'));
			const logged = sim.requestLog.length;
			const response = await fetch(`${sim.url}/__sim/assignments/asg-ctl/state`, { method: 'POST', body: JSON.stringify({ state: 'started' }) });
			expect(response.status).toBe(200);
			expect(sim.requestLog).toHaveLength(logged);
			expect(await lms.assign(assignment('asg-ctl-2'))).toMatchObject({ created: false, state: 'started' });
		});

		it('lists the agent’s assignments since an instant across pages, with their states', async () => {
			await sim.close();
			sim = await startRestLms({ auth: { type: 'bearer', token: TOKEN }, assignmentPageSize: 2 });
			lms = adapterFor(sim);
			for (const [i, module] of ['m1', 'm2', 'm3', 'm4', 'm5'].entries()) await lms.assign(assignment(`asg-${i}`, module));
			sim.setAssignmentState('asg-1', 'started');
			sim.setAssignmentState('asg-2', 'completed');
			const old = [...sim.assignments.values()].find((a) => a.externalId === 'asg-4')!;
			old.assignedAt = '2024-01-01T00:00:00.000Z';
			sim.assignments.set('someone-else', { id: 'someone-else', externalId: 'x', userId: 'agent-b', moduleId: 'm1', dueDate: '2025-03-11', state: 'assigned', assignedAt: new Date().toISOString() });

			const since = new Date(Date.now() - 3600_000).toISOString();
			const listed = await lms.listAssignments({ id: 'agent-a' }, since);
			expect(listed.map((a) => [a.assignmentId, a.moduleId, a.state]).sort()).toEqual([
				['asg-0', 'm1', 'assigned'],
				['asg-1', 'm2', 'started'],
				['asg-2', 'm3', 'completed'],
				['asg-3', 'm4', 'assigned'],
			]);
			expect(listed.every((a) => a.dueDate === '2025-03-11' && !Number.isNaN(Date.parse(a.assignedAt)))).toBe(true);
			// Two pages were needed for the four recent ones.
			expect(sim.requestLog.filter((e) => e.method === 'GET' && e.path === '/api/v1/learning/assignments' && e.query.includes('since')).length).toBe(2);
		});
	});

	describe('transport', () => {
		it('retries seeded 429s (Retry-After in seconds) and 500s, never coming back before it was told', async () => {
			sim.setFaults({ seed: 7, rate429: 0.25, rate500: 0.2, retryAfter: 'seconds', retryAfterSec: 1 });
			const retrying = adapterFor(sim, {}, { retry: { ...FAST, maxAttempts: 10 } });
			await retrying.pushPlaceholder(placeholder('rec-f1'));
			await retrying.pushFinal(final('rec-f1', '2025-03-05T09:00:00.000Z', 50));
			await retrying.assign(assignment('asg-f1'));
			await retrying.assign(assignment('asg-f1'));

			expect(sim.assets.size).toBe(1);
			expect([...sim.assets.values()][0]).toMatchObject({ status: 'published', score: 50 });
			expect(sim.assignments.size).toBe(1);
			const log = sim.requestLog;
			expect(log.some((e) => e.refused === 'fault-429')).toBe(true);
			expect(log.some((e) => e.refused === 'fault-500')).toBe(true);
			for (const [i, entry] of log.entries()) {
				if (entry.refused !== 'fault-429') continue;
				const next = log[i + 1];
				expect(next).toBeDefined();
				expect(next.at).toBeGreaterThanOrEqual(entry.retryAfterAt! - 2);
			}
		});

		it('honours a Retry-After given as an HTTP date', async () => {
			sim.setFaults({ seed: 3, rate429: 1, retryAfter: 'http-date', retryAfterSec: 1 });
			const pending = lms.findAsset(refFor('rec-date'));
			// The first answer is the refusal; after it the way is clear.
			await new Promise<void>((resolve) => {
				const timer = setInterval(() => {
					if (sim.requestLog.length >= 1 && sim.requestLog[0].status !== 0) {
						sim.setFaults(undefined);
						clearInterval(timer);
						resolve();
					}
				}, 5);
			});
			await expect(pending).resolves.toBeUndefined();
			const [first, second] = sim.requestLog;
			expect(first).toMatchObject({ refused: 'fault-429', status: 429 });
			expect(first.retryAfterAt! - first.at).toBeGreaterThanOrEqual(1000);
			expect(second).toMatchObject({ status: 200 });
			expect(second.at).toBeGreaterThanOrEqual(first.retryAfterAt! - 2);
		});

		it('falls back to backoff when a 429 has no Retry-After', async () => {
			sim.setFaults({ seed: 11, rate429: 0.6, retryAfter: 'none' });
			const retrying = adapterFor(sim, {}, { retry: { ...FAST, maxAttempts: 12 } });
			await retrying.pushPlaceholder(placeholder('rec-nr'));
			for (let i = 0; i < 3; i++) await retrying.pushPlaceholder(placeholder('rec-nr'));
			expect(sim.assets.size).toBe(1);
			expect(sim.requestLog.some((e) => e.refused === 'fault-429' && e.retryAfterAt === undefined)).toBe(true);
		});

		it('never sends more than the configured requests per window (the server enforces the same limit)', async () => {
			await sim.close();
			const windowMs = 1000;
			sim = await startRestLms({ auth: { type: 'bearer', token: TOKEN }, rateLimit: { limit: 6, windowMs } });
			// The enforcement is real: an unthrottled burst is refused.
			await Promise.all(Array.from({ length: 10 }, () => fetch(`${sim.url}/api/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } })));
			expect(sim.requestLog.filter((e) => e.refused === 'rate-limit').length).toBeGreaterThan(0);
			await new Promise((resolve) => setTimeout(resolve, windowMs + 50));
			const before = sim.requestLog.length;

			const limited = RestLmsAdapter.fromCredentials(credentialsFor(sim, { requestsPerMinute: 6 }), { retry: FAST, rateWindowMs: windowMs });
			const started = Date.now();
			await Promise.all(Array.from({ length: 16 }, (_, i) => limited.findAsset(refFor(`rec-rate-${i}`))));
			const elapsed = Date.now() - started;
			const mine = sim.requestLog.slice(before);
			expect(mine).toHaveLength(16);
			expect(mine.filter((e) => e.refused)).toHaveLength(0);
			expect(sim.maxInWindow(windowMs, mine)).toBeLessThanOrEqual(6);
			// 1 burst token + 5 per window: 16 requests need at least three windows.
			expect(elapsed).toBeGreaterThanOrEqual(2 * windowMs);
		}, 20000);

		it('reports a refused credential clearly, without the secret', async () => {
			const secret = 'wrong-secret-9f8e7d6c5b';
			const wrong = adapterFor(sim, { token: secret });
			const error = await wrong.pushPlaceholder(placeholder('rec-auth')).then(
				() => undefined,
				(e: unknown) => e,
			);
			expect(error).toBeInstanceOf(RestLmsAuthError);
			expect((error as RestLmsAuthError).status).toBe(401);
			expect((error as Error).message).toMatch(/refused the credential \(HTTP 401\) on GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/learning\/assets/);
			expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain(secret);
			expect(sim.assets.size).toBe(0);
		});

		it('scrubs a secret a careless server echoes into an error body', async () => {
			await sim.close();
			const key = 'key-0a1b2c3d4e5f6a7b';
			sim = await startRestLms({ auth: { type: 'apiKey', header: 'X-Api-Key', key }, leakyErrors: true, faults: { rate500: 1 } });
			const leaky = adapterFor(sim, { authType: 'apiKey', headerName: 'X-Api-Key', apiKey: key, token: undefined }, { retry: { ...FAST, maxAttempts: 2 } });
			const error = await leaky.findAsset(refFor('rec-leak')).then(
				() => undefined,
				(e: unknown) => e,
			);
			expect(error).toBeInstanceOf(HttpError);
			expect((error as HttpError).status).toBe(500);
			expect((error as Error).message).not.toContain(key);
			expect(JSON.stringify((error as HttpError).responseBody)).not.toContain(key);
			// The server did see (and echo) the key: the scrubbing is what kept it out.
			expect(sim.requestLog).toHaveLength(2);
		});

		it('authenticates with an API key header or HTTP Basic', async () => {
			await sim.close();
			sim = await startRestLms({ auth: { type: 'apiKey', header: 'X-Lms-Key', key: 'k-123456' } });
			await expect(adapterFor(sim, { authType: 'apiKey', headerName: 'X-Lms-Key', apiKey: 'k-123456' }).pushPlaceholder(placeholder('rec-k'))).resolves.toMatchObject({ created: true });
			await expect(adapterFor(sim, { authType: 'apiKey', headerName: 'X-Other', apiKey: 'k-123456' }).findAsset(refFor('rec-k'))).rejects.toBeInstanceOf(RestLmsAuthError);
			await sim.close();
			sim = await startRestLms({ auth: { type: 'basic', username: 'svc', password: 'pw-abcdef' } });
			await expect(adapterFor(sim, { authType: 'basic', username: 'svc', password: 'pw-abcdef' }).pushPlaceholder(placeholder('rec-b'))).resolves.toMatchObject({ created: true });
			await expect(adapterFor(sim, { authType: 'basic', username: 'svc', password: 'nope-nope' }).findAsset(refFor('rec-b'))).rejects.toThrow(/HTTP 401/);
		});

		it('pings the assets list with limit=1, or the configured health path', async () => {
			await new RestLmsClient(credentialsFor(sim), { retry: FAST }).ping();
			expect(sim.requestLog.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/learning/assets', query: '?limit=1', status: 200 });
			await new RestLmsClient(credentialsFor(sim, { healthPath: '/api/v1/health' }), { retry: FAST }).ping();
			expect(sim.requestLog.at(-1)).toMatchObject({ path: '/api/v1/health', status: 200 });
		});

		it('refuses plain http unless marked as a local simulator, and incomplete auth settings', () => {
			expect(() => new RestLmsClient({ ...credentialsFor(sim), allowInsecureHttp: false })).toThrow(/only https/);
			expect(() => new RestLmsClient({ ...credentialsFor(sim), token: '' })).toThrow(/Token is empty/);
			expect(() => new RestLmsClient({ ...credentialsFor(sim), requestsPerMinute: 1 })).toThrow(/at least 2/);
			expect(() => new RestLmsClient({ ...credentialsFor(sim), baseUrl: 'https://lms.example.com', allowInsecureHttp: false })).not.toThrow();
		});
	});

	describe('credential type', () => {
		it('puts the chosen authentication on n8n requests', async () => {
			const credential = new RestLmsApi();
			const bearer = await credential.authenticate({ authType: 'bearer', token: 't-1' }, { url: '/x', headers: { accept: 'application/json' } });
			expect(bearer.headers).toEqual({ accept: 'application/json', Authorization: 'Bearer t-1' });
			const apiKey = await credential.authenticate({ authType: 'apiKey', headerName: 'X-Lms-Key', apiKey: 'k-1' }, { url: '/x' });
			expect(apiKey.headers).toEqual({ 'X-Lms-Key': 'k-1' });
			const basic = await credential.authenticate({ authType: 'basic', username: 'u', password: 'p' }, { url: '/x' });
			expect(basic.auth).toEqual({ username: 'u', password: 'p' });
			expect(credential.test.request).toMatchObject({ method: 'GET', qs: { limit: 1 } });
			expect(credential.properties.find((p) => p.name === 'requestsPerMinute')?.default).toBe(120);
		});
	});

	it('orders revisions as times, numbers or strings', () => {
		expect(compareRevisions('2025-03-05T10:00:00Z', '2025-03-05T10:00:00.000Z')).toBe(0);
		expect(compareRevisions('2025-03-05T09:00:00Z', '2025-03-05T10:00:00.000Z')).toBeLessThan(0);
		expect(compareRevisions('2025-03-05T11:00:00+02:00', '2025-03-05T10:00:00.000Z')).toBeLessThan(0);
		expect(compareRevisions('10', '9')).toBeGreaterThan(0);
		expect(compareRevisions('b', 'a')).toBeGreaterThan(0);
		expect(compareRevisions('2025-03-05T09:00:00.000Z', '2025-03-05T09:00:00.000Z')).toBe(0);
	});
});
