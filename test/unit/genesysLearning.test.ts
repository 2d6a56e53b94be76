import { clearGenesysTokenCache } from '../../nodes/shared/ccaas/genesys/client';
import { GenesysLearningAdapter, mapGenesysAssignmentState, parseMarker } from '../../nodes/shared/lms/genesysLearning';
import type { AssignmentRequest, FinalAsset, PlaceholderAsset } from '../../nodes/shared/lms/types';
import type { RecordingRef } from '../../nodes/shared/recordingRef';
import { startGenesysSimulator, type GenesysSimulator, type LearningSimOptions } from '../simulators/genesysCloud';
import { rejection, simulatorGenesysClient } from '../support/genesys';

const USER = 'user-ada';

function refFor(recordingId: string, overrides: Partial<RecordingRef> = {}): RecordingRef {
	return {
		source: 'genesys-cloud',
		conversationId: 'conv-1',
		recordingId,
		agent: { id: USER, name: 'Ada Lovelace' },
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
		visibility: 'public',
	};
}

function assignment(moduleId: string, assignmentId = 'asg-1', dueAt = new Date(Date.now() + 7 * 86_400_000).toISOString()): AssignmentRequest {
	return {
		assignmentId,
		agent: { id: USER },
		moduleId,
		dueDate: dueAt.slice(0, 10),
		dueAt,
		evaluationId: 'eval-1',
		conversationId: 'conv-1',
		reason: 'Failed critical question',
	};
}

