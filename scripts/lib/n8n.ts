import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** Starts real n8n 2.x on 127.0.0.1 with this package installed the way n8n installs community packages. */
export const PACKAGE_NAME = 'n8n-nodes-cx-training';

/** The project root, found from either the TypeScript source (tests) or its compiled copy in .build/. */
export const PROJECT_ROOT = findRoot(__dirname);

function findRoot(start: string): string {
	for (let dir = start; dir !== resolve(dir, '..'); dir = resolve(dir, '..')) {
		const manifest = join(dir, 'package.json');
		if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === PACKAGE_NAME) return dir;
	}
	throw new Error(`cannot find the ${PACKAGE_NAME} project above ${start}`);
}

export const OWNER = {
	email: 'owner@cx-training.test',
	firstName: 'Demo',
	lastName: 'Owner',
	password: 'CxTraining-demo-1',
};

function npm(args: string[], cwd: string): void {
	const result = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
	if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${result.stderr}`);
}

/** `npm pack` of the built package (dist/ + package.json + README + LICENSE). */
export function packPackage(outDir: string): string {
	mkdirSync(outDir, { recursive: true });
	npm(['pack', '--pack-destination', outDir, '--ignore-scripts'], PROJECT_ROOT);
	const tarball = readdirSync(outDir).find((name) => name.startsWith(`${PACKAGE_NAME}-`) && name.endsWith('.tgz'));
	if (!tarball) throw new Error('npm pack produced no tarball');
	return join(outDir, tarball);
}

/**
 * What n8n's installer does: untar into <user folder>/.n8n/nodes/node_modules/<name>, drop dev and peer
 * dependencies, then `npm install --ignore-scripts`. `--offline` uses npm's cache, so nothing is downloaded.
 */
export function installPackage(userFolder: string, tarball: string): string {
	const target = join(userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE_NAME);
	rmSync(target, { recursive: true, force: true });
	mkdirSync(target, { recursive: true });
	const untar = spawnSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
	if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
	const manifestPath = join(target, 'package.json');
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
	delete manifest.devDependencies;
	delete manifest.peerDependencies;
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	npm(['install', '--omit=dev', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--no-package-lock'], target);
	return target;
}

/**
 * `tarball` installed into a fresh user folder as n8n installs community packages, n8n started on `port`, and a
 * client signed in as the owner with an API key.
 */
export async function startPackagedN8n(options: {
	userFolder: string;
	port: number;
	tarball: string;
	env?: Record<string, string>;
}): Promise<{ n8n: N8nInstance; client: N8nClient }> {
	installPackage(options.userFolder, options.tarball);
	const n8n = await startN8n({ userFolder: options.userFolder, port: options.port, env: options.env });
	const client = new N8nClient(n8n.baseUrl);
	await client.bootstrap();
	return { n8n, client };
}

export interface N8nInstance {
	baseUrl: string;
	port: number;
	userFolder: string;
	process: ChildProcess;
	logFile: string;
	startedInMs: number;
	/** Peak resident memory (VmHWM) and current (VmRSS) of the n8n main process, in MiB. */
	memory(): { rssMiB: number; peakMiB: number };
	stop(): Promise<void>;
}

/**
 * `n8n start` (the main process: editor, API, webhooks) or, with `command: 'worker'`, `n8n worker` for queue
 * mode; a worker's readiness is its own health server on `port` (QUEUE_HEALTH_CHECK_*).
 */
/**
 * Ports fetch() refuses to connect to: the "bad ports" of the WHATWG Fetch standard, which Node's fetch (undici)
 * applies to 127.0.0.1 as well. An n8n on one of them starts but never answers our readiness checks.
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
	1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
	111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
	540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
	6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * The first of `width` consecutive ports at `from + k × width` for a random k below `blocks`, none of which
 * fetch() refuses: test files start n8n on random blocks so that one left over from a crashed run is not hit.
 */
export function randomPortBlock(from: number, blocks: number, width: number): number {
	const usable: number[] = [];
	for (let block = 0; block < blocks; block++) {
		const first = from + block * width;
		if (!Array.from({ length: width }, (_, offset) => first + offset).some((port) => FETCH_BAD_PORTS.has(port))) usable.push(first);
	}
	return usable[Math.floor(Math.random() * usable.length)];
}

export async function startN8n(options: {
	userFolder: string;
	port: number;
	env?: Record<string, string>;
	command?: 'start' | 'worker';
	args?: string[];
}): Promise<N8nInstance> {
	const { userFolder, port } = options;
	if (FETCH_BAD_PORTS.has(port)) throw new Error(`n8n cannot be checked on port ${port}: fetch() refuses it (a WHATWG "bad port"); choose another`);
	const command = options.command ?? 'start';
	mkdirSync(userFolder, { recursive: true });
	const n8nBin = join(PROJECT_ROOT, 'node_modules', 'n8n', 'bin', 'n8n');
	const env: Record<string, string | undefined> = {
		...process.env,
		N8N_USER_FOLDER: userFolder,
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}`,
		N8N_WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_ENCRYPTION_KEY: 'cx-training-local-encryption-key',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		// Every n8n process on one machine needs its own task-broker port.
		N8N_RUNNERS_BROKER_PORT: String(port + 1),
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_LOG_LEVEL: 'info',
		DB_SQLITE_POOL_SIZE: '2',
		...(command === 'worker'
			? { QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(port), N8N_WORKER_SERVER_ADDRESS: '127.0.0.1' }
			: {}),
		...options.env,
	};
	// jest sets NODE_ENV=test, with which `n8n start` exits 1 without a word.
	delete env.NODE_ENV;
	delete env.JEST_WORKER_ID;
	const logFile = join(userFolder, 'n8n.log');
	const log = createWriteStream(logFile);
	const started = Date.now();
	const child = spawn(process.execPath, [n8nBin, command, ...(options.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	child.stdout?.pipe(log);
	child.stderr?.pipe(log);
	let exited: number | null = null;
	child.on('exit', (code) => {
		exited = code ?? -1;
	});
	const baseUrl = `http://127.0.0.1:${port}`;
	for (;;) {
		if (exited !== null) {
			throw new Error(`n8n ${command} exited with ${exited} before it was ready; see ${logFile}:\n${tail(logFile)}`);
		}
		if (Date.now() - started > 120000) {
			child.kill('SIGKILL');
			throw new Error(`n8n ${command} was not ready within 120 s; see ${logFile}:\n${tail(logFile)}`);
		}
		try {
			const response = await fetch(`${baseUrl}/healthz/readiness`);
			if (response.status === 200) break;
		} catch {
			// not listening yet
		}
		await delay(250);
	}
	const startedInMs = Date.now() - started;
	return {
		baseUrl,
		port,
		userFolder,
		process: child,
		logFile,
		startedInMs,
		memory: () => processMemory(child.pid),
		async stop() {
			if (exited !== null) return;
			const done = new Promise((resolveExit) => child.once('exit', resolveExit));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
			await done;
			clearTimeout(timer);
			log.end();
		},
	};
}

function tail(file: string): string {
	try {
		return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
	} catch {
		return '';
	}
}

export function processMemory(pid: number | undefined): { rssMiB: number; peakMiB: number } {
	if (!pid || !existsSync(`/proc/${pid}/status`)) return { rssMiB: 0, peakMiB: 0 };
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
	return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
}

/** n8n's REST API (owner set-up, login, API keys) and public API (credentials, workflows, executions). */
export class N8nClient {
	private cookie = '';
	private apiKey = '';

	constructor(readonly baseUrl: string) {}

	private async call<T>(method: string, path: string, body?: unknown, auth: 'cookie' | 'apiKey' | 'none' = 'apiKey'): Promise<T> {
		const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
		if (auth === 'cookie') headers.cookie = this.cookie;
		if (auth === 'apiKey') headers['x-n8n-api-key'] = this.apiKey;
		const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
		const text = await response.text();
		if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
		const setCookie = response.headers.get('set-cookie');
		if (setCookie?.includes('n8n-auth=')) this.cookie = setCookie.split(';')[0];
		return (text ? JSON.parse(text) : undefined) as T;
	}

	/** Creates the owner on a fresh instance (or logs in if it exists) and an API key with every scope. */
	async bootstrap(owner = OWNER): Promise<void> {
		try {
			await this.call('POST', '/rest/owner/setup', owner, 'none');
		} catch {
			// An owner exists already (a reused user folder): logging in is enough.
		}
		await this.call('POST', '/rest/login', { emailOrLdapLoginId: owner.email, password: owner.password }, 'none');
		const scopes = await this.call<{ data: string[] }>('GET', '/rest/api-keys/scopes', undefined, 'cookie');
		const key = await this.call<{ data: { rawApiKey: string } }>(
			'POST',
			'/rest/api-keys',
			{ label: `cx-training-${Date.now()}`, expiresAt: null, scopes: scopes.data },
			'cookie',
		);
		this.apiKey = key.data.rawApiKey;
	}

	async createCredential(name: string, type: string, data: Record<string, unknown>): Promise<string> {
		const created = await this.call<{ id: string }>('POST', '/api/v1/credentials', { name, type, data });
		return created.id;
	}

	/** The public API's JSON schema of a credential type's data. */
	async credentialSchema<T>(type: string): Promise<T> {
		return this.call<T>('GET', `/api/v1/credentials/schema/${type}`);
	}

	/** n8n's editor "Test" button: runs the credential type's test against the real (or simulated) API. */
	async testCredential(id: string, name: string, type: string, data: Record<string, unknown>): Promise<{ status: string; message: string }> {
		const result = await this.call<{ data: { status: string; message: string } }>(
			'POST',
			'/rest/credentials/test',
			{ credentials: { id, name, type, data } },
			'cookie',
		);
		return result.data;
	}

	/** One credential per type, named after `names[type]` (else the type): the ids `bindCredentials` expects. */
	async createCredentials(
		data: Record<string, Record<string, unknown>>,
		names: Record<string, string> = {},
	): Promise<Record<string, { id: string; name: string }>> {
		const ids: Record<string, { id: string; name: string }> = {};
		for (const [type, values] of Object.entries(data)) {
			const name = names[type] ?? type;
			ids[type] = { id: await this.createCredential(name, type, values), name };
		}
		return ids;
	}

	async createWorkflow(workflow: { name: string; nodes: unknown[]; connections: unknown; settings?: unknown }): Promise<string> {
		const created = await this.call<{ id: string }>('POST', '/api/v1/workflows', {
			name: workflow.name,
			nodes: workflow.nodes,
			connections: workflow.connections,
			settings: workflow.settings ?? { executionOrder: 'v1' },
		});
		return created.id;
	}

	async activate(workflowId: string): Promise<void> {
		await this.call('POST', `/api/v1/workflows/${workflowId}/activate`);
	}

	/**
	 * Imports a template with its credentials bound to `credentialIds`, publishes it and waits until the production
	 * webhook of its `triggerType` node at `path` answers. Returns the workflow id and that webhook's URL.
	 */
	async publishTemplate(
		template: Template,
		credentialIds: Record<string, { id: string; name: string }>,
		trigger: { type: string; path: string },
	): Promise<{ id: string; url: string }> {
		const id = await this.createWorkflow(bindCredentials(template, credentialIds));
		await this.activate(id);
		const url = webhookUrl(this.baseUrl, template, trigger.type, trigger.path);
		await waitForWebhook(url);
		return { id, url };
	}

	async executions(workflowId: string, limit = 20): Promise<ExecutionSummary[]> {
		const result = await this.call<{ data: ExecutionSummary[] }>(
			'GET',
			`/api/v1/executions?workflowId=${workflowId}&includeData=true&limit=${limit}`,
		);
		return result.data;
	}

	/** Waits until the workflow has at least `count` executions and the newest `count` have stopped. */
	async waitForExecutions(workflowId: string, count: number, timeoutMs = 60000): Promise<ExecutionSummary[]> {
		const started = Date.now();
		for (;;) {
			const list = await this.executions(workflowId, Math.max(count, 20));
			if (list.length >= count && list.slice(0, count).every((execution) => execution.stoppedAt)) return list;
			if (Date.now() - started > timeoutMs) throw new Error(`fewer than ${count} finished executions of ${workflowId}`);
			await delay(200);
		}
	}

	async nodeTypes(): Promise<string[]> {
		const types = await this.call<Array<{ name: string }> | { data: Array<{ name: string }> }>('GET', '/types/nodes.json', undefined, 'cookie');
		return (Array.isArray(types) ? types : types.data).map((type) => type.name);
	}
}

export interface ExecutionSummary {
	id: string;
	status: string;
	finished: boolean;
	startedAt: string;
	stoppedAt?: string;
	data?: {
		resultData: {
			runData: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, unknown> }>> }; error?: { message: string } }>>;
			error?: { message: string };
		};
	};
}

