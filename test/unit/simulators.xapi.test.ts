import { createHash, randomUUID } from 'node:crypto';

import { HttpClient } from '../../nodes/shared/transport/http';
import { TokenBucket } from '../../nodes/shared/transport/rateLimit';
import { main } from '../simulators/cli';
import { maxRequestsInWindow } from '../simulators/httpUtil';
import {
	startXapiLrs,
	type XapiLrsSimulator,
	type XapiRandomFaults,
} from '../simulators/xapiLrs';

const AGENT = { account: { homePage: 'https://cc.example.com', name: 'agent-42' } };
const OTHER_AGENT = { account: { homePage: 'https://cc.example.com', name: 'agent-7' } };
const EXPERIENCED = 'http://adlnet.gov/expapi/verbs/experienced';
const REGISTERED = 'http://adlnet.gov/expapi/verbs/registered';
const RECORDING = 'https://cc.example.com/recordings/rec-123';
const VOIDED = 'http://adlnet.gov/expapi/verbs/voided';
const SIM_AUTH = `Basic ${Buffer.from('sim-key:sim-secret').toString('base64')}`;

/** GET on a fresh simulator with its default credentials. */
function simGet(sim: XapiLrsSimulator, path: string): Promise<Response> {
	return fetch(new URL(path, sim.endpoint), {
		headers: { Authorization: SIM_AUTH, 'X-Experience-API-Version': '1.0.3' },
	});
}

/** Statuses (and Retry-After headers) of `count` sequential statement queries under random faults. */
async function drawSequence(config: XapiRandomFaults, count: number): Promise<Array<[number, string | null]>> {
	const sim = await startXapiLrs();
	try {
		sim.setRandomFaults(config);
		const seen: Array<[number, string | null]> = [];
		for (let i = 0; i < count; i++) {
			const response = await simGet(sim, 'statements?limit=1');
			await response.arrayBuffer();
			seen.push([response.status, response.headers.get('retry-after')]);
		}
		expect(sim.requests.map((entry) => entry.status)).toEqual(seen.map(([status]) => status));
		return seen;
	} finally {
		await sim.close();
	}
}

function statement(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		actor: AGENT,
		verb: { id: EXPERIENCED, display: { 'en-US': 'experienced' } },
		object: {
			objectType: 'Activity',
			id: RECORDING,
			definition: {
				type: 'https://w3id.org/xapi/video/activity-type/video',
				name: { 'en-US': 'Call rec-123' },
			},
		},
		result: { score: { scaled: 0.72, raw: 72, min: 0, max: 100 } },
		...overrides,
	};
}

