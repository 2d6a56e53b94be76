import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { PROJECT_ROOT, randomPortBlock } from '../../scripts/lib/n8n';
import { startSlice, type Slice } from '../../scripts/lib/slice';

/**
 * Real n8n 2.x on 127.0.0.1 with the packed package installed as a community package; the shipped template
 * is imported, its credentials created, published, and driven through its production webhook.
 */
jest.setTimeout(180000);

const SECRET = 'e2e-shared-secret-0123456789';
const PORT = randomPortBlock(5800, 100, 2);

describe('end to end: Genesys conversation end → staged recording → xAPI placeholder, in real n8n', () => {
	let slice: Slice;
	const workDir = join(PROJECT_ROOT, '.e2e', `run-${process.pid}`);

	const post = (body: string, headers: Record<string, string> = { 'x-cx-webhook-secret': SECRET }) =>
		fetch(slice.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

	const endConversation = (conversationId: string, userId: string, shape: 'eventbridge' | 'eventBody') =>
		slice.genesys.emitConversationEnd({
			webhookUrl: slice.webhookUrl,
			conversationId,
			userId,
			shape,
			headers: { 'X-CX-Webhook-Secret': SECRET },
		});

	async function executionCount(): Promise<number> {
		return (await slice.client.executions(slice.workflowId, 100)).length;
	}

	const waitForExecutions = (count: number) => slice.client.waitForExecutions(slice.workflowId, count);

	beforeAll(async () => {
		rmSync(workDir, { recursive: true, force: true });
		slice = await startSlice({ workDir, n8nPort: PORT, webhookSecret: SECRET, genesys: { transcode202Count: 1 } });
		for (const [conversationId, agentId] of [
			['e2e-conv-1', 'agent-e2e-1'],
			['e2e-conv-2', 'agent-e2e-2'],
		]) {
			slice.genesys.seedConversation({
				conversationId,
				queueId: 'queue-e2e',
				recordings: [
					{ recordingId: `${conversationId}-screen`, media: 'screen', users: [{ id: agentId }], sizeBytes: 2 * 1024 * 1024, seed: conversationId },
					{ recordingId: `${conversationId}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 4096 },
				],
			});
		}
	});

	afterAll(async () => {
		await slice?.stop();
		rmSync(workDir, { recursive: true, force: true });
	});

	it('loads the package under its real type names', async () => {
		const types = await slice.client.nodeTypes();
		expect(types).toEqual(
			expect.arrayContaining([
				'n8n-nodes-cx-training.genesysRecordingTrigger',
				'n8n-nodes-cx-training.genesysCloud',
				'n8n-nodes-cx-training.lmsPush',
			]),
		);
	});

	it('the Genesys Cloud credential test really calls the API', async () => {
		const tokensBefore = slice.genesys.stats.tokenRequests;
		const { id, name } = slice.credentialIds.genesysCloudApi;
		const good = await slice.client.testCredential(id, name, 'genesysCloudApi', slice.credentialData.genesysCloudApi);
		expect(good.status).toBe('OK');
		expect(slice.genesys.stats.tokenRequests).toBeGreaterThan(tokensBefore);
		const wrong = { ...slice.credentialData.genesysCloudApi, clientSecret: 'not-the-secret' };
		const wrongId = await slice.client.createCredential('Genesys Cloud (wrong secret)', 'genesysCloudApi', wrong);
		const bad = await slice.client.testCredential(wrongId, 'Genesys Cloud (wrong secret)', 'genesysCloudApi', wrong);
		expect(bad.status).toBe('Error');
	});

	it('a webhook without or with a wrong secret gets 401 and starts nothing', async () => {
		const before = await executionCount();
		const event = JSON.stringify({ conversationId: 'e2e-conv-1' });
		expect((await post(event, {})).status).toBe(401);
		expect((await post(event, { 'x-cx-webhook-secret': 'not-the-secret' })).status).toBe(401);
		await delay(500);
		expect(await executionCount()).toBe(before);
	});

	it('malformed JSON gets 400, a missing or unsafe conversation id 400 naming the field; nothing starts', async () => {
		const before = await executionCount();
		const malformed = await post('{"conversationId": ');
		expect(malformed.status).toBe(400);
		expect(((await malformed.json()) as { field: string }).field).toBe('body');
		const missing = await post(JSON.stringify({ detail: { topicName: 'x', eventBody: { userId: 'u' } } }));
		expect(missing.status).toBe(400);
		expect(((await missing.json()) as { field: string }).field).toBe('detail.eventBody.conversationId');
		const traversal = await post(JSON.stringify({ conversationId: '../../secrets' }));
		expect(traversal.status).toBe(400);
		expect(((await traversal.json()) as { field: string }).field).toBe('conversationId');
		await delay(500);
		expect(await executionCount()).toBe(before);
	});

	it('an EventBridge conversation-end event becomes one private xAPI placeholder, and a redelivery adds nothing', async () => {
		const before = await executionCount();
		const emitted = await endConversation('e2e-conv-1', 'agent-e2e-1', 'eventbridge');
		expect(emitted.status).toBe(200);
		expect(JSON.parse(emitted.body)).toEqual({ received: 1, accepted: 1 });
		const [execution] = await waitForExecutions(before + 1);
		expect(execution.status).toBe('success');
		const runData = execution.data!.resultData.runData;
		expect(Object.keys(runData).sort()).toEqual(['Genesys Recording Trigger', 'LMS Push', 'Stage Screen Recordings']);
		const pushed = runData['LMS Push'][0].data!.main![0];
		expect(pushed).toHaveLength(1);
		expect(pushed[0].json).toMatchObject({
			conversationId: 'e2e-conv-1',
			recordingId: 'e2e-conv-1-screen',
			agent: { id: 'agent-e2e-1' },
			lms: { target: 'xapi', stage: 'placeholder' },
		});
		const statements = slice.lrs.statements().filter((s) => JSON.stringify(s).includes('e2e-conv-1'));
		expect(statements).toHaveLength(1);

		// Redelivery of the very same event (EventBridge retries at least once).
		const again = await endConversation('e2e-conv-1', 'agent-e2e-1', 'eventbridge');
		expect(again.status).toBe(200);
		const [second] = await waitForExecutions(before + 2);
		expect(second.status).toBe('success');
		const secondPush = second.data!.resultData.runData['LMS Push'][0].data!.main![0][0].json;
		expect(secondPush.lmsPush).toMatchObject({ created: false });
		expect(slice.lrs.statements().filter((s) => JSON.stringify(s).includes('e2e-conv-1'))).toHaveLength(1);
	});

	it('the bare eventBody a Process Automation data action posts works the same way', async () => {
		const before = await executionCount();
		const emitted = await endConversation('e2e-conv-2', 'agent-e2e-2', 'eventBody');
		expect(emitted.status).toBe(200);
		const [execution] = await waitForExecutions(before + 1);
		expect(execution.status).toBe('success');
		const statement = slice.lrs.statements().find((s) => JSON.stringify(s).includes('e2e-conv-2'));
		expect(statement?.actor).toEqual({ objectType: 'Agent', account: { homePage: 'https://apps.mypurecloud.com', name: 'agent-e2e-2' } });
	});

	it('the Quality Evaluation Changed family turns a v2.quality.evaluations event into one normalised item', async () => {
		const trigger = {
			id: 'b1c2d3e4-0000-4000-8000-00000000e001',
			name: 'Evaluation Changed',
			type: 'n8n-nodes-cx-training.genesysRecordingTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: '7d1e9a52-6f0b-4f5e-9d7a-3c2b1a0f9e88',
			parameters: { eventFamily: 'qualityEvaluation', authentication: 'sharedSecret' },
			credentials: { genesysWebhookAuthApi: slice.credentialIds.genesysWebhookAuthApi },
		};
		const workflowId = await slice.client.createWorkflow({ name: 'Evaluation events', nodes: [trigger], connections: {} });
		await slice.client.activate(workflowId);
		const url = `${slice.n8n.baseUrl}/webhook/${trigger.webhookId}/genesys-recording`;
		const event = {
			'detail-type': 'v2.quality.evaluations',
			detail: {
				topicName: 'v2.quality.evaluations',
				eventBody: { id: 'eval-e2e', conversationId: 'e2e-conv-1', agent: { id: 'agent-e2e-1' }, scoringSet: { totalScore: 58 }, status: 'Finished', releaseDate: '2026-11-20T10:00:00Z' },
			},
		};
		let response: Response;
		for (let attempt = 0; ; attempt++) {
			response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cx-webhook-secret': SECRET }, body: JSON.stringify(event) });
			if (response.status !== 404 || attempt > 100) break;
			await delay(200);
		}
		expect(response.status).toBe(200);
		const [execution] = await slice.client.waitForExecutions(workflowId, 1);
		const item = execution.data!.resultData.runData['Evaluation Changed'][0].data!.main![0][0].json;
		expect(item).toMatchObject({ kind: 'evaluation', evaluationId: 'eval-e2e', conversationId: 'e2e-conv-1', status: 'FINISHED', totalScore: 58, released: true });
	});
});
