import { spawn } from 'node:child_process';

import { SqliteStateStore } from '../../nodes/shared/state/sqlite';
import type { ClaimOutcome } from '../../nodes/shared/state/types';

/**
 * A separate Node.js process racing claims on one SQLite file through SqliteStateStore. The test starts several
 * of them; each opens the store, prints "ready", waits for a start instant on stdin, spins until that instant so
 * all of them begin together, then claims and prints its results as one JSON line.
 *
 * The child has no ts-jest: spawnClaimWorker() installs a require hook that transpiles .ts with the project's
 * TypeScript (types erased, no type check), so the child runs exactly the source under test.
 */
export type ClaimWorkerJob =
	| {
			kind: 'assignments';
			path: string;
			worker: number;
			agents: number;
			claimsPerAgent: number;
			now: string;
	  }
	| { kind: 'idempotency'; path: string; worker: number; keys: number };

export interface AssignmentResult {
	agentId: string;
	claimKey: string;
	outcome: ClaimOutcome['outcome'];
	blockingKey?: string;
}

async function startInstant(): Promise<number> {
	return await new Promise((resolve, reject) => {
		let buffered = '';
		process.stdin.setEncoding('utf8');
		process.stdin.on('data', (chunk: string) => {
			buffered += chunk;
			const newline = buffered.indexOf('\n');
			if (newline >= 0) {
				process.stdin.pause();
				resolve(Number(buffered.slice(0, newline)));
			}
		});
		process.stdin.on('end', () => reject(new Error('stdin closed before the start instant')));
	});
}

export async function runClaimWorker(job: ClaimWorkerJob): Promise<void> {
	const store = new SqliteStateStore(job.path, { busyTimeoutMs: 30000 });
	process.stdout.write('ready\n');
	const startAt = await startInstant();
	while (Date.now() < startAt) {
		// spin: every worker leaves this loop within the same millisecond
	}
	if (job.kind === 'idempotency') {
		const won: number[] = [];
		for (let index = 0; index < job.keys; index++) {
			if (await store.claimIdempotencyKey(`claim-${index}`, 'race')) won.push(index);
		}
		await store.close();
		process.stdout.write(`${JSON.stringify(won)}\n`);
		return;
	}
	const results: AssignmentResult[] = [];
	const nowMs = Date.parse(job.now);
	for (let agent = 0; agent < job.agents; agent++) {
		const agentId = `agent-${agent}`;
		for (let claim = 0; claim < job.claimsPerAgent; claim++) {
			const moduleId = `module-${job.worker}-${claim}`;
			const claimKey = `${agentId}:${moduleId}`;
			const result = await store.claimAssignment({
				claimKey,
				agentId,
				moduleId,
				agentWindowStart: new Date(nowMs - 7 * 86400_000).toISOString(),
				moduleCooldownStart: new Date(nowMs - 30 * 86400_000).toISOString(),
				now: job.now,
			});
			results.push({
				agentId,
				claimKey,
				outcome: result.outcome,
				blockingKey: 'blocking' in result ? result.blocking.claimKey : undefined,
			});
		}
	}
	await store.close();
	process.stdout.write(`${JSON.stringify(results)}\n`);
}

export interface ClaimWorkerProcess {
	/** Resolves once the worker has opened the store. */
	ready: Promise<void>;
	/** Sends the common start instant (epoch ms). */
	start(atMs: number): void;
	/** The worker's last stdout line, parsed. */
	done: Promise<unknown>;
}

export function spawnClaimWorker(job: ClaimWorkerJob): ClaimWorkerProcess {
	const hook = `
		const fs = require('node:fs');
		const ts = require(${JSON.stringify(require.resolve('typescript'))});
		require.extensions['.ts'] = (module, filename) => {
			const source = fs.readFileSync(filename, 'utf8');
			const output = ts.transpileModule(source, {
				fileName: filename,
				compilerOptions: {
					module: ts.ModuleKind.CommonJS,
					target: ts.ScriptTarget.ES2022,
					esModuleInterop: true,
				},
			});
			module._compile(output.outputText, filename);
		};
		require(${JSON.stringify(__filename)})
			.runClaimWorker(JSON.parse(process.argv[1]))
			.catch((error) => { console.error(error); process.exit(1); });
	`;
	const child = spawn(process.execPath, ['--no-warnings', '-e', hook, JSON.stringify(job)], {
		stdio: ['pipe', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	let signalReady: () => void = () => undefined;
	const ready = new Promise<void>((resolve) => {
		signalReady = resolve;
	});
	child.stdout.on('data', (chunk: Buffer) => {
		stdout += chunk.toString();
		if (stdout.includes('ready\n')) signalReady();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const done = new Promise<unknown>((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code) => {
			if (code !== 0) {
				reject(new Error(`claim worker ${job.worker} exited ${code}: ${stderr}`));
				return;
			}
			const last = stdout.trim().split('\n').pop() ?? 'null';
			resolve(JSON.parse(last) as unknown);
		});
	});
	// A worker that dies before "ready" must fail the test instead of hanging it.
	done.catch(() => signalReady());
	return {
		ready,
		start: (atMs) => {
			child.stdin.end(`${atMs}\n`);
		},
		done,
	};
}
