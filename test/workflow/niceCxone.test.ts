import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import type { ICredentialDataDecryptedObject, IDataObject, INode, INodeParameters, INodeType } from 'n8n-workflow';

import { clearNiceClientCaches } from '../../nodes/shared/ccaas/nice/client';
import { closeAllStateStores } from '../../nodes/shared/state';
import { startNiceCxoneSimulator, type NiceSimulator, type SimNiceEvaluation } from '../simulators/niceCxone';
import { makeClip } from '../support/mediaClips';
import { niceCredentialData } from '../support/nice';
import { itemsOf, loadPollTrigger, pollTrigger } from '../support/pollTrigger';
import { startS3Server, type S3TestServer } from '../support/s3';
import { objectStoreCredentialData } from '../support/stack';
import { runWorkflow } from '../support/workflowHarness';

/**
 * The compiled NICE nodes (dist/) in n8n's engine: the poll trigger driven like n8n drives it (manual "Fetch Test
 * Event" through WorkflowExecute, scheduled polls through PollContext with static data kept between them), and the
 * action node inside a workflow against the simulator, s3rver and a SQLite state store.
 */
const TRIGGER_DIR = resolve(__dirname, '../../dist/nodes/NiceEvaluationTrigger');
const TRIGGER_NAME = 'NICE Evaluation Trigger';
const DAY = 86_400_000;

let triggerType: INodeType;
let sim: NiceSimulator;
let s3: S3TestServer;
let stateDir: string;
let mp4Path: string;

beforeAll(async () => {
	triggerType = await loadPollTrigger(TRIGGER_DIR, 'niceEvaluationTrigger');
	s3 = await startS3Server();
	stateDir = mkdtempSync(join(tmpdir(), 'cx-nice-wf-'));
	mp4Path = await makeClip(join(stateDir, 'contact.mp4'), { seconds: 2, codec: 'h264', faststart: true });
}, 120_000);

afterAll(async () => {
	await closeAllStateStores();
	await s3.close();
	rmSync(stateDir, { recursive: true, force: true });
});

beforeEach(async () => {
	clearNiceClientCaches();
	sim = await startNiceCxoneSimulator({ extractionIntervalMs: 0, jobPollsToSucceed: 2 });
});

