import { CustomDirectoryLoader, ExecutionLifecycleHooks, PollContext, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type INode,
	type INodeParameters,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IWorkflowBase,
} from 'n8n-workflow';

import { testAdditionalData } from './workflowHarness';

/**
 * A compiled poll trigger (dist/, loaded by n8n-core's own CustomDirectoryLoader, so `polling: true` gets n8n's
 * Poll Times parameter) driven the two ways n8n drives it: "Fetch Test Event" through WorkflowExecute in manual
 * mode, and scheduled polls through a PollContext with the workflow's static data kept between them.
 */
export async function loadPollTrigger(directory: string, name: string): Promise<INodeType> {
	const loader = new CustomDirectoryLoader(directory);
	await loader.loadAll();
	return loader.getNode(name).type as INodeType;
}

export interface PollTriggerSetup {
	nodeType: INodeType;
	/** The node's name, also the key of its run data. */
	nodeName: string;
	/** `CUSTOM.<name>`, as CustomDirectoryLoader registers it. */
	type: string;
	workflowId: string;
	/** Credential type → the node's credential reference and the decrypted data served for it. */
	credentials: Record<string, { id: string; name: string; data: ICredentialDataDecryptedObject }>;
	parameters?: INodeParameters;
}

export function pollTrigger(setup: PollTriggerSetup) {
	const { nodeType, nodeName } = setup;
	const node: INode = {
		id: `${setup.workflowId}-trigger`,
		name: nodeName,
		type: setup.type,
		typeVersion: 1,
		position: [0, 0],
		parameters: setup.parameters ?? {},
		credentials: Object.fromEntries(Object.entries(setup.credentials).map(([type, { id, name }]) => [type, { id, name }])),
	};
	const nodeTypes: INodeTypes = { getByName: () => nodeType, getByNameAndVersion: () => nodeType, getKnownTypes: () => ({}) };
	const workflow = new Workflow({ id: setup.workflowId, name: setup.workflowId, nodes: [node], connections: {}, nodeTypes, active: true, settings: {}, staticData: {} });
	const hooks = new ExecutionLifecycleHooks('manual', setup.workflowId, workflow as unknown as IWorkflowBase);
	const additionalData = testAdditionalData(
		setup.workflowId,
		hooks,
		Object.fromEntries(Object.entries(setup.credentials).map(([type, { data }]) => [type, data])),
	);
	const triggerNode = workflow.getNode(nodeName)!;
	return {
		/** One scheduled poll. */
		poll: async () => await nodeType.poll!.call(new PollContext(workflow, triggerNode, additionalData, 'trigger', 'activate')),
		staticData: () => workflow.getStaticData('node', triggerNode),
		/** "Fetch Test Event": the trigger alone through WorkflowExecute in manual mode; the run and its output items. */
		fetchTestEvent: async (): Promise<{ run: IRun; output: IDataObject[] }> => {
			const done = new Promise<IRun>((resolveRun) => hooks.addHandler('workflowExecuteAfter', (run: IRun) => resolveRun(run)));
			const runExecutionData = createRunExecutionData({
				executionData: { nodeExecutionStack: [{ node: triggerNode, data: { main: [[]] }, source: null }] },
			});
			await new WorkflowExecute(additionalData, 'manual', runExecutionData).processRunExecutionData(workflow);
			const run = await done;
			const output = (run.data.resultData.runData[nodeName]?.[0]?.data?.main[0] ?? []).map((item) => item.json);
			return { run, output };
		},
	};
}

/** The items of a poll's first output (none when the poll returned null). */
export const itemsOf = (output: Awaited<ReturnType<NonNullable<INodeType['poll']>>>) => (output?.[0] ?? []).map((item) => item.json);
