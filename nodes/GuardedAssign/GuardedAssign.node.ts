import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { InvalidTimeZoneError } from '../shared/assign/dueDate';
import { completeApproval, DEFAULT_GUARD, guardedAssign, type GuardOptions, type GuardOutcome } from '../shared/assign/guard';
import { DEFAULT_MODULES, policyProblems, type AssignPolicy } from '../shared/assign/policy';
import { evaluationItemProblems } from '../shared/lms/refValidation';
import { credentialTest } from '../shared/n8n/credentialTests';
import { isRemoteFailure, toNodeError } from '../shared/n8n/errors';
import { lmsAdapterFor, lmsTargetProperty, xapiActorProperties } from '../shared/n8n/lmsTargets';
import { stateStoreFor } from '../shared/n8n/resources';
import type { EvaluationItem } from '../shared/recordingRef';
import type { StateStore } from '../shared/state/types';

const OUTPUT = { assigned: 0, skipped: 1, approval: 2 } as const;

export class GuardedAssign implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Guarded Assign',
		name: 'guardedAssign',
		icon: { light: 'file:guardedAssign.svg', dark: 'file:guardedAssign.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "completeApproval" ? "Complete approved assignment" : "Assign remedial training"}}',
		description: 'Assign the remedial module that fits a failed evaluation, at most once per agent per window, with a business-day due date',
		defaults: { name: 'Guarded Assign' },
		documentationUrl: 'https://github.com/cx-training/n8n-nodes-cx-training#guarded-assign',
		inputs: [NodeConnectionTypes.Main],
		outputs: [
			{ type: NodeConnectionTypes.Main, displayName: 'Assigned' },
			{ type: NodeConnectionTypes.Main, displayName: 'Skipped' },
			{ type: NodeConnectionTypes.Main, displayName: 'Approval Needed' },
		],
		usableAsTool: true,
		credentials: [
			{ name: 'xapiLrsApi', required: true, displayOptions: { show: { target: ['xapi'] } } },
			{ name: 'genesysCloudApi', required: true, displayOptions: { show: { target: ['genesysLearning'] } } },
			{ name: 'restLmsApi', required: true, displayOptions: { show: { target: ['rest'] } } },
			{ name: 'cxStateStoreApi', required: false, testedBy: 'cxStateStoreTest' },
		],
		properties: [
			lmsTargetProperty,
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Evaluate and Assign',
						value: 'assign',
						description: 'Decide from a released evaluation whether the agent needs training, then assign it (or ask for approval)',
					},
					{
						name: 'Complete Approved Assignment',
						value: 'completeApproval',
						description: 'Assign (or drop) an assignment that was held for approval, once the approver answered',
					},
				],
				default: 'assign',
			},
			...xapiActorProperties,
			{
				displayName: 'Score Threshold',
				name: 'scoreThreshold',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100 },
				default: 70,
				description: 'Assign training when the total score (0–100) is below this',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Assign on Critical Failure',
				name: 'onCriticalFailure',
				type: 'boolean',
				default: true,
				description: 'Whether a failed critical or kill question assigns training whatever the total score',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Consecutive Fails',
				name: 'consecutiveFails',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 50 },
				default: 3,
				description: 'Assign when the same criterion failed this many evaluations in a row for the agent (this one included). 0 turns it off.',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Modules by Criterion',
				name: 'modules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add Module Mapping',
				default: {
					mapping: Object.entries(DEFAULT_MODULES).map(([criterion, moduleId]) => ({
						criterion: criterion.charAt(0).toUpperCase() + criterion.slice(1),
						moduleId,
					})),
				},
				description: 'Failed criterion (question group name or ID, any case) → remedial module ID. Modules chosen by Taxonomy Map are used after these.',
				displayOptions: { show: { mode: ['assign'] } },
				options: [
					{
						displayName: 'Mapping',
						name: 'mapping',
						values: [
							{ displayName: 'Criterion', name: 'criterion', type: 'string', default: '', placeholder: 'e.g. Compliance' },
							{ displayName: 'Module ID', name: 'moduleId', type: 'string', default: '', placeholder: 'e.g. mod-compliance-101' },
						],
					},
				],
			},
			{
				displayName: 'Agent Window (Days)',
				name: 'agentWindowDays',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 365 },
				default: 7,
				description: 'At most one assignment per agent within this many days, across all workers',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Module Cooldown (Days)',
				name: 'moduleCooldownDays',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 730 },
				default: 28,
				description: 'The same module is not assigned to the same agent again within this many days',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Due in Business Days',
				name: 'dueBusinessDays',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 365 },
				default: 5,
				description: 'Due date: this many working days ahead in the agent’s time zone, never on a weekend',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Require Approval',
				name: 'requireApproval',
				type: 'boolean',
				default: false,
				description: 'Whether to send each assignment to the Approval Needed output (e.g. into a Wait or send-and-wait node) instead of assigning it. The slot is held meanwhile.',
				displayOptions: { show: { mode: ['assign'] } },
			},
			{
				displayName: 'Claim Key',
				name: 'claimKey',
				type: 'string',
				default: '={{ $json.assignment?.claimKey }}',
				required: true,
				description: 'The claim key of the held assignment, from the Approval Needed output',
				displayOptions: { show: { mode: ['completeApproval'] } },
			},
			{
				displayName: 'Approved',
				name: 'approved',
				type: 'string',
				default: '={{ $json.data?.approved ?? $json.body?.approved ?? $json.approved }}',
				description: 'Whether the approver agreed (true or false). Send-and-wait approvals answer data.approved; a Wait node resumed by webhook gives body.approved.',
				displayOptions: { show: { mode: ['completeApproval'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Activity IRI Base',
						name: 'iriBase',
						type: 'string',
						default: 'https://xapi.cx-training.dev',
						description: 'Base of module activity IRIs for the xAPI target',
					},
					{
						displayName: 'Consult LMS History',
						name: 'consultTargetHistory',
						type: 'boolean',
						default: true,
						description: 'Whether to also read the agent’s recent assignments from the LMS (xAPI statements, the target’s assignment list) before assigning',
					},
					{
						displayName: 'Default Time Zone',
						name: 'defaultTimeZone',
						type: 'string',
						default: 'UTC',
						placeholder: 'e.g. Europe/Berlin',
						description: 'IANA time zone used for due dates when the item does not carry agent.timeZone',
					},
					{
						displayName: 'Fallback Module ID',
						name: 'fallbackModuleId',
						type: 'string',
						default: '',
						description: 'Module for a low score whose failed criteria map to no module; empty skips with reason "no module"',
					},
					{
						displayName: 'Holidays',
						name: 'holidays',
						type: 'string',
						default: '',
						placeholder: 'e.g. 2026-12-24, 2026-12-25',
						description: 'Comma-separated non-working days (YYYY-MM-DD) that due dates skip',
					},
					{
						displayName: 'Include Unreleased Evaluations',
						name: 'includeUnreleased',
						type: 'boolean',
						default: false,
						description: 'Whether evaluations not yet released to the agent may assign training',
					},
					{
						displayName: 'Link Asset URL (Genesys Cloud Learning)',
						name: 'assetLinkUrl',
						type: 'string',
						default: '',
						placeholder: 'e.g. https://player.example.com/recordings/{{ $json.conversationId }}',
						description: 'Genesys Cloud Learning only: with each assignment, also assign an External module whose URL step opens this address (the learning asset, e.g. the recording). One module per asset, found again on a retry. Empty: no link.',
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const outputs: INodeExecutionData[][] = [[], [], []];
		let state: StateStore | undefined;
		for (let i = 0; i < items.length; i++) {
			try {
				const mode = this.getNodeParameter('mode', i) as string;
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const guard = guardOptions.call(this, i, options);
				let outcome: GuardOutcome;
				if (mode === 'completeApproval') {
					const claimKey = this.getNodeParameter('claimKey', i) as string;
					if (typeof claimKey !== 'string' || !claimKey) {
						throw new NodeOperationError(this.getNode(), 'Claim Key is empty', { itemIndex: i, description: 'Connect this node after the Approval Needed output (directly or through a Wait node) so $json.assignment.claimKey is set.' });
					}
					const raw = this.getNodeParameter('approved', i) as unknown;
					const approved = raw === 'true' ? true : raw === 'false' ? false : raw;
					if (typeof approved !== 'boolean') {
						throw new NodeOperationError(this.getNode(), `Approved must be true or false; got ${JSON.stringify(approved) ?? 'nothing'}`, { itemIndex: i, description: 'Field: Approved' });
					}
					state ??= await stateStoreFor(this);
					const adapter = await lmsAdapterFor(this, i, { iriBase: options.iriBase as string, assetLinkUrl: options.assetLinkUrl as string });
					outcome = await completeApproval(claimKey, approved, state, adapter, guard, this.getExecutionCancelSignal());
				} else {
					const problems = evaluationItemProblems(items[i].json);
					if (problems.length) {
						throw new NodeOperationError(this.getNode(), `The input item is not an evaluation: ${problems.join('; ')}`, {
							itemIndex: i,
							description: 'Connect Guarded Assign after a node that outputs evaluations (Genesys Cloud → Evaluation, NICE Evaluation Trigger, Taxonomy Map, LMS Push stage 2).',
						});
					}
					const policy = policyFor.call(this, i, options);
					state ??= await stateStoreFor(this);
					const adapter = await lmsAdapterFor(this, i, { iriBase: options.iriBase as string, assetLinkUrl: options.assetLinkUrl as string });
					outcome = await guardedAssign(items[i].json as unknown as EvaluationItem, state, adapter, policy, guard, this.getExecutionCancelSignal());
				}
				outputs[OUTPUT[outcome.output]].push({ json: { ...items[i].json, ...describe(outcome) }, pairedItem: { item: i } });
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (isRemoteFailure(error) && state) {
					// A target failure that survived the transport's retries: kept for a replay with the same claim key.
					await state.addDeadLetter({ node: this.getNode().name, error: nodeError.message, payload: { operation: 'guardedAssign', item: items[i].json } });
				}
				if (this.continueOnFail()) {
					outputs[OUTPUT.assigned].push({ json: { ...items[i].json, error: nodeError.message }, error: nodeError, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return outputs;
	}
}

function describe(outcome: GuardOutcome): IDataObject {
	switch (outcome.output) {
		case 'assigned':
			return { assignment: { ...outcome.assignment, status: 'assigned' }, triggers: outcome.triggers } as unknown as IDataObject;
		case 'approval':
			return { assignment: { ...outcome.assignment, status: 'approval_pending' }, triggers: outcome.triggers } as unknown as IDataObject;
		default:
			return {
				skipped: { reason: outcome.reason, detail: outcome.detail, ...(outcome.moduleId ? { moduleId: outcome.moduleId } : {}), ...(outcome.blocking ? { blocking: outcome.blocking } : {}) },
				triggers: outcome.triggers,
			} as unknown as IDataObject;
	}
}

function policyFor(this: IExecuteFunctions, i: number, options: IDataObject): AssignPolicy {
	const mappings = ((this.getNodeParameter('modules', i, {}) as IDataObject).mapping ?? []) as Array<{ criterion: string; moduleId: string }>;
	const policy: AssignPolicy = {
		scoreThreshold: this.getNodeParameter('scoreThreshold', i) as number,
		onCriticalFailure: this.getNodeParameter('onCriticalFailure', i) as boolean,
		consecutiveFails: this.getNodeParameter('consecutiveFails', i) as number,
		requireReleased: !options.includeUnreleased,
		moduleByCriterion: Object.fromEntries(mappings.map((mapping) => [mapping.criterion ?? '', mapping.moduleId ?? ''])),
		fallbackModuleId: (options.fallbackModuleId as string) || undefined,
	};
	const problems = policyProblems(policy);
	if (problems.length) throw new NodeOperationError(this.getNode(), problems.join('; '), { itemIndex: i });
	return policy;
}

function guardOptions(this: IExecuteFunctions, i: number, options: IDataObject): GuardOptions {
	const mode = this.getNodeParameter('mode', i) as string;
	const holidays = String(options.holidays ?? '')
		.split(',')
		.map((day) => day.trim())
		.filter(Boolean);
	const defaultTimeZone = String(options.defaultTimeZone || 'UTC');
	if (!isTimeZone(defaultTimeZone)) {
		throw new NodeOperationError(this.getNode(), new InvalidTimeZoneError(defaultTimeZone).message, { itemIndex: i, description: 'Field: Default Time Zone' });
	}
	if (mode === 'completeApproval') return { ...DEFAULT_GUARD, defaultTimeZone, holidays };
	return {
		agentWindowDays: this.getNodeParameter('agentWindowDays', i) as number,
		moduleCooldownDays: this.getNodeParameter('moduleCooldownDays', i) as number,
		dueBusinessDays: this.getNodeParameter('dueBusinessDays', i) as number,
		defaultTimeZone,
		holidays,
		requireApproval: this.getNodeParameter('requireApproval', i) as boolean,
		consultTargetHistory: options.consultTargetHistory !== false,
	};
}

function isTimeZone(zone: string): boolean {
	try {
		new Intl.DateTimeFormat('en-US', { timeZone: zone });
		return true;
	} catch {
		return false;
	}
}
