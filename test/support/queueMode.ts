import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

import { installPackage, startN8n, startPackagedN8n, type N8nClient, type N8nInstance } from '../../scripts/lib/n8n';
import type { PostgresCluster } from './postgres';
import type { RedisServer } from './redis';

/**
 * n8n in queue mode, as a scaled-out production runs it: one main process (editor, API, production webhooks,
 * which it enqueues) and `workers` worker processes that take executions from the Bull queue in Redis, all on one
 * PostgreSQL database. Every process has the package installed in its own user folder, as each host would.
 */
export interface QueueModeN8n {
	main: N8nInstance;
	client: N8nClient;
	workers: N8nInstance[];
	/** Index of the worker whose log says it ran this execution, or -1. */
	workerOf(executionId: string): number;
	stop(): Promise<void>;
}

export async function startQueueModeN8n(options: {
	workDir: string;
	tarball: string;
	basePort: number;
	redis: RedisServer;
	postgres: PostgresCluster;
	workers: number;
	/** Executions one worker runs at a time (`n8n worker --concurrency`). */
	concurrency?: number;
}): Promise<QueueModeN8n> {
	const { postgres, redis } = options;
	const database = 'n8n';
	const admin = new Client({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database });
	await admin.connect();
	try {
		const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
		if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
	} finally {
		await admin.end();
	}
	const env: Record<string, string> = {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: postgres.host,
		DB_POSTGRESDB_PORT: String(postgres.port),
		DB_POSTGRESDB_DATABASE: database,
		DB_POSTGRESDB_USER: postgres.user,
		DB_POSTGRESDB_PASSWORD: '',
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
	};
	// The main process runs the database migrations; the workers start once it is ready.
	const { n8n: main, client } = await startPackagedN8n({ userFolder: join(options.workDir, 'main'), port: options.basePort, tarball: options.tarball, env });
	const workers: N8nInstance[] = [];
	try {
		for (let index = 0; index < options.workers; index++) {
			const userFolder = join(options.workDir, `worker-${index}`);
			installPackage(userFolder, options.tarball);
			workers.push(
				await startN8n({
					userFolder,
					port: options.basePort + 2 * (index + 1),
					// Resume URLs ($execution.resumeUrl) a worker writes must point at the main process, which serves them.
					env: { ...env, N8N_WEBHOOK_URL: `${main.baseUrl}/`, N8N_EDITOR_BASE_URL: main.baseUrl },
					command: 'worker',
					args: [`--concurrency=${options.concurrency ?? 1}`],
				}),
			);
		}
	} catch (error) {
		await Promise.allSettled([main.stop(), ...workers.map((worker) => worker.stop())]);
		throw error;
	}
	return {
		main,
		client,
		workers,
		workerOf(executionId) {
			const line = new RegExp(`Worker started execution ${executionId} \\(job`);
			return workers.findIndex((worker) => line.test(readFileSync(worker.logFile, 'utf8')));
		},
		async stop() {
			await Promise.allSettled(workers.map((worker) => worker.stop()));
			await main.stop();
		},
	};
}