/** The items one node emitted on one of its outputs in the execution's first run of it. */
export function outputOf(execution: ExecutionSummary, node: string, output = 0): Array<Record<string, any>> {
	return (execution.data?.resultData.runData[node]?.[0]?.data?.main?.[output] ?? []).map((item) => item.json);
}

/** Webhook registration after activation is asynchronous: poll until the path stops answering 404. */
export async function waitForWebhook(url: string, timeoutMs = 30000): Promise<void> {
	const started = Date.now();
	for (;;) {
		const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		await response.text();
		if (response.status !== 404) return;
		if (Date.now() - started > timeoutMs) throw new Error(`webhook ${url} not registered within ${timeoutMs} ms`);
		await delay(250);
	}
}

/** Rewrites a shipped template's credential references to the ids created on this instance. */
export function bindCredentials<T extends { nodes: Array<{ credentials?: Record<string, { id: string; name: string }> }> }>(
	template: T,
	ids: Record<string, { id: string; name: string }>,
): T {
	const copy = JSON.parse(JSON.stringify(template)) as T;
	for (const node of copy.nodes) {
		for (const type of Object.keys(node.credentials ?? {})) {
			if (!ids[type]) throw new Error(`No credential of type ${type} was created for the template`);
			node.credentials![type] = ids[type];
		}
	}
	return copy;
}

export interface Template {
	name: string;
	nodes: Array<Record<string, any>>;
	connections: unknown;
	settings?: unknown;
}

export function loadTemplate(name: string): Template {
	return JSON.parse(readFileSync(join(PROJECT_ROOT, 'workflows-templates', name), 'utf8'));
}

export function webhookUrl(baseUrl: string, template: { nodes: Array<Record<string, any>> }, triggerType: string, path: string): string {
	const trigger = template.nodes.find((node) => node.type === triggerType);
	if (!trigger?.webhookId) throw new Error(`The template has no ${triggerType} with a webhookId`);
	return `${baseUrl}/webhook/${trigger.webhookId}/${path}`;
}
