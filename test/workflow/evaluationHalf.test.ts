import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import { closeAllStateStores, openStateStore } from '../../nodes/shared/state';
import type { EvaluationItem, RecordingRef } from '../../nodes/shared/recordingRef';
import { startXapiLrs, type XapiLrsSimulator } from '../simulators/xapiLrs';
import { runWorkflow as runFromHarness } from '../support/workflowHarness';

/**
 * The evaluation half through n8n's engine: LMS Push (stage 1 and 2) and Guarded Assign against the xAPI LRS
 * simulator, with the SQLite state store joining the two halves in either order.
 */
const ASSIGNED_VERB = 'https://w3id.org/xapi/dod-isd/verbs/assigned';
const VOIDED_VERB = 'http://adlnet.gov/expapi/verbs/voided';

let lrs: XapiLrsSimulator;
let dir: string;
let credentials: Record<string, ICredentialDataDecryptedObject>;

beforeAll(async () => {
	lrs = await startXapiLrs();
	dir = await mkdtemp(join(tmpdir(), 'cx-eval-wf-'));
	credentials = {
		xapiLrsApi: { endpoint: lrs.endpoint, key: lrs.key, secret: lrs.secret, version: '1.0.3' },
		cxStateStoreApi: { driver: 'sqlite', sqlitePath: join(dir, 'state.sqlite') },
	};
});

afterAll(async () => {
	await closeAllStateStores();
	await lrs.close();
	await rm(dir, { recursive: true, force: true });
});

/** Every flow here starts at the No Op named Start, which hands the trigger items on. */
const runWorkflow = (flow: Parameters<typeof runFromHarness>[0], options: Parameters<typeof runFromHarness>[1] = {}) =>
	runFromHarness(flow, { ...options, startNode: 'Start' });

const CRED = { xapiLrsApi: { id: 'lrs', name: 'lrs' }, cxStateStoreApi: { id: 'state', name: 'state' } };

function node(name: string, type: string, parameters: IDataObject, x: number): INode {
	return { id: name, name, type, typeVersion: 1, position: [x, 0], parameters, credentials: CRED } as unknown as INode;
}

/** Start (No Op fed with items) → one node, or a chain. */
function chain(...nodes: INode[]) {
	const all = [{ id: 'start', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0], parameters: {} } as unknown as INode, ...nodes];
	const connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {};
	for (let n = 0; n < all.length - 1; n++) connections[all[n].name] = { main: [[{ node: all[n + 1].name, type: 'main', index: 0 }]] };
	return { nodes: all, connections };
}

const pushFinal = () => node('LMS Push', 'n8n-nodes-cx-training.lmsPush', { target: 'xapi', operation: 'pushFinal', options: {} }, 200);
const pushPlaceholder = () =>
	node('LMS Push', 'n8n-nodes-cx-training.lmsPush', { target: 'xapi', operation: 'pushPlaceholder', options: {} }, 200);
const guardedAssign = (parameters: IDataObject = {}) =>
	node('Guarded Assign', 'n8n-nodes-cx-training.guardedAssign', { target: 'xapi', mode: 'assign', options: { consultTargetHistory: true, defaultTimeZone: 'America/Chicago' }, ...parameters }, 400);

function recording(conversationId: string, agentId: string): RecordingRef {
	return {
		source: 'genesys-cloud',
		conversationId,
		recordingId: `${conversationId}-screen`,
		agent: { id: agentId },
		queue: { id: 'queue-billing' },
		mediaType: 'screen',
		startTime: '2025-03-03T09:00:00.000Z',
		stateKey: `genesys-cloud:${conversationId}:${conversationId}-screen`,
		pii: { verdict: 'clean', findings: [] },
	};
}

function evaluation(id: string, conversationId: string, agentId: string, totalScore: number, revision: string, extra: Partial<EvaluationItem> = {}): EvaluationItem {
	return {
		source: 'genesys-cloud',
		conversationId,
		agentId,
		evaluation: {
			id,
			totalScore,
			status: 'FINISHED',
			released: true,
			revision,
			evaluatedAt: revision,
			failedCritical: totalScore < 50,
			criteria: [
				{ id: 'qg-compliance', name: 'Compliance', score: totalScore < 50 ? 0 : 10, maxScore: 10, failed: totalScore < 50, critical: totalScore < 50 },
				{ id: 'qg-empathy', name: 'Empathy', score: totalScore >= 70 ? 10 : 5, maxScore: 10, failed: totalScore < 70 },
			],
		},
		training: { drivesTraining: true, rescore: false, retracted: false },
		taxonomy: { tags: ['billing'], visibility: 'public', remedialModuleIds: [], category: 'Billing', assetType: 'coaching' },
		...extra,
	};
}