describe('xAPI LRS simulator', () => {
	let lrs: XapiLrsSimulator;
	let auth: string;

	const call = (path: string, init: RequestInit & { version?: string | null } = {}) => {
		const { version = '1.0.3', ...rest } = init;
		const headers: Record<string, string> = {
			Authorization: auth,
			...(version ? { 'X-Experience-API-Version': version } : {}),
			...((rest.headers as Record<string, string>) ?? {}),
		};
		if (rest.body !== undefined && !headers['Content-Type'])
			headers['Content-Type'] = 'application/json';
		return fetch(new URL(path, lrs.endpoint), { ...rest, headers });
	};
	const postStatements = (body: unknown, version?: string) =>
		call('statements', {
			method: 'POST',
			body: JSON.stringify(body),
			...(version ? { version } : {}),
		});

	beforeAll(async () => {
		lrs = await startXapiLrs({ key: 'k1', secret: 's1', maxLimit: 50 });
		auth = `Basic ${Buffer.from('k1:s1').toString('base64')}`;
	});
	afterAll(() => lrs.close());

	describe('transport', () => {
		it('serves About without credentials or version header', async () => {
			const response = await fetch(new URL('about', lrs.endpoint));
			expect(response.status).toBe(200);
			expect(await response.json()).toEqual({ version: ['1.0.3', '2.0.0'] });
			expect(response.headers.get('x-experience-api-version')).toBe('1.0.3');
		});

		it('rejects a missing or unsupported version header with 400 warnings', async () => {
			const missing = await call('statements', { version: null });
			expect(missing.status).toBe(400);
			const body = (await missing.json()) as { errorId: string; warnings: string[] };
			expect(body.errorId).toMatch(/^[0-9a-f-]{36}$/);
			expect(body.warnings).toEqual([
				"Missing required value in 'header.X-Experience-API-Version'",
			]);
			expect(missing.headers.get('x-experience-api-version')).toBe('1.0.3');
			expect((await call('statements', { version: '1.1.0' })).status).toBe(400);
			expect((await call('statements', { version: '0.95' })).status).toBe(400);
			const v2 = await call('statements', { version: '2.0.0' });
			expect(v2.status).toBe(200);
			expect(v2.headers.get('x-experience-api-version')).toBe('2.0.0');
		});

		it('requires the Basic key and secret', async () => {
			const none = await fetch(new URL('statements', lrs.endpoint), {
				headers: { 'X-Experience-API-Version': '1.0.3' },
			});
			expect(none.status).toBe(401);
			const wrong = await fetch(new URL('statements', lrs.endpoint), {
				headers: {
					'X-Experience-API-Version': '1.0.3',
					Authorization: `Basic ${Buffer.from('k1:nope').toString('base64')}`,
				},
			});
			expect(wrong.status).toBe(401);
			expect(wrong.headers.get('www-authenticate')).toContain('Basic');
		});

		it('injects 429 with and without Retry-After and 500/503 on a path', async () => {
			lrs.setFault({ path: '/statements', method: 'POST', status: 429, retryAfterSec: 3 });
			lrs.setFault({ path: '/xAPI/statements', method: 'POST', status: 429, retryAfterSec: null });
			lrs.setFault({ path: '/statements', method: 'POST', status: 503, count: 2 });
			const s = statement();
			const first = await postStatements(s);
			expect(first.status).toBe(429);
			expect(first.headers.get('retry-after')).toBe('3');
			const second = await postStatements(s);
			expect(second.status).toBe(429);
			expect(second.headers.get('retry-after')).toBeNull();
			expect((await postStatements(s)).status).toBe(503);
			expect((await postStatements(s)).status).toBe(503);
			expect(lrs.statements()).toHaveLength(0);
			const ok = await postStatements(s);
			expect(ok.status).toBe(200);
			expect(lrs.requests.slice(-5).map((r) => r.status)).toEqual([429, 429, 503, 503, 200]);
			expect(lrs.requests.slice(-5).map((r) => r.fault)).toEqual([
				'scripted',
				'scripted',
				'scripted',
				'scripted',
				undefined,
			]);
		});

		it('answers a seeded, reproducible share of requests with 429 and 500', async () => {
			const config: XapiRandomFaults = { seed: 42, rate429: 0.25, rate500: 0.1 };
			const first = await drawSequence(config, 300);
			const statuses = first.map(([status]) => status);
			const count = (status: number) => statuses.filter((s) => s === status).length;
			expect(count(429) + count(500) + count(200)).toBe(300);
			// 75 and 30 expected; a generous band still fails a generator that ignores the rates.
			expect(count(429)).toBeGreaterThan(50);
			expect(count(429)).toBeLessThan(100);
			expect(count(500)).toBeGreaterThan(15);
			expect(count(500)).toBeLessThan(50);
			const replay = await drawSequence(config, 300);
			expect(replay.map(([status]) => status)).toEqual(statuses);
			const otherSeed = await drawSequence({ ...config, seed: 43 }, 300);
			expect(otherSeed.map(([status]) => status)).not.toEqual(statuses);
		});

		it('sends Retry-After in seconds, as an HTTP date, or not at all', async () => {
			const seconds = await drawSequence({ seed: 1, rate429: 1, retryAfter: 'seconds', retryAfterSec: 3 }, 5);
			expect(seconds).toEqual(Array.from({ length: 5 }, () => [429, '3']));
			const none = await drawSequence({ seed: 1, rate429: 1, retryAfter: 'none' }, 5);
			expect(none).toEqual(Array.from({ length: 5 }, () => [429, null]));
			const asked = Date.now();
			const dates = await drawSequence({ seed: 1, rate429: 1, retryAfter: 'http-date', retryAfterSec: 4 }, 5);
			for (const [status, header] of dates) {
				expect(status).toBe(429);
				expect(header).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
				// Rounded up to whole seconds: never earlier than the delay asked for.
				expect(Date.parse(header!)).toBeGreaterThanOrEqual(asked + 4000 - 1000);
				expect(Date.parse(header!)).toBeLessThanOrEqual(Date.now() + 5000);
			}
			const mixed = await drawSequence({ seed: 5, rate429: 1, retryAfterSec: 2 }, 40);
			const kinds = new Set(
				mixed.map(([, header]) => (header === null ? 'none' : /^\d+$/.test(header) ? 'seconds' : 'date')),
			);
			expect([...kinds].sort()).toEqual(['date', 'none', 'seconds']);
		});

		it('limits random faults to a path and method, and is controlled through /__sim', async () => {
			const sim = await startXapiLrs();
			const control = new URL('/__sim/random-faults', sim.endpoint);
			try {
				const bad = await fetch(control, { method: 'POST', body: JSON.stringify({ seed: 1, rate429: 0.8, rate500: 0.5 }) });
				expect(bad.status).toBe(400);
				const set = await fetch(control, {
					method: 'POST',
					body: JSON.stringify({ seed: 3, rate500: 1, path: '/activities/profile', method: 'GET' }),
				});
				expect(set.status).toBe(204);
				expect((await simGet(sim, 'statements')).status).toBe(200);
				const profile = await simGet(sim, `activities/profile?activityId=${encodeURIComponent(RECORDING)}&profileId=p`);
				expect(profile.status).toBe(500);
				expect(sim.requests.at(-1)).toMatchObject({ status: 500, fault: 'random' });
				expect((await fetch(control, { method: 'DELETE' })).status).toBe(204);
				const after = await simGet(sim, `activities/profile?activityId=${encodeURIComponent(RECORDING)}&profileId=p`);
				expect(after.status).toBe(404);

				const log = (await (await fetch(new URL('/__sim/requests', sim.endpoint))).json()) as Array<{ at: number }>;
				expect(log).toHaveLength(3);
				expect(log.every((entry, i) => typeof entry.at === 'number' && (i === 0 || entry.at >= log[i - 1].at))).toBe(true);
				const rate = (await (await fetch(new URL('/__sim/max-rate?windowMs=60000', sim.endpoint))).json()) as { maxRequests: number };
				expect(rate.maxRequests).toBe(3);
			} finally {
				await sim.close();
			}
		});

		it('computes the peak request count of any sliding window', () => {
			const at = (...times: number[]) => times.map((t) => ({ at: t }));
			expect(maxRequestsInWindow([], 1000)).toBe(0);
			expect(maxRequestsInWindow(at(0, 100, 200, 1000, 1050), 1000)).toBe(4);
			// Not aligned to clock seconds: 4 requests straddle the 1000 ms boundary.
			expect(maxRequestsInWindow(at(0, 900, 950, 1050, 1100, 2500), 1000)).toBe(4);
			expect(maxRequestsInWindow(at(1050, 0, 950, 900, 1100), 250)).toBe(4);
			expect(maxRequestsInWindow(at(0, 1000, 2000), 1000)).toBe(1);
			expect(() => maxRequestsInWindow(at(0), 0)).toThrow('windowMs must be positive');
		});

		it('shows in the request log whether a client kept to its rate limit', async () => {
			const sim = await startXapiLrs();
			try {
				const fire = (client: HttpClient) =>
					Promise.all(
						Array.from({ length: 12 }, () =>
							client.request({
								method: 'GET',
								url: `${sim.endpoint}statements`,
								headers: { authorization: SIM_AUTH, 'x-experience-api-version': '1.0.3' },
							}),
						),
					);
				// 1200 per minute = one every 50 ms after a burst of 2.
				await fire(new HttpClient({ bucket: new TokenBucket(1200, 2) }));
				const paced = maxRequestsInWindow(sim.requests, 200);
				// At most the burst plus 200 ms worth of tokens (and one for a window edge).
				expect(paced).toBeLessThanOrEqual(8);
				const span = sim.requests.at(-1)!.at - sim.requests[0].at;
				expect(span).toBeGreaterThanOrEqual(400);
				sim.requests.length = 0;
				await fire(new HttpClient());
				expect(maxRequestsInWindow(sim.requests, 200)).toBeGreaterThan(paced);
			} finally {
				await sim.close();
			}
		});
	});

	describe('statements', () => {
		it('stores a PUT statement with LRS-assigned properties', async () => {
			const id = randomUUID();
			const put = await call(`statements?statementId=${id}`, {
				method: 'PUT',
				body: JSON.stringify(statement()),
			});
			expect(put.status).toBe(204);
			expect(put.headers.get('x-experience-api-consistent-through')).toBeTruthy();
			const get = await call(`statements?statementId=${id}`);
			expect(get.status).toBe(200);
			expect(get.headers.get('x-experience-api-consistent-through')).toBeTruthy();
			const stored = (await get.json()) as Record<string, unknown>;
			expect(stored).toMatchObject({
				id,
				version: '1.0.0',
				authority: { objectType: 'Agent', name: 'k1', mbox: 'mailto:k1@lrs.invalid' },
			});
			expect(Date.parse(stored.stored as string)).not.toBeNaN();
			expect(stored.timestamp).toBe(stored.stored);

			const mismatch = await call(`statements?statementId=${randomUUID()}`, {
				method: 'PUT',
				body: JSON.stringify({ ...statement(), id }),
			});
			expect(mismatch.status).toBe(400);
		});

		it('POSTs a batch, returns ids in order and treats an identical re-send as a no-op', async () => {
			const id = randomUUID();
			const batch = [statement({ id }), statement({ verb: { id: REGISTERED } })];
			const response = await postStatements(batch);
			expect(response.status).toBe(200);
			const ids = (await response.json()) as string[];
			expect(ids[0]).toBe(id);
			expect(ids[1]).toMatch(
				/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
			);
			const count = lrs.statements().length;
			const storedBefore = lrs.statements().find((s) => s.id === id)!.stored;

			const again = await postStatements(statement({ id }));
			expect(again.status).toBe(200);
			expect(await again.json()).toEqual([id]);
			expect(lrs.statements()).toHaveLength(count);
			expect(lrs.statements().find((s) => s.id === id)!.stored).toBe(storedBefore);
			// Display and activity definitions are not part of the statement for comparison.
			const display = await postStatements(
				statement({ id, verb: { id: EXPERIENCED, display: { fr: 'x' } } }),
			);
			expect(display.status).toBe(200);
		});

		it('answers 409 for the same id with different content and changes nothing', async () => {
			const id = randomUUID();
			expect((await postStatements(statement({ id }))).status).toBe(200);
			const conflicting = await postStatements(
				statement({ id, result: { score: { scaled: 0.1, raw: 10, min: 0, max: 100 } } }),
			);
			expect(conflicting.status).toBe(409);
			expect(await conflicting.json()).toMatchObject({ message: `${id} is conflicting` });
			const put = await call(`statements?statementId=${id}`, {
				method: 'PUT',
				body: JSON.stringify(statement({ verb: { id: REGISTERED } })),
			});
			expect(put.status).toBe(409);
			const stored = lrs.statements().find((s) => s.id === id) as unknown as {
				result: { score: { raw: number } };
			};
			expect(stored.result.score.raw).toBe(72);
		});

		it('rejects a batch with duplicate ids or one invalid statement as a whole', async () => {
			const count = lrs.statements().length;
			const id = randomUUID();
			const duplicate = await postStatements([statement({ id }), statement({ id })]);
			expect(duplicate.status).toBe(400);
			const invalid = await postStatements([
				statement(),
				statement({ actor: { mbox: 'agent42' } }),
				statement({ verb: undefined }),
			]);
			expect(invalid.status).toBe(400);
			const body = (await invalid.json()) as { warnings: string[] };
			expect(body.warnings).toContain(`Problem in 'statements.1.actor.mbox'. Received '"agent42"'`);
			expect(body.warnings).toContain(`Missing required value in 'statements.2.verb'`);
			expect(lrs.statements()).toHaveLength(count);
			const notJson = await call('statements', {
				method: 'POST',
				body: JSON.stringify(statement()),
				headers: { 'Content-Type': 'text/plain' },
			});
			expect(notJson.status).toBe(400);
		});

		it('accepts 2.0 statements the 1.0 validator would reject, but still checks structure', async () => {
			const v2 = statement({
				version: '2.0.0',
				context: {
					contextAgents: [
						{
							objectType: 'contextAgent',
							agent: OTHER_AGENT,
							relevantTypes: ['https://x.example/t'],
						},
					],
				},
			});
			expect((await postStatements(v2)).status).toBe(400);
			const accepted = await postStatements(v2, '2.0.0');
			expect(accepted.status).toBe(200);
			const [id] = (await accepted.json()) as string[];
			expect(lrs.statements().find((s) => s.id === id)).toMatchObject({ version: '2.0.0' });
			expect((await postStatements({ verb: { id: EXPERIENCED } }, '2.0.0')).status).toBe(400);
		});

		it('filters by agent, verb, activity, registration and since, newest first, and pages with more', async () => {
			const paging = await startXapiLrs({ maxLimit: 3 });
			const pagingAuth = `Basic ${Buffer.from('sim-key:sim-secret').toString('base64')}`;
			const get = async (path: string) => {
				const response = await fetch(new URL(path, paging.endpoint), {
					headers: { Authorization: pagingAuth, 'X-Experience-API-Version': '1.0.3' },
				});
				expect(response.headers.get('x-experience-api-consistent-through')).toBeTruthy();
				return response;
			};
			try {
				const registration = randomUUID();
				const posted: string[] = [];
				for (let i = 0; i < 7; i++) {
					const response = await fetch(new URL('statements', paging.endpoint), {
						method: 'POST',
						headers: {
							Authorization: pagingAuth,
							'X-Experience-API-Version': '1.0.3',
							'Content-Type': 'application/json',
						},
						body: JSON.stringify(
							statement({
								actor: i % 2 === 0 ? AGENT : OTHER_AGENT,
								verb: { id: i < 5 ? EXPERIENCED : REGISTERED },
								...(i === 6 ? { context: { registration } } : {}),
							}),
						),
					});
					posted.push(((await response.json()) as string[])[0]);
				}
				const agentParam = encodeURIComponent(JSON.stringify(AGENT));
				const collected: string[] = [];
				let next = `statements?agent=${agentParam}&verb=${encodeURIComponent(EXPERIENCED)}`;
				for (let pages = 0; next; pages++) {
					expect(pages).toBeLessThan(3);
					const result = (await (await get(next)).json()) as {
						statements: Array<{ id: string }>;
						more: string;
					};
					collected.push(...result.statements.map((s) => s.id));
					if (result.more) expect(result.more).toMatch(/^\/xAPI\/statements\?/);
					next = result.more ? `${new URL(paging.endpoint).origin}${result.more}` : '';
				}
				// Statements 0, 2, 4 by AGENT with "experienced", newest first.
				expect(collected).toEqual([posted[4], posted[2], posted[0]]);

				const all = (await (await get('statements?limit=2')).json()) as {
					statements: Array<{ id: string }>;
					more: string;
				};
				expect(all.statements.map((s) => s.id)).toEqual([posted[6], posted[5]]);
				expect(all.more).not.toBe('');
				const ascending = (await (await get('statements?ascending=true&limit=1')).json()) as {
					statements: Array<{ id: string }>;
				};
				expect(ascending.statements[0].id).toBe(posted[0]);

				const byRegistration = (await (
					await get(`statements?registration=${registration}`)
				).json()) as {
					statements: Array<{ id: string }>;
				};
				expect(byRegistration.statements.map((s) => s.id)).toEqual([posted[6]]);

				const stored = paging.statements().find((s) => s.id === posted[4])!.stored as string;
				const since = (await (
					await get(`statements?since=${encodeURIComponent(stored)}`)
				).json()) as {
					statements: Array<{ id: string }>;
				};
				expect(since.statements.map((s) => s.id)).toEqual([posted[6], posted[5]]);

				const byActivity = (await (
					await get(`statements?activity=${encodeURIComponent('https://other.example/a')}`)
				).json()) as {
					statements: unknown[];
					more: string;
				};
				expect(byActivity).toEqual({ statements: [], more: '' });

				expect((await get('statements?Limit=2')).status).toBe(400);
				expect((await get(`statements?statementId=${posted[0]}&verb=x`)).status).toBe(400);
				expect((await get(`statements?agent=${encodeURIComponent('{"name":"x"}')}`)).status).toBe(
					400,
				);
			} finally {
				await paging.close();
			}
		});

		it('hides voided statements from queries and statementId, but serves them by voidedStatementId', async () => {
			const target = randomUUID();
			const activity = `https://cc.example.com/recordings/${randomUUID()}`;
			expect(
				(await postStatements(statement({ id: target, object: { id: activity } }))).status,
			).toBe(200);
			const voiding = await postStatements({
				actor: AGENT,
				verb: { id: 'http://adlnet.gov/expapi/verbs/voided', display: { 'en-US': 'voided' } },
				object: { objectType: 'StatementRef', id: target },
			});
			const [voidingId] = (await voiding.json()) as string[];

			const byId = await call(`statements?statementId=${target}`);
			expect(byId.status).toBe(404);
			expect(await byId.json()).toMatchObject({ message: 'No Statement found' });
			const byVoidedId = await call(`statements?voidedStatementId=${target}`);
			expect(byVoidedId.status).toBe(200);
			expect(((await byVoidedId.json()) as { id: string }).id).toBe(target);
			expect((await call(`statements?voidedStatementId=${voidingId}`)).status).toBe(404);

			// The voiding statement still matches the activity filter through its StatementRef.
			const query = await call(`statements?activity=${encodeURIComponent(activity)}`);
			const ids = ((await query.json()) as { statements: Array<{ id: string }> }).statements.map(
				(s) => s.id,
			);
			expect(ids).toEqual([voidingId]);
			expect(lrs.voidedStatementIds()).toContain(target);
			expect(lrs.statements().some((s) => s.id === target)).toBe(true);
		});

		it('never voids a voiding statement', async () => {
			const target = randomUUID();
			expect((await postStatements(statement({ id: target }))).status).toBe(200);
			const [firstVoid] = (await (
				await postStatements({ actor: AGENT, verb: { id: VOIDED }, object: { objectType: 'StatementRef', id: target } })
			).json()) as string[];
			const second = await postStatements({
				actor: AGENT,
				verb: { id: VOIDED },
				object: { objectType: 'StatementRef', id: firstVoid },
			});
			expect(second.status).toBe(200);
			const [secondVoid] = (await second.json()) as string[];
			expect((await call(`statements?statementId=${firstVoid}`)).status).toBe(200);
			expect((await call(`statements?voidedStatementId=${firstVoid}`)).status).toBe(404);
			expect((await call(`statements?statementId=${target}`)).status).toBe(404);
			expect(lrs.voidedStatementIds()).toContain(target);
			expect(lrs.voidedStatementIds()).not.toContain(firstVoid);
			expect((await call(`statements?statementId=${secondVoid}`)).status).toBe(200);
		});

		it('applies since (exclusive) and until (inclusive) on stored, and drops a statement voided between pages', async () => {
			const activity = `https://cc.example.com/recordings/${randomUUID()}`;
			const ids: string[] = [];
			for (let i = 0; i < 4; i++) {
				const [id] = (await (await postStatements(statement({ object: { id: activity } }))).json()) as string[];
				ids.push(id);
			}
			const stored = (id: string) => lrs.statements().find((s) => s.id === id)!.stored as string;
			const query = async (params: string) => {
				const response = await call(`statements?activity=${encodeURIComponent(activity)}&${params}`);
				expect(response.status).toBe(200);
				const consistent = response.headers.get('x-experience-api-consistent-through')!;
				expect(Date.parse(consistent)).toBeGreaterThanOrEqual(Date.parse(stored(ids[3])));
				return (await response.json()) as { statements: Array<{ id: string }>; more: string };
			};
			const until = await query(`until=${encodeURIComponent(stored(ids[1]))}`);
			expect(until.statements.map((s) => s.id)).toEqual([ids[1], ids[0]]);
			const window = await query(
				`since=${encodeURIComponent(stored(ids[0]))}&until=${encodeURIComponent(stored(ids[2]))}&ascending=true`,
			);
			expect(window.statements.map((s) => s.id)).toEqual([ids[1], ids[2]]);
			const byVerb = await query(`verb=${encodeURIComponent(REGISTERED)}`);
			expect(byVerb).toEqual({ statements: [], more: '' });

			const page1 = await query('limit=1');
			expect(page1.statements.map((s) => s.id)).toEqual([ids[3]]);
			// ids[2] would be next; voided now, it must not appear on the following page.
			await postStatements({ actor: AGENT, verb: { id: VOIDED }, object: { objectType: 'StatementRef', id: ids[2] } });
			const seen: string[] = [];
			let more = page1.more;
			while (more) {
				const page = (await (await call(`${new URL(lrs.endpoint).origin}${more}`)).json()) as {
					statements: Array<{ id: string }>;
					more: string;
				};
				seen.push(...page.statements.map((s) => s.id));
				more = page.more;
			}
			expect(seen).toEqual([ids[1], ids[0]]);
		});

		it('keeps the latest activity definition as the canonical one', async () => {
			const activity = `https://cc.example.com/recordings/${randomUUID()}`;
			const define = (name: string) =>
				postStatements(
					statement({
						object: {
							objectType: 'Activity',
							id: activity,
							definition: { name: { 'en-US': name } },
						},
					}),
				);
			await define('First title');
			await define('Second title');
			const response = await call(`activities?activityId=${encodeURIComponent(activity)}`);
			expect(await response.json()).toEqual({
				objectType: 'Activity',
				id: activity,
				definition: { name: { 'en-US': 'Second title' } },
			});
		});
	});

	describe('documents', () => {
		const profileUrl = (profileId?: string) =>
			`activities/profile?activityId=${encodeURIComponent(RECORDING)}${profileId ? `&profileId=${profileId}` : ''}`;

		it('runs the activity profile ETag flow: 204, 409 without headers, 412 on stale ETag', async () => {
			const first = JSON.stringify({ status: 'pending_review', qaScore: null });
			const created = await call(profileUrl('qa-metadata'), {
				method: 'PUT',
				body: first,
				headers: { 'If-None-Match': '*' },
			});
			expect(created.status).toBe(204);

			const get = await call(profileUrl('qa-metadata'));
			expect(get.status).toBe(200);
			const etag = get.headers.get('etag')!;
			expect(etag).toBe(`"${createHash('sha1').update(first).digest('hex')}"`);
			expect(get.headers.get('last-modified')).toBeTruthy();
			expect(await get.json()).toEqual({ status: 'pending_review', qaScore: null });

			const createAgain = await call(profileUrl('qa-metadata'), {
				method: 'PUT',
				body: first,
				headers: { 'If-None-Match': '*' },
			});
			expect(createAgain.status).toBe(412);

			const blind = await call(profileUrl('qa-metadata'), {
				method: 'PUT',
				body: '{"status":"final"}',
			});
			expect(blind.status).toBe(409);
			expect(((await blind.json()) as { message: string }).message).toMatch(/If-Match/);

			const updated = await call(profileUrl('qa-metadata'), {
				method: 'PUT',
				body: JSON.stringify({ status: 'final', qaScore: 72 }),
				headers: { 'If-Match': etag },
			});
			expect(updated.status).toBe(204);
			const stale = await call(profileUrl('qa-metadata'), {
				method: 'PUT',
				body: JSON.stringify({ status: 'pending_review' }),
				headers: { 'If-Match': etag },
			});
			expect(stale.status).toBe(412);
			expect(lrs.activityProfiles().find((d) => d.id === 'qa-metadata')?.json).toEqual({
				status: 'final',
				qaScore: 72,
			});

			const ids = await call(profileUrl());
			expect(await ids.json()).toEqual(['qa-metadata']);
			expect((await call(profileUrl('absent'))).status).toBe(404);
		});

		it('merges a JSON POST into a JSON document and refuses to merge non-JSON', async () => {
			expect(
				(
					await call(profileUrl('tags'), {
						method: 'POST',
						body: JSON.stringify({ x: 'foo', y: 'bar' }),
					})
				).status,
			).toBe(204);
			expect(
				(
					await call(profileUrl('tags'), {
						method: 'POST',
						body: JSON.stringify({ x: 'bash', z: 'faz' }),
					})
				).status,
			).toBe(204);
			const merged = await call(profileUrl('tags'));
			expect(await merged.json()).toEqual({ x: 'bash', y: 'bar', z: 'faz' });
			const text = await call(profileUrl('tags'), {
				method: 'POST',
				body: 'plain',
				headers: { 'Content-Type': 'text/plain' },
			});
			expect(text.status).toBe(400);
			expect(await (await call(profileUrl('tags'))).json()).toEqual({
				x: 'bash',
				y: 'bar',
				z: 'faz',
			});

			const etag = (await call(profileUrl('tags'))).headers.get('etag')!;
			expect(
				(await call(profileUrl('tags'), { method: 'DELETE', headers: { 'If-Match': '"0000"' } }))
					.status,
			).toBe(412);
			expect(
				(await call(profileUrl('tags'), { method: 'DELETE', headers: { 'If-Match': etag } }))
					.status,
			).toBe(204);
			expect((await call(profileUrl('tags'))).status).toBe(404);
		});

		it('exempts State from the If-Match requirement in 1.0.3 but not in 2.0', async () => {
			const agent = encodeURIComponent(JSON.stringify(AGENT));
			const stateUrl = `activities/state?activityId=${encodeURIComponent(RECORDING)}&agent=${agent}&stateId=bookmark`;
			expect((await call(stateUrl, { method: 'PUT', body: '{"t":1}' })).status).toBe(204);
			expect((await call(stateUrl, { method: 'PUT', body: '{"t":2}' })).status).toBe(204);
			expect(
				(await call(stateUrl, { method: 'PUT', body: '{"t":3}', version: '2.0.0' })).status,
			).toBe(409);
			expect(await (await call(stateUrl)).json()).toEqual({ t: 2 });

			const agentProfile = `agents/profile?agent=${agent}&profileId=prefs`;
			expect((await call(agentProfile, { method: 'PUT', body: '{"lang":"en"}' })).status).toBe(204);
			expect((await call(agentProfile, { method: 'PUT', body: '{"lang":"fr"}' })).status).toBe(409);
			expect(lrs.agentProfiles()[0]).toMatchObject({ id: 'prefs', json: { lang: 'en' } });
		});
	});

	it('starts from the command line and exposes the control API', async () => {
		const lines: string[] = [];
		const running = await main(['xapi', '--port', '0', '--key', 'ck', '--secret', 'cs'], (line) =>
			lines.push(line),
		);
		try {
			const info = JSON.parse(lines[0]) as { endpoint: string; key: string; controlUrl: string };
			expect(info.key).toBe('ck');
			expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/xAPI\/$/);
			const post = await fetch(new URL('statements', info.endpoint), {
				method: 'POST',
				headers: {
					Authorization: `Basic ${Buffer.from('ck:cs').toString('base64')}`,
					'X-Experience-API-Version': '1.0.3',
					'Content-Type': 'application/json',
				},
				body: JSON.stringify(statement()),
			});
			expect(post.status).toBe(200);
			const all = (await (await fetch(`${info.controlUrl}/statements`)).json()) as unknown[];
			expect(all).toHaveLength(1);
		} finally {
			await running.close();
		}
	});
});
