// Offline equivalent of `npx @n8n/scan-community-package`: its analyzePackage() on the source tree and on the
// packed tarball (the CLI itself only takes published, provenance-attested packages). Prints what it finds and
// fails only on findings outside the ones this self-hosted media package accepts on purpose (README, "Lint").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';
import glob from 'fast-glob';
import {
	SOURCE_FILE_PATTERNS,
	analyzePackage,
	buildScanConfig,
} from '@n8n/scan-community-package/scanner/scanner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Rules the package breaks by design, each with the reason. */
const ACCEPTED = {
	'@n8n/community-nodes/no-runtime-dependencies':
		'the AWS SDK (multipart streaming to S3) and xapi-validation are runtime dependencies',
	'@n8n/community-nodes/no-restricted-imports':
		'node: built-ins (streams, crypto, sqlite, timers) move media and state without buffering',
	'@n8n/community-nodes/no-restricted-globals':
		'fetch/AbortSignal/process are needed by the streaming transport and the embedded state store',
	'@n8n/community-nodes/require-node-api-error':
		'n8n-free domain code (nodes/shared) throws domain errors; nodes map them to NodeApiError/NodeOperationError',
	'@n8n/community-nodes/no-dangerous-functions':
		'ffmpeg/ffprobe are spawned in one place (nodes/shared/media/tools.ts) with argv arrays, never a shell string',
	'@n8n/community-nodes/webhook-lifecycle-complete':
		'EventBridge / Process Automation deliver to the trigger URL; nothing is registered from n8n',
};

async function structured(dir, patterns) {
	const eslint = new ESLint({ cwd: dir, allowInlineConfig: false, overrideConfigFile: true, overrideConfig: await buildScanConfig() });
	const files = glob.sync(patterns, { cwd: dir, absolute: true, ignore: ['node_modules/**', '**/package-lock.json'] });
	const counts = {};
	for (const result of await eslint.lintFiles(files)) {
		for (const message of result.messages) {
			if (message.severity < 2) continue;
			const rule = message.ruleId ?? 'parse-error';
			counts[rule] ??= { count: 0, first: `${result.filePath.replace(dir + '/', '')}:${message.line} ${message.message}` };
			counts[rule].count++;
		}
	}
	return counts;
}

async function scan(label, dir, patterns) {
	const verdict = await analyzePackage(dir, patterns);
	const counts = await structured(dir, patterns);
	console.log(`\n${label}: analyzePackage → ${verdict.passed ? 'PASSED' : `FAILED (${verdict.message})`}`);
	let unexpected = 0;
	for (const [rule, { count, first }] of Object.entries(counts).sort()) {
		const reason = ACCEPTED[rule];
		console.log(`  ${reason ? 'accepted  ' : 'UNEXPECTED'} ${rule} ×${count}${reason ? ` — ${reason}` : `\n             e.g. ${first}`}`);
		if (!reason) unexpected++;
	}
	return unexpected;
}

const packDir = mkdtempSync(join(tmpdir(), 'cx-scan-'));
try {
	execFileSync('npm', ['pack', '--pack-destination', packDir, '--ignore-scripts', '--silent'], { cwd: root, stdio: 'ignore' });
	const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'));
	execFileSync('tar', ['-xzf', join(packDir, tarball), '-C', packDir]);
	let unexpected = await scan('source', root, SOURCE_FILE_PATTERNS);
	unexpected += await scan('tarball', join(packDir, 'package'), ['dist/**/*.js', 'package.json']);
	if (unexpected > 0) {
		console.error(`\nscan: ${unexpected} unexpected rule(s) fired`);
		process.exit(1);
	}
	console.log('\nscan: only the accepted findings above');
} finally {
	rmSync(packDir, { recursive: true, force: true });
}