afterEach(async () => {
	jest.restoreAllMocks();
	await sim.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

function completed(workflowId: string, acdId: string, completedAtMs: number, scorePercentage: number): SimNiceEvaluation {
	return {
		workflowId,
		acdId,
		agentId: `agent-${acdId}`,
		agentFirstName: 'Ada',
		agentLastName: 'Agent',
		history: [
			{ workflowState: 'InProgress', lastUpdated: iso(completedAtMs - 60_000), scorePercentage: 10 },
			{ workflowState: 'Completed', lastUpdated: iso(completedAtMs), scorePercentage, submissionDate: iso(completedAtMs) },
		],
	};
}

function credentials(): Record<string, ICredentialDataDecryptedObject> {
	return {
		niceCxoneApi: niceCredentialData(sim),
		cxObjectStoreApi: objectStoreCredentialData(s3),
		cxStateStoreApi: { driver: 'sqlite', sqlitePath: join(stateDir, 'state.sqlite') },
	};
}

function setUpTrigger(parameters: INodeParameters = {}) {
	return pollTrigger({
		nodeType: triggerType,
		nodeName: TRIGGER_NAME,
		type: 'CUSTOM.niceEvaluationTrigger',
		workflowId: 'wf-nice-poll',
		credentials: { niceCxoneApi: { id: 'nice-cred', name: 'NICE CXone (simulator)', data: niceCredentialData(sim) } },
		parameters,
	});
}

describe('workflow: NICE Evaluation Trigger (compiled node, n8n engine)', () => {
	it('declares polling and gets n8n’s Poll Times parameter', () => {
		expect(triggerType.description.polling).toBe(true);
		expect(triggerType.description.properties[0].name).toBe('pollTimes');
	});

	it('"Fetch Test Event" returns the latest completed evaluation and leaves no cursor', async () => {
		const now = Date.now();
		sim.seedEvaluation(completed('wf-old', '500001', now - 3 * DAY, 55));
		sim.seedEvaluation(completed('wf-new', '500002', now - 2 * 3600_000, 91.5));
		const { fetchTestEvent, staticData } = setUpTrigger();
		const { run, output } = await fetchTestEvent();
		expect(run.data.resultData.error).toBeUndefined();
		expect(output).toHaveLength(1);
		expect(output[0]).toMatchObject({ source: 'nice-cxone', conversationId: '500002', evaluation: { id: 'wf-new', totalScore: 91.5, status: 'FINISHED' } });
		expect(staticData()).toEqual({});
	});

	it('scheduled polls emit each completed evaluation once, keep the cursor in static data, and pick up rescores', async () => {
		const now = Date.now();
		sim.seedEvaluation(completed('wf-1', '500011', now - 3 * 3600_000, 70));
		sim.seedEvaluation(completed('wf-2', '500012', now - 2 * 3600_000, 80));
		sim.seedEvaluation({ workflowId: 'wf-open', acdId: '500013', agentId: 'a', history: [{ workflowState: 'InProgress', lastUpdated: iso(now - 3600_000) }] });
		const { poll, staticData } = setUpTrigger({ lookBackDays: 1 });

		expect(itemsOf(await poll()).map((item) => (item as IDataObject & { evaluation: { id: string } }).evaluation.id)).toEqual(['wf-1', 'wf-2']);
		expect(staticData()).toMatchObject({ lastUpdated: iso(now - 2 * 3600_000), possibleDuplicates: [`wf-2@${iso(now - 2 * 3600_000)}`] });
		expect(sim.stats.jobBodies[0]).toMatchObject({ entityName: 'qm-workflows', startDate: new Date(now - DAY).toISOString().slice(0, 10) });

		expect(await poll()).toBeNull();

		const rescored = completed('wf-1', '500011', now - 3 * 3600_000, 70);
		rescored.history.push({ workflowState: 'Completed', lastUpdated: iso(now - 60_000), scorePercentage: 88, submissionDate: iso(now - 60_000) });
		sim.seedEvaluation(rescored);
		const third = itemsOf(await poll());
		expect(third).toHaveLength(1);
		expect(third[0]).toMatchObject({ evaluation: { id: 'wf-1', totalScore: 88 }, training: { rescore: true } });
	});

	it('keeps a job still RUNNING for the next poll instead of starting another', async () => {
		await sim.close();
		sim = await startNiceCxoneSimulator({ extractionIntervalMs: 0, jobPollsToSucceed: 3 });
		sim.seedEvaluation(completed('wf-9', '500019', Date.now() - 3600_000, 75));
		const { poll, staticData } = setUpTrigger({ options: { maxWaitSec: 0 } });
		expect(await poll()).toBeNull();
		const pending = staticData().pendingJob as { jobId: string };
		expect(pending.jobId).toMatch(/[0-9a-f-]{36}/);
		expect(await poll()).toBeNull();
		expect(itemsOf(await poll())).toHaveLength(1);
		expect(sim.stats.jobsCreated).toBe(1);
		expect(staticData().pendingJob).toBeUndefined();
	});

	it('logs, does not throw, a failed poll after the first success, and keeps the cursor', async () => {
		sim.seedEvaluation(completed('wf-1', '500021', Date.now() - 3600_000, 70));
		const { poll, staticData } = setUpTrigger();
		expect(itemsOf(await poll())).toHaveLength(1);
		const cursor = { ...staticData() };
		sim.setFault({ path: '/data-extraction/v1/jobs', method: 'POST', status: 403, count: 10 });
		const logged = jest.spyOn(Container.get(Logger), 'error').mockImplementation(() => undefined);
		expect(await poll()).toBeNull();
		expect(logged).toHaveBeenCalledTimes(1);
		expect(String(logged.mock.calls[0][0])).toContain('Data Extraction answered 403');
		expect(JSON.stringify(logged.mock.calls)).not.toContain(sim.accessKeySecret);
		expect(staticData().lastUpdated).toBe(cursor.lastUpdated);
	});

	it('throws when the very first poll fails, and stores no cursor', async () => {
		const { poll, staticData } = setUpTrigger();
		sim.setFault({ path: '/auth/token', status: 401, count: 5, body: { error: 'invalid_client' } });
		await expect(poll()).rejects.toThrow(/401/);
		expect(staticData()).toEqual({});
	});
});

describe('workflow: NICE CXone action node', () => {
	function workflow(parameters: INodeParameters, conversationId: string): Parameters<typeof runWorkflow>[0] {
		return {
			nodes: ([
				{ id: '1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} },
				{
					id: '2',
					name: 'Contact',
					type: 'n8n-nodes-base.set',
					typeVersion: 3.4,
					position: [200, 0] as [number, number],
					parameters: { mode: 'manual', assignments: { assignments: [{ id: 'a1', name: 'conversationId', value: conversationId, type: 'string' }] }, options: {} },
				},
				{
					id: '3',
					name: 'NICE CXone',
					type: 'n8n-nodes-cx-training.niceCxone',
					typeVersion: 1,
					position: [400, 0] as [number, number],
					parameters,
					credentials: {
						niceCxoneApi: { id: 'n', name: 'niceCxoneApi' },
						cxObjectStoreApi: { id: 'o', name: 'cxObjectStoreApi' },
						cxStateStoreApi: { id: 's', name: 'cxStateStoreApi' },
					},
				},
			] as INode[]),
			connections: {
				Start: { main: [[{ node: 'Contact', type: 'main' as const, index: 0 }]] },
				Contact: { main: [[{ node: 'NICE CXone', type: 'main' as const, index: 0 }]] },
			},
		};
	}

	it('Stage Voice-and-Screen Recording: the MP4 lands in the store with its SHA-256; unknown contacts go to Not Staged', async () => {
		sim.seedContact({ acdContactId: '610001', agent: { id: 'agent-z', name: 'Zed' }, recordings: [{ segmentId: '810001', filePath: mp4Path }] });
		const staged = await runWorkflow(workflow({ resource: 'recording', operation: 'stageVoiceAndScreen', lookupBy: 'contact' }, '610001'), { credentials: credentials() });
		expect(staged.error).toBeUndefined();
		expect(staged.output('NICE CXone', 0)).toEqual([
			expect.objectContaining({
				source: 'nice-cxone',
				conversationId: '610001',
				recordingId: '810001',
				stateKey: 'nice-cxone:610001:810001',
				object: expect.objectContaining({
					key: 'recordings/nice-cxone/610001/810001/original.mp4',
					sha256: createHash('sha256').update(readFileSync(mp4Path)).digest('hex'),
					contentType: 'video/mp4',
				}),
			}),
		]);
		const missing = await runWorkflow(workflow({ resource: 'recording', operation: 'stageVoiceAndScreen', lookupBy: 'contact' }, '619999'), { credentials: credentials() });
		expect(missing.output('NICE CXone', 0)).toEqual([]);
		expect(missing.output('NICE CXone', 1)).toEqual([expect.objectContaining({ conversationId: '619999', status: 'not_found' })]);
	});

	it('Get Evaluations: one item per completed evaluation of the date range', async () => {
		sim.seedEvaluation(completed('wf-a', '620001', Date.parse('2025-03-04T10:00:00.000Z'), 64));
		sim.seedEvaluation({ workflowId: 'wf-b', acdId: '620002', agentId: 'x', history: [{ workflowState: 'InProgress', lastUpdated: '2025-03-04T11:00:00.000Z' }] });
		const result = await runWorkflow(
			workflow({ resource: 'evaluation', operation: 'getEvaluations', startDate: '2025-03-04', endDate: '2025-03-05', onlyCompleted: true, options: {} }, 'unused'),
			{ credentials: credentials() },
		);
		expect(result.error).toBeUndefined();
		expect(result.output('NICE CXone')).toEqual([
			expect.objectContaining({ conversationId: '620001', agentId: 'agent-620001', evaluation: expect.objectContaining({ id: 'wf-a', totalScore: 64, released: true }) }),
		]);
	});
});