const live = () => lrs.statements().filter((statement) => !lrs.voidedStatementIds().includes(statement.id));
const assignments = () => live().filter((statement) => (statement.verb as { id: string }).id === ASSIGNED_VERB);

describe('LMS Push stage 2 and Guarded Assign in n8n’s engine', () => {
	it('recording first: the evaluation completes the asset; a duplicate changes nothing; a rescore voids the old statement', async () => {
		const ref = recording('conv-rf', 'agent-rf');
		const placed = await runWorkflow(chain(pushPlaceholder()), { credentials, triggerItems: [ref as unknown as IDataObject] });
		expect(placed.error).toBeUndefined();
		expect(placed.output('LMS Push')[0].lms).toMatchObject({ stage: 'placeholder' });

		const first = evaluation('eval-rf', 'conv-rf', 'agent-rf', 82, '2025-03-04T10:00:00.000Z');
		const scored = await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [first as unknown as IDataObject] });
		expect(scored.error).toBeUndefined();
		const [final] = scored.output('LMS Push');
		expect(final.lms).toMatchObject({ stage: 'final', assetId: expect.stringContaining('/recordings/genesys-cloud/conv-rf/') });
		const statementsAfterFinal = lrs.statements().length;

		const duplicate = await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [first as unknown as IDataObject] });
		expect(duplicate.output('LMS Push')[0].lmsPush).toMatchObject({ created: false });
		expect(lrs.statements()).toHaveLength(statementsAfterFinal);

		const rescored = evaluation('eval-rf', 'conv-rf', 'agent-rf', 64, '2025-03-05T10:00:00.000Z', { training: { drivesTraining: true, rescore: true, retracted: false } });
		await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [rescored as unknown as IDataObject] });
		expect(lrs.voidedStatementIds().length).toBeGreaterThanOrEqual(1);
		expect(live().filter((statement) => (statement.verb as { id: string }).id === VOIDED_VERB).length).toBeGreaterThanOrEqual(1);

		// The older revision delivered late is stale: the asset keeps the rescored 64.
		const late = await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [first as unknown as IDataObject] });
		expect(late.output('LMS Push')[0].lmsPush).toMatchObject({ stale: true });
		const state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
		const row = await state.getRecording(ref.stateKey);
		expect(row?.stage).toBe('pushed_final');
		expect(row?.ref.evaluation?.totalScore).toBe(64);
		await state.close();
	});

	it('evaluation first: it waits in the state store and the recording half pushes the final asset at once', async () => {
		const early = evaluation('eval-ef', 'conv-ef', 'agent-ef', 91, '2025-03-04T10:00:00.000Z');
		const waiting = await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [early as unknown as IDataObject] });
		expect(waiting.output('LMS Push')[0].lmsPush).toMatchObject({ updated: 0, waitingForRecording: true });
		const placed = await runWorkflow(chain(pushPlaceholder()), { credentials, triggerItems: [recording('conv-ef', 'agent-ef') as unknown as IDataObject] });
		const [item] = placed.output('LMS Push');
		expect(item.lms).toMatchObject({ stage: 'final' });
		expect(item.lmsPush).toMatchObject({ completedWithStoredEvaluation: true });
		expect((item.evaluation as IDataObject).totalScore).toBe(91);
	});

	it('a retraction withdraws the score and makes the asset private again', async () => {
		const ref = recording('conv-rt', 'agent-rt');
		await runWorkflow(chain(pushPlaceholder()), { credentials, triggerItems: [ref as unknown as IDataObject] });
		await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [evaluation('eval-rt', 'conv-rt', 'agent-rt', 95, '2025-03-04T10:00:00.000Z') as unknown as IDataObject] });
		const retraction = evaluation('eval-rt', 'conv-rt', 'agent-rt', 95, '2025-03-06T10:00:00.000Z', {
			training: { drivesTraining: false, reason: 'retracted', rescore: false, retracted: true },
		});
		retraction.evaluation.status = 'RETRACTED';
		const withdrawn = await runWorkflow(chain(pushFinal()), { credentials, triggerItems: [retraction as unknown as IDataObject] });
		expect(withdrawn.error).toBeUndefined();
		expect(withdrawn.output('LMS Push')[0].lms).toMatchObject({ stage: 'placeholder' });
	});

	it('Guarded Assign: a low score assigns the mapped module once with a weekday due date; a second low score that week is skipped', async () => {
		const flow = chain(guardedAssign());
		const low = evaluation('eval-ga-1', 'conv-ga-1', 'agent-ga', 40, new Date().toISOString());
		const first = await runWorkflow(flow, { credentials, triggerItems: [low as unknown as IDataObject] });
		expect(first.error).toBeUndefined();
		const [assigned] = first.output('Guarded Assign', 0);
		const assignment = assigned.assignment as IDataObject;
		expect(assignment).toMatchObject({ moduleId: 'mod-compliance-101', agentId: 'agent-ga', status: 'assigned', created: true });
		const weekday = new Date(`${assignment.dueDate as string}T12:00:00Z`).getUTCDay();
		expect([1, 2, 3, 4, 5]).toContain(weekday);
		expect(assignments().filter((statement) => JSON.stringify(statement.actor).includes('agent-ga'))).toHaveLength(1);

		// The same evaluation again (a redelivery): no second assignment.
		const again = await runWorkflow(flow, { credentials, triggerItems: [low as unknown as IDataObject] });
		expect(again.output('Guarded Assign', 0)[0].assignment).toMatchObject({ created: false });

		const second = evaluation('eval-ga-2', 'conv-ga-2', 'agent-ga', 45, new Date().toISOString());
		const skipped = await runWorkflow(flow, { credentials, triggerItems: [second as unknown as IDataObject] });
		expect(skipped.output('Guarded Assign', 0)).toHaveLength(0);
		expect(skipped.output('Guarded Assign', 1)[0].skipped).toMatchObject({ reason: 'recent_assignment' });
		expect(assignments().filter((statement) => JSON.stringify(statement.actor).includes('agent-ga'))).toHaveLength(1);

		const good = evaluation('eval-ga-3', 'conv-ga-3', 'agent-ga-good', 96, new Date().toISOString());
		const above = await runWorkflow(flow, { credentials, triggerItems: [good as unknown as IDataObject] });
		expect(above.output('Guarded Assign', 1)[0].skipped).toMatchObject({ reason: 'above_threshold' });
	});

	it('Guarded Assign: the approval path holds the slot, then assigns once when approved', async () => {
		const held = await runWorkflow(chain(guardedAssign({ requireApproval: true })), {
			credentials,
			triggerItems: [evaluation('eval-ap-1', 'conv-ap-1', 'agent-ap', 30, new Date().toISOString()) as unknown as IDataObject],
		});
		const [pending] = held.output('Guarded Assign', 2);
		expect(pending.assignment).toMatchObject({ status: 'approval_pending', moduleId: 'mod-compliance-101' });
		expect(assignments().filter((statement) => JSON.stringify(statement.actor).includes('agent-ap'))).toHaveLength(0);

		// While it waits, another low score for the same agent is refused: the slot is held.
		const meanwhile = await runWorkflow(chain(guardedAssign({ requireApproval: true })), {
			credentials,
			triggerItems: [evaluation('eval-ap-2', 'conv-ap-2', 'agent-ap', 35, new Date().toISOString()) as unknown as IDataObject],
		});
		expect(meanwhile.output('Guarded Assign', 1)[0].skipped).toMatchObject({ reason: 'recent_assignment' });

		const complete = chain(node('Guarded Assign', 'n8n-nodes-cx-training.guardedAssign', { target: 'xapi', mode: 'completeApproval', options: {} }, 400));
		const approved = await runWorkflow(complete, { credentials, triggerItems: [{ ...pending, data: { approved: true } }] });
		expect(approved.error).toBeUndefined();
		expect(approved.output('Guarded Assign', 0)[0].assignment).toMatchObject({ status: 'assigned', created: true, moduleId: 'mod-compliance-101' });
		const twice = await runWorkflow(complete, { credentials, triggerItems: [{ ...pending, data: { approved: true } }] });
		expect(twice.output('Guarded Assign', 0)[0].assignment).toMatchObject({ created: false });
		expect(assignments().filter((statement) => JSON.stringify(statement.actor).includes('agent-ap'))).toHaveLength(1);
	});

	it('bad input names the field and changes nothing', async () => {
		const before = lrs.requests.length;
		const broken = { ...evaluation('eval-bad', 'conv-bad', 'agent-bad', 40, new Date().toISOString()) } as unknown as IDataObject;
		(broken.evaluation as IDataObject).totalScore = 140;
		const run = await runWorkflow(chain(guardedAssign()), { credentials, triggerItems: [broken] });
		expect(run.error).toContain('evaluation.totalScore');
		expect(lrs.requests.length).toBe(before);
	});
});
