import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { generateScreenRecording } from './lib/ffmpeg';
import { OWNER, PROJECT_ROOT } from './lib/n8n';
import { startSlice } from './lib/slice';

/**
 * `npm run demo`: the first slice on embedded defaults, everything on 127.0.0.1. A Genesys Cloud conversation
 * ends; its synthetic screen recording (made with ffmpeg) is staged into the embedded S3 store by real n8n and
 * becomes a private xAPI placeholder in the LRS. `--once` prints the result and exits.
 */
async function main(argv: string[]): Promise<void> {
	const once = argv.includes('--once');
	const port = Number(process.env.CX_DEMO_N8N_PORT ?? 5678);
	const workDir = join(PROJECT_ROOT, '.demo');
	const say = (line: string) => process.stdout.write(`${line}\n`);
	mkdirSync(workDir, { recursive: true });

	say('Generating a 20 s synthetic agent screen recording with ffmpeg…');
	const recordingFile = join(workDir, 'screen-recording.webm');
	generateScreenRecording(recordingFile, { seconds: 20 });
	say(`  ${recordingFile} (${(statSync(recordingFile).size / 1024).toFixed(0)} KiB, VP8 + Opus)`);

	say('Starting the object store, the simulators and n8n with this package…');
	const slice = await startSlice({
		workDir,
		n8nPort: port,
		s3Port: Number(process.env.CX_DEMO_S3_PORT ?? 9100),
		genesysPort: Number(process.env.CX_DEMO_GENESYS_PORT ?? 9101),
		lrsPort: Number(process.env.CX_DEMO_LRS_PORT ?? 9102),
		webhookSecret: 'demo-shared-secret-change-me',
		genesys: { transcode202Count: 1 },
		keepObjects: true,
		log: (line) => say(`  ${line}`),
	});
	const stop = async () => {
		await slice.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());

	const conversationId = `demo-conv-${Date.now()}`;
	slice.genesys.seedConversation({
		conversationId,
		queueId: 'queue-card-payments',
		direction: 'inbound',
		wrapupCode: 'payment-taken',
		recordings: [
			{
				recordingId: `${conversationId}-screen`,
				media: 'screen',
				users: [{ id: 'agent-0042', name: 'Demo Agent' }],
				filePath: recordingFile,
				contentType: 'video/webm',
				startTime: new Date(Date.now() - 20000).toISOString(),
				endTime: new Date().toISOString(),
			},
			{ recordingId: `${conversationId}-audio`, media: 'audio', mediaSubtype: 'Trunk', sizeBytes: 64 * 1024 },
		],
	});
	say(`\nGenesys Cloud ends conversation ${conversationId} (EventBridge → n8n webhook)…`);
	const { status, ms, statement } = await slice.deliver(conversationId, 'agent-0042');
	const [execution] = await slice.client.waitForExecutions(slice.workflowId, 1);
	const profile = slice.lrs.activityProfiles().find((doc) => doc.activityId === (statement.object as { id: string }).id);
	const asset = profile?.json as { stage: string; status: string; visibility: string; object: { bucket: string; key: string; size: number; sha256: string } } | undefined;
	const definition = (statement.object as { definition: { name: Record<string, string>; extensions: Record<string, unknown> } }).definition;

	say(`  webhook answered ${status}; statement in the LRS ${ms} ms after the call; execution ${execution?.id} ${execution?.status}`);
	say('\nWhat the LRS received:');
	say(`  statement ${statement.id}`);
	say(`  actor     ${JSON.stringify(statement.actor)}`);
	say(`  verb      ${(statement.verb as { id: string }).id}`);
	say(`  activity  ${(statement.object as { id: string }).id}`);
	say(`  name      ${Object.values(definition.name)[0]}`);
	for (const [iri, value] of Object.entries(definition.extensions)) say(`  ext       ${iri.split('/').pop()} = ${JSON.stringify(value)}`);
	if (asset) {
		say(`  asset state document: stage=${asset.stage} status=${asset.status} visibility=${asset.visibility}`);
		say(`  staged object: s3://${asset.object.bucket}/${asset.object.key} (${asset.object.size} bytes, sha256 ${asset.object.sha256.slice(0, 16)}…)`);
	}
	say('\nQuarantined: none yet (PII Scan arrives with a later release). Assigned: none yet (Guarded Assign, later).');
	say(`\nn8n editor: ${slice.n8n.baseUrl}  login ${OWNER.email} / ${OWNER.password}`);
	if (once) {
		await slice.stop();
		say('demo finished (--once)');
		process.exit(0);
	}
	say('Running; press Ctrl+C to stop.');
}

main(process.argv.slice(2)).catch((error) => {
	process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
