import { readFileSync } from 'node:fs';

import { startGenesysSimulator, type SimConversation } from './genesysCloud';
import { startNiceCxoneSimulator } from './niceCxone';
import { startRestLms } from './restLms';
import { startXapiLrs } from './xapiLrs';

const USAGE = `Usage:
  cli genesys [--host 127.0.0.1] [--port 0] [--client-id ID] [--client-secret SECRET]
              [--token-ttl SEC] [--media-ttl SEC] [--transcode-ms MS] [--transcode-202-count N]
              [--rate-limit PER_MIN] [--org-id UUID] [--seed conversations.json]
  cli xapi    [--host 127.0.0.1] [--port 0] [--key KEY] [--secret SECRET] [--base-path /xAPI]
  cli nice    [--host 127.0.0.1] [--port 0] [--tenant-id ID] [--client-id ID] [--client-secret S]
              [--access-key-id ID] [--access-key-secret S] [--token-ttl SEC] [--media-ttl SEC] [--result-ttl SEC]
              [--extraction-interval-ms MS] [--job-polls N] [--playback-limit N] [--playback-window-ms MS]
              [--casing camel|pascal] [--csv-headers title|camel] [--questions-entity NAME] [--seed file.json]
  cli rest-lms [--host 127.0.0.1] [--port 0] [--token T] [--rate-limit N] [--rate-window-ms MS]
              [--fault-429 F] [--fault-500 F] [--retry-after seconds|http-date|none] [--seed N]`;

interface RunningSimulator {
	close(): Promise<void>;
}

function parseFlags(args: string[]): Map<string, string> {
	const flags = new Map<string, string>();
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		if (!arg.startsWith('--')) throw new Error(`Unexpected argument '${arg}'`);
		const eq = arg.indexOf('=');
		if (eq > 0) {
			flags.set(arg.slice(2, eq), arg.slice(eq + 1));
			continue;
		}
		const value = args[i + 1];
		if (value === undefined || value.startsWith('--')) throw new Error(`Flag ${arg} needs a value`);
		flags.set(arg.slice(2), value);
		i++;
	}
	return flags;
}

