import { NodeConnectionTypes } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, INodeType, INodeTypeDescription, IPollFunctions } from 'n8n-workflow';

import { genesysCredentials } from '../GenesysCloud/transport';
import {
	latestEndedConversation,
	pollEndedConversations,
	toConversationEvent,
	type AnalyticsConversation,
	type ConversationEndCursor,
	type PollOutcome,
} from '../shared/ccaas/genesys/analytics';
import { GenesysClient } from '../shared/ccaas/genesys/client';
import { toNodeError } from '../shared/n8n/errors';

/** "Fetch Test Event" looks at least this far back, so a quiet test org still yields a sample. */
const SAMPLE_WINDOW_MS = 24 * 3600_000;

/**
 * Polling sits in its own node: n8n treats every node with poll() as a poller (Workflow.getPollNodes) and, in a
 * manual run, calls poll() before it would pass on webhook data, so one node cannot offer both transports.
 */
export class GenesysRecordingPollTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Genesys Recording Poll Trigger',
		name: 'genesysRecordingPollTrigger',
		icon: { light: 'file:genesysRecordingPollTrigger.svg', dark: 'file:genesysRecordingPollTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["screenRecordingsOnly"] === false ? "Ended conversations" : "Ended conversations with a screen recording"}}',
		description:
			'Checks Genesys Cloud on a schedule for conversations that ended with a screen recording, for set-ups where Genesys events cannot reach n8n',
		defaults: { name: 'Genesys Recording Poll Trigger' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#genesys-recording-trigger',
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'genesysCloudApi', required: true }],
		properties: [
			{
				displayName:
					'Asks Genesys Cloud analytics for conversations that ended since the last check. Where EventBridge or a data action can reach n8n, the webhook-based Genesys Recording Trigger starts workflows sooner.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'First Run Look-Back (Minutes)',
				name: 'lookBackMinutes',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10080 },
				default: 60,
				description:
					'On its first check after activation the trigger picks up conversations that ended this long ago or later; every later check continues where the previous one stopped',
			},
			{
				displayName: 'Only Conversations With a Screen Recording',
				name: 'screenRecordingsOnly',
				type: 'boolean',
				default: true,
				description:
					'Whether Genesys only returns conversations in which a screen recording was started. Turn off if Genesys refuses the filter (HTTP 400): every ended conversation then starts the workflow.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Settle Delay (Seconds)',
						name: 'settleSeconds',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 3600 },
						default: 60,
						description:
							'Conversations that ended less than this long ago wait for the next check, giving Genesys analytics time to record them',
					},
				],
			},
		],
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const node = this.getNode();
		const lookBackMinutes = Number(this.getNodeParameter('lookBackMinutes', 60)) || 60;
		const screenRecordingsOnly = this.getNodeParameter('screenRecordingsOnly', true) !== false;
		const options = this.getNodeParameter('options', {}) as { settleSeconds?: number };
		const settleSeconds = Number.isFinite(Number(options.settleSeconds)) ? Number(options.settleSeconds) : 60;
		const credentials = await this.getCredentials('genesysCloudApi');
		let client: GenesysClient;
		try {
			client = new GenesysClient(genesysCredentials(credentials));
		} catch (error) {
			throw toNodeError(node, error, 0);
		}
		const nowMs = Date.now();
		const lookBackMs = Math.max(1, lookBackMinutes) * 60_000;

		if (this.getMode() === 'manual') {
			let sample: AnalyticsConversation | undefined;
			try {
				sample = await latestEndedConversation(client, {
					nowMs,
					windowMs: Math.max(lookBackMs, SAMPLE_WINDOW_MS),
					screenRecordingsOnly,
				});
			} catch (error) {
				throw toNodeError(node, error, 0);
			}
			const event = sample && toConversationEvent(sample);
			return event ? [[{ json: event as unknown as IDataObject }]] : null;
		}

		const staticData = this.getWorkflowStaticData('node');
		const previous: ConversationEndCursor = {
			lastConversationEnd: typeof staticData.lastConversationEnd === 'string' ? staticData.lastConversationEnd : undefined,
			possibleDuplicates: Array.isArray(staticData.possibleDuplicates) ? (staticData.possibleDuplicates as string[]) : [],
		};
		// Stop asking for further pages well inside the engine's time budget; the cursor keeps the rest for later.
		const budgetMs = typeof this.getPollBudgetMs === 'function' ? this.getPollBudgetMs() : 5 * 60_000;
		let outcome: PollOutcome;
		try {
			outcome = await pollEndedConversations(client, previous, {
				nowMs,
				firstRunLookBackMs: lookBackMs,
				settleMs: Math.max(0, settleSeconds) * 1000,
				screenRecordingsOnly,
				deadlineMs: nowMs + budgetMs / 2,
			});
		} catch (error) {
			// Until a poll has succeeded the failure is thrown, so activation shows it; afterwards a passing
			// outage must not deactivate the workflow: log it, keep the cursor, try again at the next poll.
			if (!previous.lastConversationEnd) throw toNodeError(node, error, 0);
			logPollError(this, error as Error);
			return null;
		}
		if (outcome.error) logPollError(this, outcome.error);
		staticData.lastConversationEnd = outcome.cursor.lastConversationEnd;
		staticData.possibleDuplicates = outcome.cursor.possibleDuplicates;

		const items: INodeExecutionData[] = [];
		for (const conversation of outcome.conversations) {
			const event = toConversationEvent(conversation);
			if (event) items.push({ json: event as unknown as IDataObject });
		}
		return items.length > 0 ? [items] : null;
	}
}

/** Logs a poll failure; HttpError messages carry no tokens or signed URLs. */
function logPollError(context: IPollFunctions, error: Error): void {
	const node = context.getNode();
	context.logger.error(`There was a problem in '${node.name}' node polling Genesys Cloud: ${error.message}`, {
		node: node.name,
		workflowId: context.getWorkflow().id,
	});
}
