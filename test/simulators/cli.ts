import { readFileSync } from 'node:fs';

import { startGenesysSimulator, type SimConversation } from './genesysCloud';
import { startXapiLrs } from './xapiLrs';

const USAGE = `Usage:
  cli genesys [--host 127.0.0.1] [--port 0] [--client-id ID] [--client-secret SECRET]
              [--token-ttl SEC] [--media-ttl SEC] [--transcode-ms MS] [--transcode-202-count N]
              [--rate-limit PER_MIN] [--org-id UUID] [--seed conversations.json]
  cli xapi    [--host 127.0.0.1] [--port 0] [--key KEY] [--secret SECRET] [--base-path /xAPI]`;

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
