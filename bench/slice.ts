import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { PROJECT_ROOT, processMemory, startN8n } from '../scripts/lib/n8n';
import { startSlice } from '../scripts/lib/slice';

/**
 * Numbers of the first slice, measured in one process run:
 * - n8n cold start with the package, against a baseline n8n with no community package;
 * - wall time from the conversation-end webhook call to the statement in the LRS;
 * - peak RSS of the n8n process while staging a 64 MiB and a 1 GiB recording (it must not grow with size).
 */
const MiB = 1024 * 1024;

async function main(): Promise<void> {
	const workDir = join(PROJECT_ROOT, '.bench');
	rmSync(workDir, { recursive: true, force: true });
	const port = 5900;

	const baseline = await startN8n({ userFolder: join(workDir, 'baseline'), port: port + 10 });
	const baselineMs = baseline.startedInMs;
	await baseline.stop();

	const slice = await startSlice({ workDir, n8nPort: port, webhookSecret: 'bench-secret-0123456789', genesys: { transcode202Count: 0 } });
	const coldMs = slice.n8n.startedInMs;
	console.log(`n8n cold start: ${(coldMs / 1000).toFixed(1)} s with the package, ${(baselineMs / 1000).toFixed(1)} s without (ratio ${(coldMs / baselineMs).toFixed(2)})`);

	// Webhook → LRS, small recordings (the demo's case): five conversations, median.
	const latencies: number[] = [];
	for (let i = 0; i < 5; i++) {
		const conversationId = `bench-small-${i}`;
		slice.genesys.seedConversation({
			conversationId,
			recordings: [{ recordingId: `${conversationId}-screen`, media: 'screen', users: [{ id: 'agent-b' }], sizeBytes: 2 * MiB, seed: conversationId }],
		});
		latencies.push((await slice.deliver(conversationId, 'agent-b')).ms);
	}
	latencies.sort((a, b) => a - b);
	console.log(`webhook call → statement in the LRS (2 MiB recording): median ${latencies[2]} ms, min ${latencies[0]} ms, max ${latencies[4]} ms`);

	const pid = slice.n8n.process.pid;
	await delay(2000);
	const idle = processMemory(pid).rssMiB;
	const results: Array<{ size: number; peak: number; seconds: number }> = [];
	for (const sizeBytes of [64 * MiB, 1024 * MiB]) {
		const conversationId = `bench-size-${sizeBytes / MiB}`;
		slice.genesys.seedConversation({
			conversationId,
			recordings: [{ recordingId: `${conversationId}-screen`, media: 'screen', users: [{ id: 'agent-b' }], sizeBytes, seed: conversationId }],
		});
		let peak = 0;
		let sampling = true;
		const sampler = (async () => {
			while (sampling) {
				peak = Math.max(peak, processMemory(pid).rssMiB);
				await delay(50);
			}
		})();
		const { ms } = await slice.deliver(conversationId, 'agent-b');
		sampling = false;
		await sampler;
		results.push({ size: sizeBytes, peak, seconds: ms / 1000 });
		console.log(
			`staging ${sizeBytes / MiB} MiB: peak n8n RSS ${peak} MiB (idle ${idle} MiB, +${peak - idle} MiB), ${(ms / 1000).toFixed(1)} s, ${(sizeBytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`,
		);
	}
	const [small, large] = results;
	console.log(
		`peak RSS growth 1 GiB vs 64 MiB: ${large.peak - idle} MiB vs ${small.peak - idle} MiB over idle; ratio of peaks ${(large.peak / small.peak).toFixed(2)} for a 16× larger file`,
	);
	await slice.stop();
	rmSync(workDir, { recursive: true, force: true });
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