describe('Genesys Cloud Learning target', () => {
	let sim: GenesysSimulator;
	let lms: GenesysLearningAdapter;

	async function restart(learning: LearningSimOptions = {}): Promise<void> {
		await sim?.close();
		sim = await startGenesysSimulator({ learning });
		clearGenesysTokenCache();
		lms = new GenesysLearningAdapter(simulatorGenesysClient(sim));
	}

	beforeEach(() => restart());
	afterAll(() => sim.close());

	const requests = (key: string) => sim.stats.byPath[key] ?? 0;

	describe('modules', () => {
		it('creates and publishes a private module once; a retry finds it', async () => {
			const first = await lms.pushPlaceholder(placeholder('rec-1'));
			expect(first).toMatchObject({ target: 'genesys-learning', created: true, stage: 'placeholder' });
			const again = await lms.pushPlaceholder(placeholder('rec-1'));
			expect(again).toMatchObject({ created: false, assetId: first.assetId });

			const modules = sim.learning.modules();
			expect(modules).toHaveLength(1);
			expect(modules[0]).toMatchObject({
				id: first.assetId,
				name: 'Billing call rec-1',
				externalId: 'genesys-cloud:conv-1:rec-1',
				completionTimeInDays: 7,
				isPublished: true,
				excludedFromCatalog: true,
				informSteps: [{ type: 'Url', name: 'Billing call rec-1', value: 'https://player.example.com/r/rec-1', order: 0 }],
			});
			expect(parseMarker(modules[0].description)).toEqual({ stage: 'placeholder', status: 'pending_review', visibility: 'private' });
			expect(sim.learning.stats).toMatchObject({ moduleCreates: 1, publishes: 1 });
			expect(requests('GET /api/v2/learning/modules')).toBeGreaterThanOrEqual(2);
		});

		it('two concurrent first pushes leave one module (Genesys does not refuse a duplicate externalId here)', async () => {
			const results = await Promise.all([lms.pushPlaceholder(placeholder('rec-2')), lms.pushPlaceholder(placeholder('rec-2'))]);
			// Both looked before either created: the race really happened, and the later module was removed.
			expect(sim.learning.stats.moduleCreates).toBe(2);
			expect(sim.stats.byPath[`DELETE /api/v2/learning/modules/${results[0].assetId}`]).toBeUndefined();
			expect(sim.learning.modules()).toHaveLength(1);
			expect(results[0].assetId).toBe(results[1].assetId);
			expect(results.filter((r) => r.created)).toHaveLength(1);
			expect(results.find((r) => r.created)?.assetId).toBe(sim.learning.modules()[0].id);
		});

		it('treats a 409 on create as the existing module', async () => {
			await restart({ duplicateExternalId: 'reject' });
			let winner = '';
			sim.learning.beforeNextModuleCreate((body) => {
				winner = sim.learning.seedModule({ name: 'written by a concurrent worker', externalId: String(body.externalId), excludedFromCatalog: true }).id;
			});
			const result = await lms.pushPlaceholder(placeholder('rec-3'));
			expect(result).toMatchObject({ created: false, assetId: winner });
			expect(sim.learning.modules()).toHaveLength(1);
			expect(sim.stats.byStatus['409']).toBe(1);
		});

		it('updates and republishes the module with the final asset, and never downgrades it', async () => {
			const stage1 = await lms.pushPlaceholder(placeholder('rec-4'));
			const stage2 = await lms.pushFinal(final('rec-4', '2025-03-05T09:00:00.000Z', 82));
			expect(stage2).toMatchObject({ assetId: stage1.assetId, created: false, stage: 'final' });
			const module = sim.learning.modules()[0];
			expect(module).toMatchObject({ version: 2, isPublished: true, excludedFromCatalog: false, publishCount: 2 });
			expect(module.description).toContain('Score: 82/100');
			expect(parseMarker(module.description)).toMatchObject({ stage: 'final', status: 'published', revision: '2025-03-05T09:00:00.000Z', evaluationId: 'eval-1', score: 82, visibility: 'public' });

			const late = await lms.pushPlaceholder(placeholder('rec-4'));
			expect(late).toMatchObject({ created: false, stage: 'final' });
			expect(sim.learning.stats.moduleUpdates).toBe(1);

			await expect(lms.findAsset(refFor('rec-4'))).resolves.toEqual({
				assetId: stage1.assetId,
				stage: 'final',
				revision: '2025-03-05T09:00:00.000Z',
				evaluationId: 'eval-1',
				visibility: 'public',
				statementIds: [],
			});
			await expect(lms.findAsset(refFor('rec-none'))).resolves.toBeUndefined();
		});

		it('ignores a stale revision and applies a newer one', async () => {
			await lms.pushFinal(final('rec-5', '2025-03-05T10:00:00.000Z', 60));
			const older = await lms.pushFinal(final('rec-5', '2025-03-05T09:00:00.000Z', 99));
			expect(older).toMatchObject({ created: false });
			expect(older.details).toMatchObject({ stale: true, storedRevision: '2025-03-05T10:00:00.000Z' });
			expect((await lms.pushFinal(final('rec-5', '2025-03-05T10:00:00.000Z', 99))).details.stale).toBe(true);
			expect(sim.learning.stats.moduleUpdates).toBe(0);
			expect(parseMarker(sim.learning.modules()[0].description)?.score).toBe(60);

			await lms.pushFinal(final('rec-5', '2025-03-05T11:00:00.000Z', 70));
			expect(sim.learning.stats.moduleUpdates).toBe(1);
			expect(parseMarker(sim.learning.modules()[0].description)).toMatchObject({ score: 70, revision: '2025-03-05T11:00:00.000Z' });
		});

		it('keeps the module out of the catalog when the PII scan was not clean', async () => {
			const result = await lms.pushFinal(final('rec-6', '2025-03-05T09:00:00.000Z', 90, { pii: { verdict: 'found', findings: [] } }));
			expect(result.stage).toBe('quarantined');
			expect(sim.learning.modules()[0]).toMatchObject({ excludedFromCatalog: true, isPublished: true });
		});

		it('retracts: out of the catalog, score removed; the retracted evaluation cannot come back', async () => {
			const pushed = await lms.pushFinal(final('rec-7', '2025-03-05T09:00:00.000Z', 95));
			const retracted = await lms.retractEvaluation(placeholder('rec-7'), 'eval-1', '2025-03-06T09:00:00.000Z');
			expect(retracted).toMatchObject({ assetId: pushed.assetId, created: false, stage: 'placeholder' });
			const module = sim.learning.modules()[0];
			expect(module).toMatchObject({ excludedFromCatalog: true, isPublished: true });
			expect(module.description).not.toContain('Score');
			expect(parseMarker(module.description)).toEqual({ stage: 'placeholder', status: 'evaluation_retracted', visibility: 'private', revision: '2025-03-06T09:00:00.000Z', evaluationId: 'eval-1' });

			expect((await lms.pushFinal(final('rec-7', '2025-03-05T09:00:00.000Z', 95))).details.stale).toBe(true);
			expect((await lms.retractEvaluation(placeholder('rec-7'), 'eval-1', '2025-03-06T09:00:00.000Z')).details.stale).toBe(true);
			expect(sim.learning.modules()[0].excludedFromCatalog).toBe(true);
			await expect(lms.findAsset(refFor('rec-7'))).resolves.toMatchObject({ visibility: 'private', revision: '2025-03-06T09:00:00.000Z' });
		});

		it('retries a 429 after its Retry-After and a 500 on publish', async () => {
			sim.setFault({ path: '/api/v2/learning/modules', method: 'GET', status: 429, retryAfterSec: 1 });
			sim.setFault({ path: '/api/v2/learning/modules/*/publish', method: 'POST', status: 500 });
			const started = Date.now();
			const result = await lms.pushPlaceholder(placeholder('rec-8'));
			expect(Date.now() - started).toBeGreaterThanOrEqual(950);
			expect(result.created).toBe(true);
			expect(sim.stats.byStatus).toMatchObject({ '429': 1, '500': 1 });
			expect(sim.learning.modules()[0].isPublished).toBe(true);
		});

		it('reports a refused client secret without the secret', async () => {
			const secret = 'not-the-secret-5c4b3a29';
			const wrong = new GenesysLearningAdapter(simulatorGenesysClient(sim, { clientSecret: secret }));
			const error = await rejection(wrong.pushPlaceholder(placeholder('rec-9')));
			expect(error.message).toMatch(/HTTP 401/);
			expect(error.message).not.toContain(secret);
			expect(JSON.stringify(error)).not.toContain(secret);
			expect(sim.learning.modules()).toHaveLength(0);
		});
	});

	describe('assignments', () => {
		let remedial: string;
		beforeEach(() => {
			remedial = sim.learning.seedModule({ name: 'Refund policy refresher' }).id;
		});

		it('assigns once: a retry finds the assignment instead of creating another', async () => {
			const request = assignment(remedial);
			const first = await lms.assign(request);
			expect(first).toMatchObject({ created: true, state: 'assigned' });
			expect(first.details).toMatchObject({ requestedAssignmentId: 'asg-1', genesysState: 'Assigned' });
			const again = await lms.assign(request);
			expect(again).toMatchObject({ created: false, state: 'assigned', assignmentId: first.assignmentId });
			const stored = sim.learning.assignments();
			expect(stored).toHaveLength(1);
			expect(stored[0]).toMatchObject({ user: { id: USER }, module: { id: remedial }, dateRecommendedForCompletion: request.dueAt });
			expect(sim.learning.stats.assignmentCreates).toBe(1);
		});

		it.each([
			['InProgress', 'started'],
			['Completed', 'completed'],
		] as const)('never reassigns a module in state %s', async (genesysState, state) => {
			const first = await lms.assign(assignment(remedial, 'asg-a'));
			sim.learning.setAssignmentState(first.assignmentId, genesysState);
			const second = await lms.assign(assignment(remedial, 'asg-b'));
			expect(second).toMatchObject({ created: false, state, assignmentId: first.assignmentId });
			expect(second.details.reason).toBe(`module_${state}`);
			expect(sim.learning.assignments()).toHaveLength(1);
			expect(sim.learning.assignments()[0].state).toBe(genesysState);
		});

		it('assigns a completed module again only when allowed', async () => {
			const first = await lms.assign(assignment(remedial, 'asg-a'));
			sim.learning.setAssignmentState(first.assignmentId, 'Completed');
			const allowing = new GenesysLearningAdapter(simulatorGenesysClient(sim), { reassignCompleted: true });
			expect((await allowing.assign(assignment(remedial, 'asg-b'))).created).toBe(true);
			expect(sim.learning.assignments()).toHaveLength(2);
		});

		it('two concurrent assigns leave one assignment', async () => {
			const results = await Promise.all([lms.assign(assignment(remedial, 'asg-x')), lms.assign(assignment(remedial, 'asg-x'))]);
			const live = sim.learning.assignments().filter((a) => a.state !== 'Deleted');
			expect(sim.learning.stats.assignmentCreates).toBe(2);
			expect(live).toHaveLength(1);
			expect(results.map((r) => r.assignmentId)).toEqual([live[0].id, live[0].id]);
			expect(results.filter((r) => r.created)).toHaveLength(1);
		});

		it('lets another process change an assignment state through the control endpoint', async () => {
			const first = await lms.assign(assignment(remedial));
			const response = await fetch(`${sim.baseUrl}/__sim/learning/assignments/${first.assignmentId}/state`, { method: 'POST', body: JSON.stringify({ state: 'InProgress' }) });
			expect(response.status).toBe(204);
			const state = (await (await fetch(`${sim.baseUrl}/__sim/learning`)).json()) as { assignments: Array<{ state: string }> };
			expect(state.assignments[0].state).toBe('InProgress');
			expect((await lms.listAssignments({ id: USER }, new Date(Date.now() - 60_000).toISOString()))[0].state).toBe('started');
		});

		it('optionally assigns an External module opening the learning asset, once per asset, with the same due date', async () => {
			const url = 'https://player.example.com/recordings/conv-1';
			const linking = new GenesysLearningAdapter(simulatorGenesysClient(sim), { assetLinkUrl: url });
			const request = { ...assignment(remedial), assetId: 'asset-conv-1' };
			const first = await linking.assign(request);
			expect(first).toMatchObject({ created: true, state: 'assigned', details: { assetLinked: true, assetAssignmentCreated: true } });
			const links = sim.learning.modules().filter((module) => module.externalId === 'cx-asset-link:asset-conv-1');
			expect(links).toHaveLength(1);
			expect(links[0]).toMatchObject({ type: 'External', isPublished: true, excludedFromCatalog: true, informSteps: [{ type: 'Url', value: url, order: 0 }] });
			expect(first.details.assetModuleId).toBe(links[0].id);
			const stored = sim.learning.assignments();
			expect(stored.map((a) => a.module.id).sort()).toEqual([remedial, links[0].id].sort());
			expect(stored.every((a) => a.user.id === USER && a.dateRecommendedForCompletion === request.dueAt)).toBe(true);

			// A retry (or a second evaluation of the same contact) finds both and creates nothing.
			const again = await linking.assign(request);
			expect(again).toMatchObject({ created: false, assignmentId: first.assignmentId, details: { assetLinked: true, assetAssignmentCreated: false, assetAssignmentId: first.details.assetAssignmentId } });
			expect(sim.learning.modules().filter((module) => module.externalId === 'cx-asset-link:asset-conv-1')).toHaveLength(1);
			expect(sim.learning.assignments()).toHaveLength(2);
			// Without the option nothing is linked, and the result says so.
			expect((await lms.assign({ ...assignment(sim.learning.seedModule({ name: 'Other' }).id, 'asg-2'), assetId: 'asset-conv-1' })).details.assetLinked).toBe(false);
		});

		it('refuses a link address that is not http(s), naming the option, before creating anything', async () => {
			const linking = new GenesysLearningAdapter(simulatorGenesysClient(sim), { assetLinkUrl: 'javascript:alert(1)' });
			const modulesBefore = sim.learning.modules().length;
			await expect(linking.assign({ ...assignment(remedial), assetId: 'asset-x' })).rejects.toThrow(/Link Asset URL must be an http\(s\) address/);
			expect(sim.learning.modules()).toHaveLength(modulesBefore);
		});

		it('lists the agent’s assignments since an instant with their states', async () => {
			const other = sim.learning.seedModule({ name: 'Tone of voice' }).id;
			const third = sim.learning.seedModule({ name: 'Verification' }).id;
			const a = await lms.assign(assignment(remedial, 'a'));
			const b = await lms.assign(assignment(other, 'b'));
			const c = await lms.assign(assignment(third, 'c'));
			sim.learning.setAssignmentState(b.assignmentId, 'InProgress');
			sim.learning.setAssignmentState(c.assignmentId, 'NotCompleted');
			await new GenesysLearningAdapter(simulatorGenesysClient(sim)).assign({ ...assignment(remedial, 'z'), agent: { id: 'user-other' } });

			const listed = await lms.listAssignments({ id: USER }, new Date(Date.now() - 3600_000).toISOString());
			expect(listed.map((x) => [x.assignmentId, x.moduleId, x.state]).sort()).toEqual(
				[
					[a.assignmentId, remedial, 'assigned'],
					[b.assignmentId, other, 'started'],
					[c.assignmentId, third, 'unknown'],
				].sort(),
			);
			expect(listed.every((x) => typeof x.dueDate === 'string' && !Number.isNaN(Date.parse(x.assignedAt)))).toBe(true);
			expect(await lms.listAssignments({ id: USER }, new Date(Date.now() + 60_000).toISOString())).toEqual([]);
		});
	});

	it('maps Genesys assignment states', () => {
		expect(['Assigned', 'InProgress', 'Completed', 'NotCompleted', 'InvalidSchedule', 'Deleted'].map(mapGenesysAssignmentState)).toEqual([
			'assigned',
			'started',
			'completed',
			'unknown',
			'assigned',
			'unknown',
		]);
	});
});
