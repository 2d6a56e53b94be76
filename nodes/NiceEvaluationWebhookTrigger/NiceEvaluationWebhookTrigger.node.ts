import { NodeConnectionTypes } from 'n8n-workflow';
import type { IDataObject, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { credentialTest } from '../NiceCxone/methods/credentialTest';
import { DEFAULT_COMPLETED_STATES, evaluationsFromForwardedRows, normaliseRow } from '../shared/ccaas/nice/evaluations';
import { isSafeId } from '../shared/ids';
import { secretsEqual } from '../shared/security';

type WebhookRequest = ReturnType<IWebhookFunctions['getRequestObject']> & { rawBody?: Buffer; readRawBody?: () => Promise<void> };

/**
 * For tenants that forward QM evaluations themselves (a Studio script, an integration platform, a scheduled export):
 * qm-workflows columns as JSON, one object, an array, or `{ evaluations: [...] }`. NICE itself offers no evaluation webhook.
 */
export class NiceEvaluationWebhookTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NICE Evaluation Webhook Trigger',
		name: 'niceEvaluationWebhookTrigger',
		icon: { light: 'file:niceEvaluationWebhookTrigger.svg', dark: 'file:niceEvaluationWebhookTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: 'Forwarded QM evaluations',
		description: 'Starts the workflow when your own forwarder posts NICE CXone QM evaluations (qm-workflows fields as JSON)',
		defaults: { name: 'NICE Evaluation Webhook Trigger' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#nice-evaluation-webhook-trigger',
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'niceWebhookAuthApi', required: true, testedBy: 'genesysWebhookSecretTest', displayOptions: { show: { authentication: ['sharedSecret'] } } }],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', responseData: '', path: 'nice-evaluation' }],
		properties: [
			{
				displayName:
					'Post qm-workflows rows as JSON (workflowId, acdId, agentId, workflowState, lastUpdated, scorePercentage, …) to this node’s Production URL. Without a forwarder, use the NICE Evaluation Trigger, which polls.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{ name: 'None (Not for Production)', value: 'none', description: 'Anyone who knows the URL can start the workflow' },
					{ name: 'Shared Secret Header', value: 'sharedSecret', description: 'Requests must carry the credential’s secret in its header; others get 401' },
				],
				default: 'sharedSecret',
			},
			{
				displayName: 'Only Completed',
				name: 'onlyCompleted',
				type: 'boolean',
				default: true,
				description: 'Whether only completed evaluations start the workflow; others are acknowledged and ignored',
			},
			{
				displayName: 'Completed States',
				name: 'completedStates',
				type: 'string',
				default: DEFAULT_COMPLETED_STATES.join(','),
				description: 'Comma-separated workflowState or workflowStatus values that mark a finished evaluation',
			},
			{
				// The raw body is read here, so a bad secret gets 401 before any parsing and bad JSON a 400.
				displayName: 'Options',
				name: 'options',
				type: 'hidden',
				default: { binaryData: true },
			},
		],
	};

	methods = { credentialTest };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject() as WebhookRequest;
		const res = this.getResponseObject();
		const reject = (status: number, error: string, field?: string): IWebhookResponseData => {
			res.status(status).json(field ? { error, field } : { error });
			return { noWebhookResponse: true };
		};
		if (this.getNodeParameter('authentication', 'sharedSecret') === 'sharedSecret') {
			const credentials = await this.getCredentials('niceWebhookAuthApi');
			const name = String(credentials.headerName || 'X-CX-Webhook-Secret').toLowerCase();
			const value = req.headers[name];
			if (!secretsEqual(Array.isArray(value) ? value[0] : value, String(credentials.secret ?? ''))) return reject(401, 'Missing or wrong shared secret');
		}
		let payload: unknown;
		try {
			if (!req.rawBody && req.readRawBody) await req.readRawBody();
			const text = (req.rawBody ?? Buffer.alloc(0)).toString('utf8').replace(/^\uFEFF/, '');
			if (text.trim() === '') return reject(400, 'The request has no body', 'body');
			payload = JSON.parse(text);
		} catch (error) {
			return reject(400, `The body is not valid JSON: ${(error as Error).message}`, 'body');
		}
		const container = isRecord(payload) && Array.isArray(payload.evaluations) ? payload.evaluations : payload;
		const rows = Array.isArray(container) ? container : [container];
		if (rows.length === 0) return reject(400, 'The body holds no evaluation', 'body');
		for (const [index, row] of rows.entries()) {
			const prefix = Array.isArray(container) ? `[${index}].` : '';
			if (!isRecord(row)) return reject(400, `${prefix}evaluation is not a JSON object`, `${prefix}body`);
			const normalised = normaliseRow(row);
			for (const [key, name] of [['workflowid', 'workflowId'], ['acdid', 'acdId']]) {
				if (!isSafeId(normalised[key])) return reject(400, `${prefix}${name} is missing or not a safe id`, `${prefix}${name}`);
			}
			if (!normalised.lastupdated || Number.isNaN(Date.parse(normalised.lastupdated.replace(' ', 'T')))) {
				return reject(400, `${prefix}lastUpdated is missing or not a date`, `${prefix}lastUpdated`);
			}
		}
		const completedStates = String(this.getNodeParameter('completedStates', DEFAULT_COMPLETED_STATES.join(',')))
			.split(',')
			.map((state) => state.trim())
			.filter(Boolean);
		const evaluations = evaluationsFromForwardedRows(rows as Array<Record<string, unknown>>, {
			completedStates,
			onlyCompleted: this.getNodeParameter('onlyCompleted', true) !== false,
		});
		const webhookResponse = { received: rows.length, accepted: evaluations.length };
		if (evaluations.length === 0) return { webhookResponse };
		return { webhookResponse, workflowData: [evaluations.map((item) => ({ json: item as unknown as IDataObject }))] };
	}
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
