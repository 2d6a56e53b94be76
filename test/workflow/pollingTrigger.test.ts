import { resolve } from 'node:path';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';
import { NodeApiError, type IDataObject, type INodeParameters, type INodeType } from 'n8n-workflow';

import { createAnalyticsSimulator, type AnalyticsSimulator } from '../simulators/genesysAnalytics';
import { startGenesysSimulator, type GenesysSimulator, type SimConversation } from '../simulators/genesysCloud';
import { itemsOf, loadPollTrigger, pollTrigger } from '../support/pollTrigger';
import { genesysCredentialData } from '../support/stack';

/** The compiled Genesys poll trigger in n8n's engine, driven like n8n drives it (see support/pollTrigger). */
const NODE_DIR = resolve(__dirname, '../../dist/nodes/GenesysRecordingPollTrigger');
const NODE_NAME = 'Genesys Recording Poll Trigger';
const MIN = 60_000;

let nodeType: INodeType;
let analytics: AnalyticsSimulator;
let sim: GenesysSimulator;

beforeAll(async () => {
	nodeType = await loadPollTrigger(NODE_DIR, 'genesysRecordingPollTrigger');
});

beforeEach(async () => {
	analytics = createAnalyticsSimulator();
	sim = await startGenesysSimulator({ extensions: [analytics.extension] });
});

afterEach(async () => {
	jest.restoreAllMocks();
	await sim.close();
});

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function seed(id: string, endedAgoMs: number): SimConversation {
	const conversation: SimConversation = {
		conversationId: id,
		startTime: ago(endedAgoMs + 5 * MIN),
		endTime: ago(endedAgoMs),
		queueId: 'queue-billing',
		direction: 'inbound',
		wrapupCode: 'wrap-resolved',
		participants: [{ purpose: 'agent', userId: `agent-${id}`, participantId: `participant-${id}` }],
		recordings: [{ recordingId: `screen-${id}`, media: 'screen', mediaSubtype: 'Screen', users: [{ id: `agent-${id}` }] }],
	};
	sim.seedConversation(conversation);
	return conversation;
}

/** The item webhook mode would emit for the same conversation, with transport `polling`. */
function expectedItem(conversation: SimConversation): IDataObject {
	const agent = analytics.toAnalytics(conversation).participants.find((participant) => participant.purpose === 'agent')!;
	return {
		source: 'genesys-cloud',
		conversationId: conversation.conversationId,
		userId: `agent-${conversation.conversationId}`,
		queueId: 'queue-billing',
		mediaType: 'VOICE',
		direction: 'INBOUND',
		wrapupCode: 'wrap-resolved',
		participantId: `participant-${conversation.conversationId}`,
		sessionId: agent.sessions[0].sessionId,
		eventTime: conversation.endTime!,
		transport: 'polling',
	};
}

function setUp(parameters: INodeParameters = {}) {
	return pollTrigger({
		nodeType,
		nodeName: NODE_NAME,
		type: 'CUSTOM.genesysRecordingPollTrigger',
		workflowId: 'wf-poll',
		credentials: { genesysCloudApi: { id: 'genesys-cred', name: 'Genesys Cloud (simulator)', data: genesysCredentialData(sim) } },
		parameters,
	});
}

describe('workflow: Genesys Recording Poll Trigger (compiled node, n8n engine)', () => {
	it('gets n8n’s Poll Times parameter because it declares polling', () => {
		expect(nodeType.description.polling).toBe(true);
		expect(nodeType.description.properties[0].name).toBe('pollTimes');
	});

	it('"Fetch Test Event" runs poll() inside WorkflowExecute and returns one sample item, leaving no cursor', async () => {
		seed('conv-sample-old', 50 * MIN);
		const latest = seed('conv-sample-new', 5 * MIN);
		sim.seedConversation({ ...seed('conv-ongoing', 0), startTime: ago(2 * MIN), endTime: undefined });
		const { fetchTestEvent, staticData } = setUp();
		const { run, output } = await fetchTestEvent();
		expect(run.data.resultData.error).toBeUndefined();
		expect(output).toEqual([expectedItem(latest)]);
		expect(analytics.stats.bodies[0]).toMatchObject({ order: 'desc', paging: { pageSize: 25, pageNumber: 1 } });
		expect(staticData()).toEqual({});
	});

	it('scheduled polls: the first looks back its window, later ones emit only what is new, the cursor lives in static data', async () => {
		seed('conv-before-window', 2 * 60 * MIN);
		const first = seed('conv-1', 30 * MIN);
		const second = seed('conv-2', 10 * MIN);
		const { poll, staticData } = setUp({ lookBackMinutes: 60 });

		expect(itemsOf(await poll())).toEqual([expectedItem(first), expectedItem(second)]);
		expect(staticData()).toEqual({ lastConversationEnd: second.endTime, possibleDuplicates: ['conv-2'] });

		expect(await poll()).toBeNull();
		expect(staticData()).toEqual({ lastConversationEnd: second.endTime, possibleDuplicates: ['conv-2'] });

		const third = seed('conv-3', 2 * MIN);
		expect(itemsOf(await poll())).toEqual([expectedItem(third)]);
		expect(staticData()).toEqual({ lastConversationEnd: third.endTime, possibleDuplicates: ['conv-3'] });
	});

	it('logs, does not throw, a failed poll after the first success, keeps the cursor, and catches up next time', async () => {
		const first = seed('conv-1', 30 * MIN);
		const { poll, staticData } = setUp();
		expect(itemsOf(await poll())).toEqual([expectedItem(first)]);
		const cursor = { ...staticData() };

		const during = seed('conv-during-outage', 5 * MIN);
		// Four 503s exhaust the transport's retries.
		analytics.failNext(503, 4);
		const logged = jest.spyOn(Container.get(Logger), 'error').mockImplementation(() => undefined);
		expect(await poll()).toBeNull();
		expect(analytics.stats.queries).toBe(5);
		expect(logged).toHaveBeenCalledTimes(1);
		expect(logged).toHaveBeenCalledWith(
			`There was a problem in '${NODE_NAME}' node polling Genesys Cloud: POST ${sim.baseUrl}/api/v2/analytics/conversations/details/query failed with HTTP 503: Simulated HTTP 503`,
			{ node: NODE_NAME, workflowId: 'wf-poll' },
		);
		expect(JSON.stringify(logged.mock.calls)).not.toContain(sim.clientSecret);
		expect(staticData()).toEqual(cursor);

		expect(itemsOf(await poll())).toEqual([expectedItem(during)]);
	});

	it('throws when the very first poll fails, so activation shows the problem, and stores no cursor', async () => {
		const { poll, staticData } = setUp();
		analytics.failNext(400);
		const error = await poll().then(
			() => undefined,
			(caught: unknown) => caught,
		);
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).message).toBe(
			`POST ${sim.baseUrl}/api/v2/analytics/conversations/details/query failed with HTTP 400: Simulated HTTP 400`,
		);
		expect(staticData()).toEqual({});
	});
});
