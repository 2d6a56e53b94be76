import type { RecordingRef } from '../../nodes/shared/recordingRef';
import type { ClaimOutcome, ClaimRequest, StateStore } from '../../nodes/shared/state/types';

/**
 * The behaviour every StateStore driver must show, run against SQLite and PostgreSQL alike.
 * `fresh()` opens a store on a new, empty database (a new SQLite file, a new PostgreSQL schema);
 * `peer()` opens a second, independent connection (pool) to the database of the last `fresh()`, the way a second
 * n8n worker would. The calling test file closes what they opened after each test.
 */
export interface StateStoreTarget {
	fresh(): Promise<StateStore>;
	peer(): Promise<StateStore>;
}

export const ref: Partial<RecordingRef> = {
	source: 'genesys-cloud',
	conversationId: 'conv-1',
	recordingId: 'rec-1',
	stateKey: 'genesys-cloud:conv-1:rec-1',
	agent: { id: 'agent-7', name: 'Zoë Ångström' },
	mediaType: 'screen',
	startTime: '2025-03-01T10:00:00.000Z',
	skills: ['billing', 'retention'],
	platformFlags: { sensitiveData: false },
};

export const recording = {
	stateKey: 'genesys-cloud:conv-1:rec-1',
	source: 'genesys-cloud',
	conversationId: 'conv-1',
	recordingId: 'rec-1',
	stage: 'discovered' as const,
	ref,
};

