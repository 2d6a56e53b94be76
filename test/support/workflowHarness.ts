import { dirname, resolve } from 'node:path';

import { ExecutionLifecycleHooks, LazyPackageDirectoryLoader, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	ICredentialsHelper,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type INode,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

/**
 * Runs workflow JSON in-process through n8n's own engine (WorkflowExecute) with this package's built nodes
 * (dist/, loaded the way n8n loads a community package) and stock nodes from n8n-nodes-base.
 * n8n ships no test harness for community packages; this is the smallest one that works.
 */
const PACKAGE_ROOT = resolve(__dirname, '../..');
const loaders = new Map<string, LazyPackageDirectoryLoader>();

async function loader(packageDir: string): Promise<LazyPackageDirectoryLoader> {
	let found = loaders.get(packageDir);
	if (!found) {
		found = new LazyPackageDirectoryLoader(packageDir);
		await found.loadAll();
		loaders.set(packageDir, found);
	}
	return found;
}

class PackageNodeTypes implements INodeTypes {
	constructor(private readonly byPrefix: Map<string, LazyPackageDirectoryLoader>) {}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		const [prefix, name] = splitType(nodeType);
		const found = this.byPrefix.get(prefix);
		if (!found) throw new Error(`No package loaded for node type ${nodeType}`);
		return found.getNode(name).type;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
	}

	getKnownTypes() {
		return {};
	}
}

function splitType(nodeType: string): [string, string] {
	const at = nodeType.lastIndexOf('.');
	return [nodeType.slice(0, at), nodeType.slice(at + 1)];
}

/** Hands out the test's credential data by type; authentication is left to the nodes' own clients. */
export class MockCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly credentials: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	async authenticate(_credentials: ICredentialDataDecryptedObject, _type: string, requestOptions: any) {
		return requestOptions;
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	async getCredentials(): Promise<any> {
		throw new Error('not used in workflow tests');
	}

	async getDecrypted(_additionalData: unknown, _nodeCredentials: unknown, type: string): Promise<ICredentialDataDecryptedObject> {
		const found = this.credentials[type];
		if (!found) throw new Error(`The workflow test provides no credentials of type ${type}`);
		return found;
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties() {
		return [];
	}
}

/**
 * What n8n's engine needs around a test execution. A plain object on purpose: unknown fields must stay
 * undefined (a catch-all mock breaks decryption paths).
 */
export function testAdditionalData(
	executionId: string,
	hooks: ExecutionLifecycleHooks,
	credentials: Record<string, ICredentialDataDecryptedObject>,
): IWorkflowExecuteAdditionalData {
	return {
		executionId,
		hooks,
		credentialsHelper: new MockCredentialsHelper(credentials),
		restApiUrl: 'http://127.0.0.1/rest',
		webhookBaseUrl: 'http://127.0.0.1/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		variables: {},
		currentNodeParameters: undefined,
	} as unknown as IWorkflowExecuteAdditionalData;
}

export interface WorkflowRunResult {
	run: IRun;
	/** Output items (json) of each node's first run, first output. */
	output(nodeName: string, outputIndex?: number): IDataObject[];
	ran(nodeName: string): boolean;
	error?: string;
}

export async function runWorkflow(
	workflowJson: Pick<IWorkflowBase, 'nodes' | 'connections'> & { settings?: IDataObject },
	options: {
		credentials?: Record<string, ICredentialDataDecryptedObject>;
		/** Items fed to the start node; a pass-through start node (No Op) hands them on, a Manual Trigger ignores them. */
		triggerItems?: IDataObject[];
		startNode?: string;
	} = {},
): Promise<WorkflowRunResult> {
	const own = await loader(PACKAGE_ROOT);
	const base = await loader(dirname(require.resolve('n8n-nodes-base/package.json')));
	const nodeTypes = new PackageNodeTypes(
		new Map([
			['n8n-nodes-cx-training', own],
			['n8n-nodes-base', base],
		]),
	);
	const workflow = new Workflow({
		id: 'workflow-test',
		name: 'workflow test',
		nodes: workflowJson.nodes as INode[],
		connections: workflowJson.connections,
		nodeTypes,
		active: false,
		settings: workflowJson.settings ?? {},
	});
	const hooks = new ExecutionLifecycleHooks('manual', 'test-execution', workflow as unknown as IWorkflowBase);
	const done = new Promise<IRun>((resolveRun) => {
		hooks.addHandler('workflowExecuteAfter', (run: IRun) => resolveRun(run));
	});
	const additionalData = testAdditionalData('test-execution', hooks, options.credentials ?? {});

	const startNode = options.startNode ? workflow.getNode(options.startNode) : workflow.getStartNode();
	if (!startNode) throw new Error('The workflow has no start node');
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [
				{
					node: startNode,
					data: { main: [(options.triggerItems ?? [{}]).map((json) => ({ json }))] },
					source: null,
				},
			],
		},
	});
	await new WorkflowExecute(additionalData, 'manual', runExecutionData).processRunExecutionData(workflow);
	const run = await done;
	const runData = run.data.resultData.runData;
	return {
		run,
		output(nodeName, outputIndex = 0) {
			const main = runData[nodeName]?.[0]?.data?.main?.[outputIndex] ?? [];
			return main.map((item) => item.json);
		},
		ran: (nodeName) => Boolean(runData[nodeName]),
		error: run.data.resultData.error?.message,
	};
}
