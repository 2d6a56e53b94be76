import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, INodeType, INodeTypeDescription, IPollFunctions } from 'n8n-workflow';

import { evaluationOptions, extractionSettings } from '../NiceCxone/actions/evaluation/getEvaluations.operation';
import { credentialTest } from '../NiceCxone/methods/credentialTest';
import { niceClient } from '../NiceCxone/transport';
import { ExtractionJobError } from '../shared/ccaas/nice/extraction';
import { dayOf, extractEvaluations, extractionWindow, selectNewEvaluations, type EvaluationCursor } from '../shared/ccaas/nice/poll';
import { toNodeError } from '../shared/n8n/errors';

const DAY_MS = 86_400_000;
/** "Fetch Test Event" looks back at least a week, so a quiet tenant still yields a sample. */
const SAMPLE_LOOK_BACK_DAYS = 7;

/**
 * Polls NICE CXone QM through Data Extraction jobs (no evaluation webhook exists). Webhook delivery lives in the
 * separate NICE Evaluation Webhook Trigger: n8n treats every node with poll() as a poller.
 */
export class NiceEvaluationTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NICE Evaluation Trigger',
		name: 'niceEvaluationTrigger',
		icon: { light: 'file:niceEvaluationTrigger.svg', dark: 'file:niceEvaluationTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: 'Completed QM evaluations',
		description: 'Checks NICE CXone on a schedule for QM evaluations completed since the last check (Data Extraction API)',
		defaults: { name: 'NICE Evaluation Trigger' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#nice-evaluation-trigger',
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'niceCxoneApi', required: true, testedBy: 'niceCxoneApiTest' }],
		properties: [
			{
				displayName:
					'Each check runs a Data Extraction job (qm-workflows). NICE allows one Data Extraction call per 30 seconds per tenant, so a check takes a minute or more; poll every 5 minutes or less often.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'First Run Look-Back (Days)',
				name: 'lookBackDays',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 90 },
				default: 1,
				description: 'On its first check the trigger picks up evaluations changed this many days ago or later; later checks continue where the previous one stopped',
			},
			{
				...evaluationOptions,
				options: [
					...(evaluationOptions.options ?? []),
					{
						displayName: 'Max Window (Days)',
						name: 'maxWindowDays',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 31 },
						default: 7,
						description: 'Longest date range of one job; after an outage the trigger catches up window by window',
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const node = this.getNode();
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const settings = { ...extractionSettings({ maxWaitSec: 90, ...options }) };
		const lookBackDays = Number(this.getNodeParameter('lookBackDays', 1));
		const nowMs = Date.now();
		let client;
		try {
			client = await niceClient.call(this);
		} catch (error) {
			throw toNodeError(node, error, 0);
		}

		if (this.getMode() === 'manual') {
			const window = { startDate: dayOf(nowMs - Math.max(lookBackDays, SAMPLE_LOOK_BACK_DAYS) * DAY_MS), endDate: dayOf(nowMs + DAY_MS) };
			let outcome;
			try {
				outcome = await extractEvaluations(client, window, { ...settings, maxWaitMs: Math.max(settings.maxWaitMs, 120_000) });
			} catch (error) {
				throw toNodeError(node, error, 0);
			}
			if (outcome.state === 'running') {
				throw new NodeOperationError(node, `The NICE CXone extraction job ${outcome.jobId} is still running; fetch the test event again in a minute`);
			}
			const latest = outcome.evaluations[outcome.evaluations.length - 1];
			return latest ? [[{ json: latest as unknown as IDataObject }]] : null;
		}

		const staticData = this.getWorkflowStaticData('node');
		const cursor: EvaluationCursor = {
			lastUpdated: typeof staticData.lastUpdated === 'string' ? staticData.lastUpdated : undefined,
			possibleDuplicates: Array.isArray(staticData.possibleDuplicates) ? (staticData.possibleDuplicates as string[]) : [],
			pendingJob: staticData.pendingJob as EvaluationCursor['pendingJob'],
		};
		const hadSuccess = typeof staticData.lastSuccessAt === 'string';
		const maxWindowDays = Number(options.maxWindowDays ?? 7) || 7;
		const computed = extractionWindow(cursor, { nowMs, firstRunLookBackDays: lookBackDays, maxWindowDays });
		// A job left RUNNING by the previous poll is finished instead of starting another (one caller per tenant).
		const window = cursor.pendingJob
			? { startDate: cursor.pendingJob.startDate, endDate: cursor.pendingJob.endDate, capped: cursor.pendingJob.endDate < dayOf(nowMs + DAY_MS) }
			: computed;
		let outcome;
		try {
			outcome = await extractEvaluations(client, window, { ...settings, signal: undefined }, cursor.pendingJob?.jobId);
		} catch (error) {
			// A job that failed or expired is dropped; the next poll starts a new one for the same window.
			if (error instanceof ExtractionJobError) delete staticData.pendingJob;
			// Until a poll has succeeded the failure is thrown, so activation shows it; afterwards a passing outage or a
			// throttle shared with another integration is logged and the cursor kept for the next poll.
			if (!hadSuccess) throw toNodeError(node, error, 0);
			this.logger.error(`There was a problem in '${node.name}' node polling NICE CXone: ${(error as Error).message}`, {
				node: node.name,
				workflowId: this.getWorkflow().id,
			});
			return null;
		}
		if (outcome.state === 'running') {
			staticData.pendingJob = { jobId: outcome.jobId, startDate: window.startDate, endDate: window.endDate };
			return null;
		}
		delete staticData.pendingJob;
		const selected = selectNewEvaluations(outcome.evaluations, cursor, window);
		staticData.lastUpdated = selected.cursor.lastUpdated;
		staticData.possibleDuplicates = selected.cursor.possibleDuplicates;
		staticData.lastSuccessAt = new Date(nowMs).toISOString();
		return selected.emit.length > 0 ? [selected.emit.map((item) => ({ json: item as unknown as IDataObject }))] : null;
	}
}
