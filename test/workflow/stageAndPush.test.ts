import type { IDataObject } from 'n8n-workflow';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { openStateStore } from '../../nodes/shared/state';
import { syntheticSha256 } from '../simulators/syntheticMedia';
import { startStack, type TestStack } from '../support/stack';
import { runWorkflow } from '../support/workflowHarness';

const CRED = (type: string) => ({ [type]: { id: `${type}-id`, name: type } });

/** Manual Trigger → Set (a conversation-end event) → Genesys Cloud: Stage → If (object staged) → LMS Push. */
function workflow(conversationId: string) {
	return {
		nodes: [
			{ id: '1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} },
			{
				id: '2',
				name: 'Conversation Ended',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				position: [200, 0] as [number, number],
				parameters: {
					mode: 'manual',
					assignments: {
						assignments: [
							{ id: 'a1', name: 'conversationId', value: conversationId, type: 'string' },
							{ id: 'a2', name: 'userId', value: 'agent-fallback', type: 'string' },
							{ id: 'a3', name: 'queueId', value: 'queue-billing', type: 'string' },
							{ id: 'a4', name: 'direction', value: 'INBOUND', type: 'string' },
						],
					},
					options: {},
				},
			},
			{
				id: '3',
				name: 'Stage',
				type: 'n8n-nodes-cx-training.genesysCloud',
				typeVersion: 1,
				position: [400, 0] as [number, number],
				parameters: { resource: 'recording', operation: 'stageScreenRecordings', options: { maxTranscodeWaitSec: 30, serverMaxWaitMs: 200 } },
				credentials: { ...CRED('genesysCloudApi'), ...CRED('cxObjectStoreApi'), ...CRED('cxStateStoreApi') },
			},
			{
				id: '4',
				name: 'Staged?',
				type: 'n8n-nodes-base.if',
				typeVersion: 2.2,
				position: [600, 0] as [number, number],
				parameters: {
					conditions: {
						options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
						conditions: [
							{ id: 'c1', leftValue: '={{ $json.object.size }}', rightValue: 0, operator: { type: 'number', operation: 'gt' } },
						],
						combinator: 'and',
					},
					options: {},
				},
			},
			{
				id: '5',
				name: 'LMS Push',
				type: 'n8n-nodes-cx-training.lmsPush',
				typeVersion: 1,
				position: [800, 0] as [number, number],
				parameters: { target: 'xapi', operation: 'pushPlaceholder', options: {} },
				credentials: { ...CRED('xapiLrsApi'), ...CRED('cxObjectStoreApi'), ...CRED('cxStateStoreApi') },
			},
		],
		connections: {
			Start: { main: [[{ node: 'Conversation Ended', type: 'main' as const, index: 0 }]] },
			'Conversation Ended': { main: [[{ node: 'Stage', type: 'main' as const, index: 0 }]] },
			Stage: { main: [[{ node: 'Staged?', type: 'main' as const, index: 0 }]] },
			'Staged?': { main: [[{ node: 'LMS Push', type: 'main' as const, index: 0 }], []] },
		},
	};
}

describe('workflow: stage Genesys screen recordings and push xAPI placeholders (in-process n8n engine)', () => {
	let stack: TestStack;

	beforeAll(async () => {
		stack = await startStack({ transcode202Count: 2 });
		// A transferred call: two agents, each with their own screen recording, plus the call audio.
		stack.genesys.seedConversation({
			conversationId: 'conv-transfer-1',
			queueId: 'queue-billing',
			recordings: [
				{ recordingId: 'rec-screen-a', media: 'screen', users: [{ id: 'agent-a', name: 'Ada' }], sizeBytes: 3 * 1024 * 1024 + 17, seed: 'a' },
				{ recordingId: 'rec-screen-b', media: 'screen', users: [{ id: 'agent-b', name: 'Bo' }], sizeBytes: 700 * 1024, seed: 'b' },
				{ recordingId: 'rec-audio', media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 1024 },
			],
		});
		stack.genesys.seedConversation({
			conversationId: 'conv-audio-only',
			recordings: [{ recordingId: 'rec-audio-2', media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 1024 }],
		});
	});

	afterAll(async () => {
		await stack.close();
	});

	it('stages each screen recording for its own agent and pushes one valid private statement each', async () => {
		const result = await runWorkflow(workflow('conv-transfer-1'), { credentials: stack.credentials });
		expect(result.error).toBeUndefined();
		const staged = result.output('Stage');
		expect(staged.map((item) => item.recordingId).sort()).toEqual(['rec-screen-a', 'rec-screen-b']);
		const byId = Object.fromEntries(staged.map((item) => [item.recordingId as string, item]));
		expect((byId['rec-screen-a'].agent as IDataObject).id).toBe('agent-a');
		expect((byId['rec-screen-b'].agent as IDataObject).id).toBe('agent-b');
		const objectA = byId['rec-screen-a'].object as IDataObject;
		expect(objectA.size).toBe(3 * 1024 * 1024 + 17);
		expect(objectA.sha256).toBe(await syntheticSha256(3 * 1024 * 1024 + 17, 'a'));
		expect(objectA.key).toBe('recordings/genesys-cloud/conv-transfer-1/rec-screen-a/original.webm');
		expect(byId['rec-screen-a'].queue).toEqual({ id: 'queue-billing' });
		expect(stack.genesys.stats.accepted202).toBeGreaterThanOrEqual(2);

		const pushed = result.output('LMS Push');
		expect(pushed).toHaveLength(2);
		for (const item of pushed) expect((item.lms as IDataObject).stage).toBe('placeholder');

		const statements = stack.lrs.statements();
		expect(statements).toHaveLength(2);
		const actors = statements.map((s) => (s.actor as { account: { name: string } }).account.name).sort();
		expect(actors).toEqual(['agent-a', 'agent-b']);
		const docs = stack.lrs.activityProfiles();
		expect(docs).toHaveLength(2);
		const doc = docs[0].json as Record<string, unknown>;
		expect(doc).toMatchObject({ status: 'pending_review', visibility: 'private', stage: 'placeholder' });
		expect(doc.mediaUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

		const state = await openStateStore({ driver: 'sqlite', path: stack.statePath });
		const row = await state.getRecording('genesys-cloud:conv-transfer-1:rec-screen-a');
		expect(row?.stage).toBe('pushed_placeholder');
		expect(row?.lmsAssetId).toContain('/recordings/genesys-cloud/conv-transfer-1/rec-screen-a');
	});

	it('a second run (a redelivered event) downloads nothing again and creates no second statement', async () => {
		const mediaBefore = stack.genesys.stats.mediaRequests;
		const result = await runWorkflow(workflow('conv-transfer-1'), { credentials: stack.credentials });
		expect(result.error).toBeUndefined();
		expect(result.output('Stage').map((item) => (item.staging as IDataObject).reused)).toEqual([true, true]);
		expect(stack.genesys.stats.mediaRequests).toBe(mediaBefore);
		expect(result.output('LMS Push').map((item) => (item.lmsPush as IDataObject).created)).toEqual([false, false]);
		expect(stack.lrs.statements()).toHaveLength(2);
	});

	it('a conversation with audio but no screen recording yields no item and no error', async () => {
		const before = stack.lrs.statements().length;
		const result = await runWorkflow(workflow('conv-audio-only'), { credentials: stack.credentials });
		expect(result.error).toBeUndefined();
		expect(result.ran('Stage')).toBe(true);
		expect(result.output('Stage')).toEqual([]);
		expect(result.ran('LMS Push')).toBe(false);
		expect(stack.lrs.statements()).toHaveLength(before);
	});

	it('an uploading recording goes to the Not Staged output with a retry hint; the LMS is not touched', async () => {
		stack.genesys.seedConversation({
			conversationId: 'conv-uploading',
			recordings: [{ recordingId: 'rec-up', media: 'screen', fileState: 'UPLOADING', uploadMs: 3_600_000, sizeBytes: 2048 }],
		});
		const before = stack.lrs.statements().length;
		const result = await runWorkflow(workflow('conv-uploading'), { credentials: stack.credentials });
		expect(result.error).toBeUndefined();
		expect(result.output('Stage')).toEqual([]);
		expect(result.output('Stage', 1)).toEqual([
			expect.objectContaining({ conversationId: 'conv-uploading', recordingId: 'rec-up', status: 'not_ready', fileState: 'UPLOADING', retryAfterSec: 120 }),
		]);
		expect(result.ran('LMS Push')).toBe(false);
		expect(stack.lrs.statements()).toHaveLength(before);
	});

	it('a 429 storm, a download broken off while its URL expires, and a redelivery still end with exactly one staged object and one asset', async () => {
		stack.genesys.seedConversation({
			conversationId: 'conv-storm',
			recordings: [{ recordingId: 'rec-storm', media: 'screen', users: [{ id: 'agent-s' }], sizeBytes: 1024 * 1024, seed: 'storm' }],
		});
		stack.genesys.setFault({ path: '/api/v2/conversations/conv-storm/recordings', status: 429, retryAfterSec: 1, count: 2 });
		// The download breaks off and, meanwhile, its signed URL expires.
		stack.genesys.setFault({ path: '/media/conv-storm/**', dropAfterBytes: 100 * 1024, advanceClockMs: 2 * 3600_000 });
		stack.lrs.setFault({ path: '/xAPI/statements', method: 'PUT', status: 503, count: 1 });
		const limitedBefore = stack.genesys.stats.rateLimited429;
		const first = await runWorkflow(workflow('conv-storm'), { credentials: stack.credentials });
		expect(first.error).toBeUndefined();
		expect(stack.genesys.stats.rateLimited429 - limitedBefore).toBe(2);
		expect(first.output('Stage')[0].staging).toEqual({ reused: false, resumes: 2 });
		expect(stack.lrs.requests.filter((r) => r.method === 'PUT' && r.status === 503)).toHaveLength(1);
		const second = await runWorkflow(workflow('conv-storm'), { credentials: stack.credentials });
		expect(second.error).toBeUndefined();
		expect(second.output('Stage').map((item) => (item.staging as IDataObject).reused)).toEqual([true]);
		const statements = stack.lrs.statements().filter((statement) => JSON.stringify(statement).includes('conv-storm'));
		expect(statements).toHaveLength(1);
		const objects = await listKeys(stack, 'recordings/genesys-cloud/conv-storm/');
		expect(objects).toEqual(['recordings/genesys-cloud/conv-storm/rec-storm/original.webm']);
	});

	it('gives up on an absurd Retry-After and leaves a dead letter that a later run replays', async () => {
		stack.genesys.seedConversation({
			conversationId: 'conv-absurd',
			recordings: [{ recordingId: 'rec-absurd', media: 'screen', users: [{ id: 'agent-z' }], sizeBytes: 4096 }],
		});
		stack.genesys.setFault({ path: '/api/v2/conversations/conv-absurd/recordings', status: 429, retryAfterSec: 3600 });
		const failed = await runWorkflow(workflow('conv-absurd'), { credentials: stack.credentials });
		expect(failed.error).toMatch(/retry after 3600 s/);
		const state = await openStateStore({ driver: 'sqlite', path: stack.statePath });
		const letter = (await state.listDeadLetters()).find((entry) => (entry.payload as IDataObject).conversationId === 'conv-absurd');
		expect(letter?.node).toBe('Stage (recording.stageScreenRecordings)');
		expect(letter?.error).not.toContain('sim-secret');

		const replayed = await runWorkflow(workflow('conv-absurd'), { credentials: stack.credentials });
		expect(replayed.error).toBeUndefined();
		expect(replayed.output('LMS Push')).toHaveLength(1);
	});

	it('Stage Screen Recordings in Batch takes all input items through one batch job, then LMS Push as usual', async () => {
		for (const id of ['conv-batch-1', 'conv-batch-2']) {
			stack.genesys.seedConversation({
				conversationId: id,
				recordings: [
					{ recordingId: `${id}-screen`, media: 'screen', sizeBytes: 64 * 1024, seed: id },
					{ recordingId: `${id}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 1024 },
				],
			});
		}
		const batchesBefore = stack.genesys.stats.batchRequests;
		// Start → Set (a list of ended conversations) → Split Out (one item each) → Stage in Batch → If → LMS Push.
		const wf = workflow('conv-batch-1') as unknown as {
			nodes: Array<Record<string, unknown> & { parameters: Record<string, unknown> }>;
			connections: Record<string, unknown>;
		};
		wf.nodes[1].parameters = {
			mode: 'raw',
			jsonOutput: JSON.stringify({ conversationIds: ['conv-batch-1', 'conv-batch-2'], userId: 'agent-fallback' }),
			options: {},
		};
		wf.nodes.push({
			id: '6',
			name: 'One per Conversation',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			position: [300, 100] as [number, number],
			parameters: { fieldToSplitOut: 'conversationIds', include: 'allOtherFields', options: { destinationFieldName: 'conversationId' } },
		});
		wf.connections['Conversation Ended'] = { main: [[{ node: 'One per Conversation', type: 'main', index: 0 }]] };
		wf.connections['One per Conversation'] = { main: [[{ node: 'Stage', type: 'main', index: 0 }]] };
		const stage = wf.nodes[2].parameters;
		stage.operation = 'stageBatch';
		stage.maxBatchWaitSec = 30;
		stage.pollIntervalSec = 0;
		const result = await runWorkflow(wf as unknown as Parameters<typeof runWorkflow>[0], { credentials: stack.credentials });
		expect(result.error).toBeUndefined();
		expect(stack.genesys.stats.batchRequests - batchesBefore).toBe(1);
		expect(result.output('Stage').map((item) => item.recordingId).sort()).toEqual(['conv-batch-1-screen', 'conv-batch-2-screen']);
		expect(result.output('Stage').map((item) => (item.agent as IDataObject).id)).toEqual(['agent-fallback', 'agent-fallback']);
		expect(result.output('LMS Push')).toHaveLength(2);
	});

	it('refuses a conversation id that would escape its object-store prefix, naming the field, and changes nothing', async () => {
		const before = stack.genesys.stats.apiRequests;
		const result = await runWorkflow(workflow('../../etc'), { credentials: stack.credentials });
		expect(result.error).toMatch(/Conversation ID/);
		expect(stack.genesys.stats.apiRequests).toBe(before);
	});
});

async function listKeys(stack: TestStack, prefix: string): Promise<string[]> {
	const client = new S3Client({
		endpoint: stack.s3.endpoint,
		region: 'us-east-1',
		forcePathStyle: true,
		credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
	});
	// No MaxKeys: s3rver's continuation tokens need OpenSSL's legacy provider.
	const listed = await client.send(new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: prefix }));
	client.destroy();
	return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}