function numberFlag(flags: Map<string, string>, name: string): number | undefined {
	const raw = flags.get(name);
	if (raw === undefined) return undefined;
	const value = Number(raw);
	if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number`);
	return value;
}

function checkKnown(flags: Map<string, string>, known: string[]): void {
	for (const name of flags.keys()) {
		if (!known.includes(name)) throw new Error(`Unknown flag --${name}`);
	}
}

/** Starts one simulator, prints its URLs and credentials as one JSON line, and returns it. */
export async function main(
	argv: string[],
	log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<RunningSimulator> {
	const [service, ...rest] = argv;
	const flags = parseFlags(rest);
	const host = flags.get('host') ?? '127.0.0.1';
	const port = numberFlag(flags, 'port') ?? 0;

	if (service === 'genesys') {
		checkKnown(flags, [
			'host',
			'port',
			'client-id',
			'client-secret',
			'token-ttl',
			'media-ttl',
			'transcode-ms',
			'transcode-202-count',
			'rate-limit',
			'org-id',
			'seed',
		]);
		const simulator = await startGenesysSimulator({
			host,
			port,
			clientId: flags.get('client-id'),
			clientSecret: flags.get('client-secret'),
			tokenTtlSec: numberFlag(flags, 'token-ttl'),
			mediaUrlTtlSec: numberFlag(flags, 'media-ttl'),
			transcodeMs: numberFlag(flags, 'transcode-ms'),
			transcode202Count: numberFlag(flags, 'transcode-202-count'),
			rateLimitPerMinute: numberFlag(flags, 'rate-limit'),
			orgId: flags.get('org-id'),
		});
		const seedFile = flags.get('seed');
		if (seedFile) {
			const seeded = JSON.parse(readFileSync(seedFile, 'utf8')) as
				| SimConversation
				| SimConversation[];
			for (const conversation of Array.isArray(seeded) ? seeded : [seeded]) {
				simulator.seedConversation(conversation);
			}
		}
		log(
			JSON.stringify({
				service: 'genesys',
				baseUrl: simulator.baseUrl,
				loginUrl: simulator.loginUrl,
				tokenUrl: `${simulator.loginUrl}/oauth/token`,
				clientId: simulator.clientId,
				clientSecret: simulator.clientSecret,
				orgId: simulator.orgId,
				controlUrl: `${simulator.baseUrl}/__sim`,
				port: simulator.port,
			}),
		);
		return simulator;
	}
	if (service === 'xapi') {
		checkKnown(flags, ['host', 'port', 'key', 'secret', 'base-path']);
		const lrs = await startXapiLrs({
			host,
			port,
			key: flags.get('key'),
			secret: flags.get('secret'),
			basePath: flags.get('base-path'),
		});
		log(
			JSON.stringify({
				service: 'xapi',
				endpoint: lrs.endpoint,
				key: lrs.key,
				secret: lrs.secret,
				controlUrl: `${new URL(lrs.endpoint).origin}/__sim`,
				port: lrs.port,
			}),
		);
		return lrs;
	}
	if (service === 'nice') {
		checkKnown(flags, [
			'host', 'port', 'tenant-id', 'client-id', 'client-secret', 'access-key-id', 'access-key-secret', 'token-ttl',
			'media-ttl', 'result-ttl', 'extraction-interval-ms', 'job-polls', 'playback-limit', 'playback-window-ms',
			'casing', 'csv-headers', 'questions-entity', 'seed',
		]);
		const casing = flags.get('casing');
		const headers = flags.get('csv-headers');
		if (casing && casing !== 'camel' && casing !== 'pascal') throw new Error('--casing must be camel or pascal');
		if (headers && headers !== 'title' && headers !== 'camel') throw new Error('--csv-headers must be title or camel');
		const nice = await startNiceCxoneSimulator({
			host,
			port,
			tenantId: flags.get('tenant-id'),
			clientId: flags.get('client-id'),
			clientSecret: flags.get('client-secret'),
			accessKeyId: flags.get('access-key-id'),
			accessKeySecret: flags.get('access-key-secret'),
			tokenTtlSec: numberFlag(flags, 'token-ttl'),
			mediaUrlTtlSec: numberFlag(flags, 'media-ttl'),
			resultUrlTtlSec: numberFlag(flags, 'result-ttl'),
			extractionIntervalMs: numberFlag(flags, 'extraction-interval-ms'),
			jobPollsToSucceed: numberFlag(flags, 'job-polls'),
			playbackLimit: numberFlag(flags, 'playback-limit'),
			playbackWindowMs: numberFlag(flags, 'playback-window-ms'),
			playbackCasing: casing as 'camel' | 'pascal' | undefined,
			csvHeaders: headers as 'title' | 'camel' | undefined,
			questionsEntityName: flags.get('questions-entity'),
		});
		const seedFile = flags.get('seed');
		if (seedFile) {
			const seeded = JSON.parse(readFileSync(seedFile, 'utf8')) as { contacts?: unknown[]; evaluations?: unknown[] };
			for (const contact of seeded.contacts ?? []) nice.seedContact(contact as Parameters<typeof nice.seedContact>[0]);
			for (const evaluation of seeded.evaluations ?? []) nice.seedEvaluation(evaluation as Parameters<typeof nice.seedEvaluation>[0]);
		}
		log(
			JSON.stringify({
				service: 'nice',
				baseUrl: nice.baseUrl,
				authBaseUrl: nice.authBaseUrl,
				tenantId: nice.tenantId,
				clientId: nice.clientId,
				clientSecret: nice.clientSecret,
				accessKeyId: nice.accessKeyId,
				accessKeySecret: nice.accessKeySecret,
				controlUrl: `${nice.baseUrl}/__sim`,
				port: nice.port,
			}),
		);
		return nice;
	}
	if (service === 'rest-lms') {
		checkKnown(flags, ['host', 'port', 'token', 'rate-limit', 'rate-window-ms', 'fault-429', 'fault-500', 'retry-after', 'seed']);
		const limit = numberFlag(flags, 'rate-limit');
		const retryAfter = flags.get('retry-after') ?? 'seconds';
		if (!['seconds', 'http-date', 'none'].includes(retryAfter)) throw new Error('--retry-after must be seconds, http-date or none');
		const lms = await startRestLms({
			host,
			port,
			auth: { type: 'bearer', token: flags.get('token') ?? 'sim-rest-token' },
			rateLimit: limit ? { limit, windowMs: numberFlag(flags, 'rate-window-ms') ?? 60000 } : undefined,
			faults: {
				seed: numberFlag(flags, 'seed') ?? 1,
				rate429: numberFlag(flags, 'fault-429') ?? 0,
				rate500: numberFlag(flags, 'fault-500') ?? 0,
				retryAfter: retryAfter as 'seconds' | 'http-date' | 'none',
			},
		});
		log(
			JSON.stringify({
				service: 'rest-lms',
				baseUrl: lms.url,
				authType: 'bearer',
				token: lms.auth.type === 'bearer' ? lms.auth.token : undefined,
				controlUrl: `${lms.url}/__sim`,
				port: lms.port,
			}),
		);
		return lms;
	}
	throw new Error(USAGE);
}

async function run(argv: string[]): Promise<void> {
	let simulator: RunningSimulator;
	try {
		simulator = await main(argv);
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n`);
		process.exitCode = 2;
		return;
	}
	const stop = () => {
		simulator.close().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.once('SIGINT', stop);
	process.once('SIGTERM', stop);
}

if (require.main === module) void run(process.argv.slice(2));