const T0 = Date.parse('2025-03-10T12:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** An instant relative to the fixed test clock. */
const at = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

/** A claim at `now` with a 7-day agent window and a 30-day module cooldown. */
function claimAt(
	nowMs: number,
	fields: Partial<ClaimRequest> & Pick<ClaimRequest, 'claimKey' | 'agentId' | 'moduleId'>,
): ClaimRequest {
	return {
		agentWindowStart: at(nowMs - 7 * DAY),
		moduleCooldownStart: at(nowMs - 30 * DAY),
		now: at(nowMs),
		...fields,
	};
}

function outcomes(results: ClaimOutcome[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const result of results) counts[result.outcome] = (counts[result.outcome] ?? 0) + 1;
	return counts;
}

function evaluation(
	evaluationId: string,
	revision: string,
	extra: Partial<Parameters<StateStore['putEvaluation']>[0]> = {},
): Parameters<StateStore['putEvaluation']>[0] {
	return {
		evaluationId,
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		agentId: 'agent-7',
		revision,
		payload: { id: evaluationId, revision, totalScore: 80 },
		...extra,
	};
}

export function describeStateStoreBehaviour(label: string, target: StateStoreTarget): void {
	describe(`${label}: recordings`, () => {
		it('upsert creates a row once and then returns the existing row unchanged', async () => {
			const store = await target.fresh();
			const created = await store.upsertRecording(recording);
			expect(created).toMatchObject({
				stateKey: recording.stateKey,
				source: 'genesys-cloud',
				conversationId: 'conv-1',
				recordingId: 'rec-1',
				stage: 'discovered',
				lmsAssetId: null,
				version: 1,
			});
			expect(created.ref).toEqual(ref);
			expect(Number.isNaN(Date.parse(created.updatedAt))).toBe(false);

			const again = await store.upsertRecording({ ...recording, stage: 'staged', ref: { wrapupCode: 'x' } });
			expect(again).toEqual(created);
			expect(await store.getRecording('genesys-cloud:conv-1:missing')).toBeUndefined();
		});

		it('compare-and-swap update applies once; a stale version is refused', async () => {
			const store = await target.fresh();
			const created = await store.upsertRecording(recording);
			const staged = await store.updateRecording(recording.stateKey, created.version, {
				stage: 'staged',
				ref: { ...ref, durationSec: 42 },
			});
			expect(staged).toMatchObject({ stage: 'staged', version: 2, lmsAssetId: null });
			expect(staged?.ref.durationSec).toBe(42);

			expect(await store.updateRecording(recording.stateKey, created.version, { stage: 'failed' })).toBeUndefined();
			expect(await store.getRecording(recording.stateKey)).toEqual(staged);

			const pushed = await store.updateRecording(recording.stateKey, 2, { lmsAssetId: 'asset-9' });
			expect(pushed).toMatchObject({ stage: 'staged', lmsAssetId: 'asset-9', version: 3 });
			expect(pushed?.ref).toEqual(staged?.ref);
			expect(await store.updateRecording(recording.stateKey, 3, { lmsAssetId: null })).toMatchObject({
				lmsAssetId: null,
				version: 4,
			});
			expect(await store.updateRecording('genesys-cloud:none:none', 1, { stage: 'staged' })).toBeUndefined();
		});

		it('two connections racing compare-and-swap updates: exactly one wins each round', async () => {
			const a = await target.fresh();
			const b = await target.peer();
			await a.upsertRecording(recording);
			for (let version = 1; version <= 20; version++) {
				const results = await Promise.all([
					a.updateRecording(recording.stateKey, version, { stage: 'staging' }),
					b.updateRecording(recording.stateKey, version, { stage: 'failed' }),
				]);
				expect(results.filter((row) => row !== undefined)).toHaveLength(1);
			}
			expect((await b.getRecording(recording.stateKey))?.version).toBe(21);
		});

		it('lists the recordings of one conversation in the order they were created', async () => {
			const store = await target.fresh();
			const add = (conversationId: string, recordingId: string) =>
				store.upsertRecording({
					...recording,
					conversationId,
					recordingId,
					stateKey: `genesys-cloud:${conversationId}:${recordingId}`,
					ref: { ...ref, conversationId, recordingId },
				});
			await add('conv-1', 'rec-b');
			await add('conv-2', 'rec-x');
			const second = await add('conv-1', 'rec-a');
			await add('conv-1', 'rec-c');
			// An update of an older row does not move it.
			await store.updateRecording(second.stateKey, 1, { stage: 'staged' });
			const listed = await store.listRecordingsByConversation('conv-1');
			expect(listed.map((row) => row.recordingId)).toEqual(['rec-b', 'rec-a', 'rec-c']);
			expect(listed[1]).toMatchObject({ stage: 'staged', version: 2 });
			expect(listed[0].ref.recordingId).toBe('rec-b');
			expect(await store.listRecordingsByConversation('conv-none')).toEqual([]);
		});

		it('round-trips JSON of refs and payloads', async () => {
			const store = await target.fresh();
			const rich: Partial<RecordingRef> = {
				...ref,
				object: {
					bucket: 'b',
					key: 'recordings/genesys-cloud/conv-1/rec-1/original.webm',
					size: 123456789,
					sha256: 'ab'.repeat(32),
					contentType: 'video/webm',
				},
				pii: {
					verdict: 'found',
					findings: [{ type: 'card-number', atSec: 12.5, box: [1, 2, 3, 4], confidence: 0.97 }],
				},
				taxonomy: { tags: ['"quoted"', 'emoji 🎧', 'line\nbreak'], visibility: 'private', remedialModuleIds: [] },
			};
			await store.upsertRecording({ ...recording, ref: rich });
			expect((await store.getRecording(recording.stateKey))?.ref).toEqual(rich);
			const payload = { nested: { list: [1, 2.5, -3, null, true, 'ü'] }, empty: {}, array: [[1], []] };
			await store.addDeadLetter({ node: 'n', error: 'e', payload });
			expect((await store.listDeadLetters())[0].payload).toEqual(payload);
		});
	});

	describe(`${label}: idempotency keys`, () => {
		it('claims an idempotency key once', async () => {
			const store = await target.fresh();
			expect(await store.hasIdempotencyKey('lms:push:asset-1')).toBe(false);
			expect(await store.claimIdempotencyKey('lms:push:asset-1', 'lms-push')).toBe(true);
			expect(await store.claimIdempotencyKey('lms:push:asset-1', 'lms-push')).toBe(false);
			expect(await store.claimIdempotencyKey('lms:push:asset-1', 'other-scope')).toBe(false);
			expect(await store.hasIdempotencyKey('lms:push:asset-1')).toBe(true);
		});

		it('two connections racing for the same keys: each key is won exactly once', async () => {
			const a = await target.fresh();
			const b = await target.peer();
			const keys = Array.from({ length: 40 }, (_, index) => `assign:agent-1:module-${index}`);
			const results = await Promise.all(
				keys.flatMap((key) => [a.claimIdempotencyKey(key, 'assign'), b.claimIdempotencyKey(key, 'assign')]),
			);
			for (let index = 0; index < keys.length; index++) {
				expect([results[2 * index], results[2 * index + 1]].filter(Boolean)).toHaveLength(1);
			}
		});
	});

	describe(`${label}: dead letters`, () => {
		it('adds, lists, gets and marks dead letters replayed', async () => {
			const store = await target.fresh();
			const first = await store.addDeadLetter({
				stateKey: recording.stateKey,
				node: 'LMS Push',
				error: 'HTTP 503 from LMS',
				payload: { attempt: 3, ref },
			});
			const second = await store.addDeadLetter({ node: 'Media Probe', error: 'ffprobe exited 1', payload: null });
			const third = await store.addDeadLetter({ node: 'PII Scan', error: 'timeout', payload: ['a', 1] });
			expect(second).toBeGreaterThan(first);

			const pending = await store.listDeadLetters();
			expect(pending.map((entry) => entry.id)).toEqual([first, second, third]);
			expect(pending[0]).toMatchObject({
				id: first,
				stateKey: recording.stateKey,
				node: 'LMS Push',
				error: 'HTTP 503 from LMS',
				payload: { attempt: 3, ref },
				replayedAt: null,
			});
			expect(pending[1]).toMatchObject({ stateKey: null, payload: null });
			expect(pending[2].payload).toEqual(['a', 1]);

			expect(await store.getDeadLetter(third)).toEqual(pending[2]);
			expect(await store.getDeadLetter(third + 1000)).toBeUndefined();

			await store.markDeadLetterReplayed(second);
			expect((await store.listDeadLetters()).map((entry) => entry.id)).toEqual([first, third]);
			const all = await store.listDeadLetters({ includeReplayed: true });
			expect(all.map((entry) => entry.id)).toEqual([first, second, third]);
			const replayed = await store.getDeadLetter(second);
			expect(replayed?.replayedAt).not.toBeNull();
			expect(Date.parse(replayed?.replayedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(replayed?.createdAt ?? ''));
			expect((await store.listDeadLetters({ limit: 1 })).map((entry) => entry.id)).toEqual([first]);
			expect((await store.listDeadLetters({ afterId: first })).map((entry) => entry.id)).toEqual([third]);
			const byNode = (node: string) => store.listDeadLetters({ node, includeReplayed: true }).then((list) => list.map((entry) => entry.id));
			expect(await byNode('LMS Push')).toEqual([first]);
			expect(await byNode('PII Scan')).toEqual([third]);
			expect(await byNode('No Such Node')).toEqual([]);
			await expect(store.markDeadLetterReplayed(9999)).rejects.toThrow('Dead letter 9999 does not exist');
		});

		it('stores a dead letter whose payload is not plain JSON', async () => {
			const store = await target.fresh();
			const payload: Record<string, unknown> = { size: BigInt(10) ** BigInt(20) };
			payload.self = payload;
			const id = await store.addDeadLetter({ node: 'Stage', error: 'boom', payload });
			expect((await store.getDeadLetter(id))?.payload).toEqual({
				size: '100000000000000000000',
				self: '[Circular]',
			});
		});
	});

	describe(`${label}: evaluations`, () => {
		it('stores a new evaluation with normalized instants', async () => {
			const store = await target.fresh();
			const result = await store.putEvaluation(
				evaluation('ev-1', '2025-03-01T10:00:00Z', { evaluatedAt: '2025-03-01T11:30:00+01:00' }),
			);
			expect(result.applied).toBe(true);
			expect(result.stored).toMatchObject({
				evaluationId: 'ev-1',
				source: 'genesys-cloud',
				conversationId: 'conv-1',
				agentId: 'agent-7',
				stateKey: null,
				revision: '2025-03-01T10:00:00.000Z',
				evaluatedAt: '2025-03-01T10:30:00.000Z',
				payload: { id: 'ev-1', revision: '2025-03-01T10:00:00Z', totalScore: 80 },
			});
			expect(Number.isNaN(Date.parse(result.stored.receivedAt))).toBe(false);
			expect(await store.getEvaluation('ev-1')).toEqual(result.stored);
			expect(await store.getEvaluation('ev-missing')).toBeUndefined();
		});

		it('a duplicate (same revision, any spelling) changes nothing', async () => {
			const store = await target.fresh();
			const first = await store.putEvaluation(evaluation('ev-1', '2025-03-01T10:00:00.000Z'));
			for (const spelling of ['2025-03-01T10:00:00.000Z', '2025-03-01T10:00:00Z', '2025-03-01T11:00:00+01:00']) {
				const duplicate = await store.putEvaluation(
					evaluation('ev-1', spelling, { payload: { changed: true }, agentId: 'agent-other' }),
				);
				expect(duplicate.applied).toBe(false);
				expect(duplicate.stored).toEqual(first.stored);
			}
			expect((await store.getEvaluation('ev-1'))?.payload).toEqual(first.stored.payload);
		});

		it('a newer revision replaces the stored one and keeps what it omits', async () => {
			const store = await target.fresh();
			await store.putEvaluation(evaluation('ev-1', '2025-03-01T10:00:00.000Z', { evaluatedAt: '2025-03-01T10:05:00Z' }));
			await store.linkEvaluation('ev-1', recording.stateKey);
			const newer = await store.putEvaluation({
				evaluationId: 'ev-1',
				source: 'genesys-cloud',
				conversationId: 'conv-1',
				revision: '2025-03-02T09:00:00.000Z',
				payload: { totalScore: 55 },
			});
			expect(newer.applied).toBe(true);
			expect(newer.stored).toMatchObject({
				revision: '2025-03-02T09:00:00.000Z',
				payload: { totalScore: 55 },
				agentId: 'agent-7',
				stateKey: recording.stateKey,
				evaluatedAt: '2025-03-01T10:05:00.000Z',
			});
			const reassigned = await store.putEvaluation(
				evaluation('ev-1', '2025-03-03T09:00:00.000Z', { agentId: 'agent-8', stateKey: 'genesys-cloud:conv-1:rec-2' }),
			);
			expect(reassigned.stored).toMatchObject({ agentId: 'agent-8', stateKey: 'genesys-cloud:conv-1:rec-2' });
		});

		it('out-of-order deliveries leave the latest revision', async () => {
			const store = await target.fresh();
			const r1 = '2025-03-01T10:00:00.000Z';
			const r2 = '2025-03-01T10:00:00.001Z';
			const r3 = '2025-03-02T08:00:00.000Z';
			expect((await store.putEvaluation(evaluation('ev-1', r3))).applied).toBe(true);
			const older = await store.putEvaluation(evaluation('ev-1', r1));
			expect(older.applied).toBe(false);
			expect(older.stored.revision).toBe(r3);
			expect((await store.putEvaluation(evaluation('ev-1', r2))).applied).toBe(false);
			expect(await store.getEvaluation('ev-1')).toMatchObject({ revision: r3, payload: { revision: r3 } });
			// Non-ISO revisions compare as text.
			expect((await store.putEvaluation(evaluation('ev-2', 'rev-0002'))).applied).toBe(true);
			expect((await store.putEvaluation(evaluation('ev-2', 'rev-0001'))).applied).toBe(false);
			expect((await store.putEvaluation(evaluation('ev-2', 'rev-0010'))).applied).toBe(true);
		});

		it('refuses evaluations without a revision or with an invalid evaluatedAt', async () => {
			const store = await target.fresh();
			await expect(store.putEvaluation(evaluation('ev-1', ''))).rejects.toThrow('revision');
			await expect(
				store.putEvaluation(evaluation('ev-1', '2025-03-01T10:00:00Z', { evaluatedAt: 'yesterday' })),
			).rejects.toThrow('evaluatedAt');
			expect(await store.getEvaluation('ev-1')).toBeUndefined();
		});

		it('links an evaluation to its recording; linking an unknown one is refused', async () => {
			const store = await target.fresh();
			await store.putEvaluation(evaluation('ev-1', '2025-03-01T10:00:00Z'));
			await store.linkEvaluation('ev-1', recording.stateKey);
			expect((await store.getEvaluation('ev-1'))?.stateKey).toBe(recording.stateKey);
			await expect(store.linkEvaluation('ev-missing', recording.stateKey)).rejects.toThrow('does not exist');
		});

		it('lists by conversation (oldest first) and by agent (newest first, limited)', async () => {
			const store = await target.fresh();
			await store.putEvaluation(evaluation('ev-c', 'r1', { evaluatedAt: '2025-03-03T00:00:00Z' }));
			await store.putEvaluation(evaluation('ev-a', 'r1', { evaluatedAt: '2025-03-01T00:00:00Z' }));
			await store.putEvaluation(evaluation('ev-none', 'r1'));
			await store.putEvaluation(evaluation('ev-b', 'r1', { evaluatedAt: '2025-03-02T00:00:00Z' }));
			// Same evaluatedAt as ev-b but a later revision: newer by the tie-breaker.
			await store.putEvaluation(evaluation('ev-b2', 'r9', { evaluatedAt: '2025-03-02T00:00:00Z' }));
			await store.putEvaluation(
				evaluation('ev-x', 'r1', { conversationId: 'conv-2', agentId: 'agent-8', evaluatedAt: '2025-03-05T00:00:00Z' }),
			);

			expect((await store.listEvaluationsByConversation('conv-1')).map((row) => row.evaluationId)).toEqual([
				'ev-a',
				'ev-b',
				'ev-b2',
				'ev-c',
				'ev-none',
			]);
			expect((await store.listEvaluationsByConversation('conv-2')).map((row) => row.evaluationId)).toEqual(['ev-x']);
			expect(await store.listEvaluationsByConversation('conv-none')).toEqual([]);

			expect((await store.listEvaluationsByAgent('agent-7', 10)).map((row) => row.evaluationId)).toEqual([
				'ev-c',
				'ev-b2',
				'ev-b',
				'ev-a',
				'ev-none',
			]);
			expect((await store.listEvaluationsByAgent('agent-7', 2)).map((row) => row.evaluationId)).toEqual([
				'ev-c',
				'ev-b2',
			]);
			expect((await store.listEvaluationsByAgent('agent-8', 10)).map((row) => row.evaluationId)).toEqual(['ev-x']);
			expect(await store.listEvaluationsByAgent('agent-none', 10)).toEqual([]);
		});

		it('two connections delivering different revisions at once leave the newest', async () => {
			const a = await target.fresh();
			const b = await target.peer();
			const older = '2025-03-01T10:00:00.000Z';
			const newer = '2025-03-01T10:00:01.000Z';
			const rounds = Array.from({ length: 20 }, (_, index) => `ev-race-${index}`);
			const results = await Promise.all(
				rounds.map((id, index) =>
					index % 2 === 0
						? Promise.all([a.putEvaluation(evaluation(id, older)), b.putEvaluation(evaluation(id, newer))])
						: Promise.all([b.putEvaluation(evaluation(id, newer)), a.putEvaluation(evaluation(id, older))]),
				),
			);
			for (const [index, id] of rounds.entries()) {
				const pair = results[index];
				const newerResult = index % 2 === 0 ? pair[1] : pair[0];
				expect(newerResult.applied).toBe(true);
				expect(await a.getEvaluation(id)).toMatchObject({ revision: newer, payload: { revision: newer } });
			}
		});
	});

	describe(`${label}: assignment claims`, () => {
		it('claims, finds its own claim again, and records every field', async () => {
			const store = await target.fresh();
			const first = await store.claimAssignment(
				claimAt(0, {
					claimKey: 'ev-1:module-a',
					agentId: 'agent-7',
					moduleId: 'module-a',
					evaluationId: 'ev-1',
					dueDate: '2025-03-17',
				}),
			);
			expect(first).toEqual({
				outcome: 'claimed',
				claim: {
					claimKey: 'ev-1:module-a',
					agentId: 'agent-7',
					moduleId: 'module-a',
					evaluationId: 'ev-1',
					status: 'claimed',
					targetAssignmentId: null,
					dueDate: '2025-03-17',
					createdAt: at(0),
					updatedAt: at(0),
				},
			});
			expect(await store.getAssignment('ev-1:module-a')).toEqual(first.outcome === 'claimed' && first.claim);
			expect(await store.getAssignment('missing')).toBeUndefined();

			// A retry with the same key finds its claim, although the window would block anything else.
			const retry = await store.claimAssignment(
				claimAt(HOUR, { claimKey: 'ev-1:module-a', agentId: 'agent-7', moduleId: 'module-a' }),
			);
			expect(retry).toEqual({ outcome: 'existing', claim: (first as { claim: unknown }).claim });
		});

		it('the agent window blocks any module; other agents and older claims do not', async () => {
			const store = await target.fresh();
			await store.claimAssignment(claimAt(0, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a' }));

			const blocked = await store.claimAssignment(
				claimAt(2 * DAY, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' }),
			);
			expect(blocked.outcome).toBe('recent_assignment');
			expect(blocked.outcome === 'recent_assignment' && blocked.blocking.claimKey).toBe('k1');
			expect(await store.getAssignment('k2')).toBeUndefined();

			expect(
				(await store.claimAssignment(claimAt(2 * DAY, { claimKey: 'k3', agentId: 'agent-8', moduleId: 'module-b' })))
					.outcome,
			).toBe('claimed');

			// "Newer than the window start" is strict: a claim made exactly at the start no longer blocks …
			const edge = await store.claimAssignment({
				claimKey: 'k4',
				agentId: 'agent-7',
				moduleId: 'module-b',
				agentWindowStart: at(0),
				moduleCooldownStart: at(0),
				now: at(7 * DAY),
			});
			expect(edge.outcome).toBe('claimed');
			// … one millisecond later it does, and the newest blocking claim is named.
			const inside = await store.claimAssignment({
				claimKey: 'k5',
				agentId: 'agent-7',
				moduleId: 'module-c',
				agentWindowStart: at(-1),
				moduleCooldownStart: at(-1),
				now: at(7 * DAY + 1),
			});
			expect(inside.outcome === 'recent_assignment' && inside.blocking.claimKey).toBe('k4');
		});

		it('the module cooldown blocks the same module after the window has passed', async () => {
			const store = await target.fresh();
			await store.claimAssignment(claimAt(0, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a' }));
			const again = await store.claimAssignment(
				claimAt(10 * DAY, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-a' }),
			);
			expect(again.outcome).toBe('cooldown');
			expect(again.outcome === 'cooldown' && again.blocking).toMatchObject({ claimKey: 'k1', moduleId: 'module-a' });

			// Another module for the same agent is fine once the window has passed.
			const other = await store.claimAssignment(
				claimAt(10 * DAY, { claimKey: 'k3', agentId: 'agent-7', moduleId: 'module-b' }),
			);
			expect(other.outcome).toBe('claimed');
			// After the cooldown, the module may be assigned again.
			const later = await store.claimAssignment(
				claimAt(31 * DAY, { claimKey: 'k4', agentId: 'agent-7', moduleId: 'module-a' }),
			);
			expect(later.outcome).toBe('claimed');
		});

		it('approval_pending and assigned claims block; failed claims do not', async () => {
			const store = await target.fresh();
			const pending = await store.claimAssignment(
				claimAt(0, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a', status: 'approval_pending' }),
			);
			expect(pending.outcome === 'claimed' && pending.claim.status).toBe('approval_pending');
			expect(
				(await store.claimAssignment(claimAt(HOUR, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' })))
					.outcome,
			).toBe('recent_assignment');

			await store.updateAssignment('k1', { status: 'assigned', targetAssignmentId: 'lms-1' });
			expect(
				(await store.claimAssignment(claimAt(HOUR, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' })))
					.outcome,
			).toBe('recent_assignment');

			await store.updateAssignment('k1', { status: 'failed' });
			expect(
				(await store.claimAssignment(claimAt(HOUR, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' })))
					.outcome,
			).toBe('claimed');
		});

		it('a failed claim is revived by a replay with the same key, unless something newer blocks it', async () => {
			const store = await target.fresh();
			await store.claimAssignment(
				claimAt(0, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a', evaluationId: 'ev-1', dueDate: '2025-03-17' }),
			);
			await store.updateAssignment('k1', { status: 'assigned', targetAssignmentId: 'lms-1' });
			await store.updateAssignment('k1', { status: 'failed' });

			const revived = await store.claimAssignment(
				claimAt(2 * HOUR, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a', dueDate: '2025-03-20' }),
			);
			expect(revived.outcome).toBe('claimed');
			expect(revived.outcome === 'claimed' && revived.claim).toEqual({
				claimKey: 'k1',
				agentId: 'agent-7',
				moduleId: 'module-a',
				evaluationId: 'ev-1',
				status: 'claimed',
				targetAssignmentId: null,
				dueDate: '2025-03-20',
				createdAt: at(2 * HOUR),
				updatedAt: at(2 * HOUR),
			});
			expect(await store.listAssignmentsByAgent('agent-7', at(-DAY))).toHaveLength(1);
			// Revived, it blocks again from its new creation time.
			expect(
				(await store.claimAssignment(claimAt(3 * HOUR, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' })))
					.outcome,
			).toBe('recent_assignment');

			// A failed claim whose agent got another assignment meanwhile stays failed.
			await store.updateAssignment('k1', { status: 'failed' });
			await store.claimAssignment(claimAt(4 * HOUR, { claimKey: 'k3', agentId: 'agent-7', moduleId: 'module-c' }));
			const blocked = await store.claimAssignment(
				claimAt(5 * HOUR, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a' }),
			);
			expect(blocked.outcome === 'recent_assignment' && blocked.blocking.claimKey).toBe('k3');
			expect((await store.getAssignment('k1'))?.status).toBe('failed');
		});

		it('updates a claim, keeping what the patch omits', async () => {
			const store = await target.fresh();
			await store.claimAssignment(
				claimAt(-DAY, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a', dueDate: '2025-03-17' }),
			);
			const assigned = await store.updateAssignment('k1', {
				status: 'assigned',
				targetAssignmentId: 'lms-assignment-1',
				dueDate: '2025-03-18',
			});
			expect(assigned).toMatchObject({
				status: 'assigned',
				targetAssignmentId: 'lms-assignment-1',
				dueDate: '2025-03-18',
				createdAt: at(-DAY),
			});
			expect(Date.parse(assigned?.updatedAt ?? '')).toBeGreaterThan(Date.parse(assigned?.createdAt ?? ''));
			const failed = await store.updateAssignment('k1', { status: 'failed' });
			expect(failed).toMatchObject({ status: 'failed', targetAssignmentId: 'lms-assignment-1', dueDate: '2025-03-18' });
			expect(await store.getAssignment('k1')).toEqual(failed);
			expect(await store.updateAssignment('missing', { status: 'assigned' })).toBeUndefined();
			await expect(
				store.updateAssignment('k1', { status: 'done' as unknown as 'assigned' }),
			).rejects.toThrow('Unknown assignment status');
		});

		it("lists an agent's claims since an instant, newest first", async () => {
			const store = await target.fresh();
			await store.claimAssignment(claimAt(0, { claimKey: 'k1', agentId: 'agent-7', moduleId: 'module-a' }));
			await store.updateAssignment('k1', { status: 'failed' });
			await store.claimAssignment(claimAt(DAY, { claimKey: 'k2', agentId: 'agent-7', moduleId: 'module-b' }));
			await store.claimAssignment(claimAt(DAY, { claimKey: 'k3', agentId: 'agent-8', moduleId: 'module-b' }));
			await store.claimAssignment(claimAt(8 * DAY, { claimKey: 'k4', agentId: 'agent-7', moduleId: 'module-c' }));

			expect((await store.listAssignmentsByAgent('agent-7', at(0))).map((claim) => claim.claimKey)).toEqual([
				'k4',
				'k2',
				'k1',
			]);
			// Inclusive of the instant, in any spelling of it.
			expect(
				(await store.listAssignmentsByAgent('agent-7', '2025-03-11T13:00:00+01:00')).map((claim) => claim.claimKey),
			).toEqual(['k4', 'k2']);
			expect(await store.listAssignmentsByAgent('agent-7', at(9 * DAY))).toEqual([]);
			expect(await store.listAssignmentsByAgent('agent-none', at(0))).toEqual([]);
		});

		it('refuses claims with invalid instants or statuses', async () => {
			const store = await target.fresh();
			await expect(
				store.claimAssignment({ ...claimAt(0, { claimKey: 'k1', agentId: 'a', moduleId: 'm' }), agentWindowStart: 'last week' }),
			).rejects.toThrow('agentWindowStart');
			await expect(
				store.claimAssignment({ ...claimAt(0, { claimKey: 'k1', agentId: 'a', moduleId: 'm' }), status: 'assigned' as never }),
			).rejects.toThrow('claimed');
			await expect(store.claimAssignment(claimAt(0, { claimKey: '', agentId: 'a', moduleId: 'm' }))).rejects.toThrow(
				'claimKey',
			);
			expect(await store.listAssignmentsByAgent('a', at(-DAY))).toEqual([]);
		});

		it('two connections racing claims for one agent: exactly one is claimed', async () => {
			const a = await target.fresh();
			const b = await target.peer();
			for (let round = 0; round < 10; round++) {
				const agentId = `agent-${round}`;
				const racers = Array.from({ length: 8 }, (_, index) =>
					(index % 2 === 0 ? a : b).claimAssignment(
						claimAt(0, { claimKey: `${agentId}:module-${index}`, agentId, moduleId: `module-${index}` }),
					),
				);
				const results = await Promise.all(racers);
				expect(outcomes(results)).toEqual({ claimed: 1, recent_assignment: 7 });
				const winner = results.find((result) => result.outcome === 'claimed');
				for (const result of results) {
					if (result.outcome === 'recent_assignment') {
						expect(result.blocking).toEqual(winner?.outcome === 'claimed' && winner.claim);
					}
				}
				expect(await b.listAssignmentsByAgent(agentId, at(-DAY))).toHaveLength(1);
			}
		});

		it('two connections racing the same claim key: one claimed, the others find it', async () => {
			const a = await target.fresh();
			const b = await target.peer();
			const request = claimAt(0, { claimKey: 'ev-1:module-a', agentId: 'agent-7', moduleId: 'module-a' });
			const results = await Promise.all(
				Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? a : b).claimAssignment(request)),
			);
			expect(outcomes(results)).toEqual({ claimed: 1, existing: 7 });
			const stored = await a.getAssignment('ev-1:module-a');
			for (const result of results) {
				expect('claim' in result ? result.claim : result.blocking).toEqual(stored);
			}
		});
	});
}
