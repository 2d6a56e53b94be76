import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
	N8nClient,
	PROJECT_ROOT,
	bindCredentials,
	installPackage,
	loadTemplate,
	packPackage,
	startN8n,
	waitForWebhook,
	webhookUrl,
	type ExecutionSummary,
	type N8nInstance,
} from '../../scripts/lib/n8n';
import { startStack, type TestStack } from '../support/stack';

/**
 * Real n8n 2.x on 127.0.0.1 with the packed package installed as a community package; the shipped template
 * is imported, its credentials created, published, and driven through its production webhook.
 */
jest.setTimeout(180000);

const TEMPLATE = 'genesys-screen-recording-to-lms.json';
const SECRET = 'e2e-shared-secret-0123456789';
const PORT = 5800 + Math.floor(Math.random() * 100) * 2;

describe('end to end: Genesys conversation end → staged recording → xAPI placeholder, in real n8n', () => {
	let stack: TestStack;
	let n8n: N8nInstance;
	let client: N8nClient;
	let workflowId: string;
	let url: string;
	const ids: Record<string, { id: string; name: string }> = {};
	const workDir = join(PROJECT_ROOT, '.e2e', `run-${process.pid}`);

	const post = (body: string, headers: Record<string, string> = { 'x-cx-webhook-secret': SECRET }) =>
		fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

	async function executionCount(): Promise<number> {
		return (await client.executions(workflowId, 100)).length;
	}

	async function waitForExecutions(count: number): Promise<ExecutionSummary[]> {
		for (let i = 0; i < 200; i++) {
			const list = await client.executions(workflowId, 100);
			if (list.length >= count && list.slice(0, count).every((execution) => execution.finished || execution.status !== 'running')) {
				if (list.slice(0, count).every((execution) => execution.stoppedAt)) return list;
			}
			await delay(250);
		}
		throw new Error(`fewer than ${count} finished executions`);
	}

	beforeAll(async () => {
		rmSync(workDir, { recursive: true, force: true });
		mkdirSync(workDir, { recursive: true });
		stack = await startStack({ transcode202Count: 1 });
		for (const [conversationId, agentId] of [
			['e2e-conv-1', 'agent-e2e-1'],
			['e2e-conv-2', 'agent-e2e-2'],
		]) {
			stack.genesys.seedConversation({
				conversationId,
				queueId: 'queue-e2e',
				recordings: [
					{ recordingId: `${conversationId}-screen`, media: 'screen', users: [{ id: agentId }], sizeBytes: 2 * 1024 * 1024, seed: conversationId },
					{ recordingId: `${conversationId}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 4096 },
				],
			});
		}
		const userFolder = join(workDir, 'n8n');
		installPackage(userFolder, packPackage(join(workDir, 'pack')));
		n8n = await startN8n({ userFolder, port: PORT });
		client = new N8nClient(n8n.baseUrl);
		await client.bootstrap();

		const c = stack.credentials;
		for (const [type, name] of [
			['genesysWebhookAuthApi', 'Genesys webhook secret'],
			['genesysCloudApi', 'Genesys Cloud (simulator)'],
			['cxObjectStoreApi', 'Staging object store'],
			['xapiLrsApi', 'xAPI LRS (simulator)'],
		] as const) {
			const data = type === 'genesysWebhookAuthApi' ? { headerName: 'X-CX-Webhook-Secret', secret: SECRET } : c[type];
			ids[type] = { id: await client.createCredential(name, type, data), name };
		}
		const template = loadTemplate(TEMPLATE);
		workflowId = await client.createWorkflow(bindCredentials(template, ids));
		await client.activate(workflowId);
		url = webhookUrl(n8n.baseUrl, template, 'n8n-nodes-cx-training.genesysRecordingTrigger', 'genesys-recording');
		await waitForWebhook(url);
	});

	afterAll(async () => {
		await n8n?.stop();
		await stack?.close();
		rmSync(workDir, { recursive: true, force: true });
	});

	it('loads the package under its real type names', async () => {
		const types = await client.nodeTypes();
		expect(types).toEqual(
			expect.arrayContaining([
				'n8n-nodes-cx-training.genesysRecordingTrigger',
				'n8n-nodes-cx-training.genesysCloud',
				'n8n-nodes-cx-training.lmsPush',
			]),
		);
	});

	it('the Genesys Cloud credential test really calls the API', async () => {
		const tokensBefore = stack.genesys.stats.tokenRequests;
		const good = await client.testCredential(ids.genesysCloudApi.id, ids.genesysCloudApi.name, 'genesysCloudApi', stack.credentials.genesysCloudApi);
		expect(good.status).toBe('OK');
		expect(stack.genesys.stats.tokenRequests).toBeGreaterThan(tokensBefore);
		const wrong = { ...stack.credentials.genesysCloudApi, clientSecret: 'not-the-secret' };
		const wrongId = await client.createCredential('Genesys Cloud (wrong secret)', 'genesysCloudApi', wrong);
		const bad = await client.testCredential(wrongId, 'Genesys Cloud (wrong secret)', 'genesysCloudApi', wrong);
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
		expect((await malformed.json()).field).toBe('body');
		const missing = await post(JSON.stringify({ detail: { topicName: 'x', eventBody: { userId: 'u' } } }));
		expect(missing.status).toBe(400);
		expect((await missing.json()).field).toBe('detail.eventBody.conversationId');
		const traversal = await post(JSON.stringify({ conversationId: '../../secrets' }));
		expect(traversal.status).toBe(400);
		expect((await traversal.json()).field).toBe('conversationId');
		await delay(500);
		expect(await executionCount()).toBe(before);
	});

	it('an EventBridge conversation-end event becomes one private xAPI placeholder, and a redelivery adds nothing', async () => {
		const before = await executionCount();
		const emitted = await stack.genesys.emitConversationEnd({
			webhookUrl: url,
			conversationId: 'e2e-conv-1',
			userId: 'agent-e2e-1',
			shape: 'eventbridge',
			headers: { 'X-CX-Webhook-Secret': SECRET },
		});
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
		const statements = stack.lrs.statements().filter((s) => JSON.stringify(s).includes('e2e-conv-1'));
		expect(statements).toHaveLength(1);

		// Redelivery of the very same event (EventBridge retries at least once).
		const again = await stack.genesys.emitConversationEnd({
			webhookUrl: url,
			conversationId: 'e2e-conv-1',
			userId: 'agent-e2e-1',
			shape: 'eventbridge',
			headers: { 'X-CX-Webhook-Secret': SECRET },
		});
		expect(again.status).toBe(200);
		const [second] = await waitForExecutions(before + 2);
		expect(second.status).toBe('success');
		const secondPush = second.data!.resultData.runData['LMS Push'][0].data!.main![0][0].json;
		expect(secondPush.lmsPush).toMatchObject({ created: false });
		expect(stack.lrs.statements().filter((s) => JSON.stringify(s).includes('e2e-conv-1'))).toHaveLength(1);
	});

	it('the bare eventBody a Process Automation data action posts works the same way', async () => {
		const before = await executionCount();
		const emitted = await stack.genesys.emitConversationEnd({
			webhookUrl: url,
			conversationId: 'e2e-conv-2',
			userId: 'agent-e2e-2',
			shape: 'eventBody',
			headers: { 'X-CX-Webhook-Secret': SECRET },
		});
		expect(emitted.status).toBe(200);
		const [execution] = await waitForExecutions(before + 1);
		expect(execution.status).toBe('success');
		const statement = stack.lrs.statements().find((s) => JSON.stringify(s).includes('e2e-conv-2'));
		expect(statement?.actor).toEqual({ objectType: 'Agent', account: { homePage: 'https://apps.mypurecloud.com', name: 'agent-e2e-2' } });
	});
});
