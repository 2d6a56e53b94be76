import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { fullPipelineRecordings, type GeneratedRecording } from '../test/support/syntheticRecording';
import { OWNER, PROJECT_ROOT, loadTemplate, outputOf, type ExecutionSummary } from './lib/n8n';
import { TRIGGER_PATH, TRIGGER_TYPE, startRecordingStack, type RecordingStack } from './lib/recordingStack';

/**
 * `npm run demo`: the full recording pipeline on embedded defaults, everything on 127.0.0.1. Two Genesys Cloud
 * conversations end; real n8n runs the shipped template on each synthetic agent-desktop recording (stage, probe,
 * transcode, PII scan): the clean one becomes a private xAPI placeholder in the LRS, the one showing a test card
 * number is quarantined with an evidence image and nothing is published. `--once` prints the result and exits.
 */
const TEMPLATE = 'genesys-screen-recording-full-pipeline.json';
const QUARANTINE_NODE = 'Quarantined (compliance review)';
const WEBHOOK_AUTH = { headerName: 'X-CX-Webhook-Secret', secret: 'demo-shared-secret-change-me' };

type Json = Record<string, any>;

interface DemoConversation {
	conversationId: string;
	recordingId: string;
	agentId: string;
	what: string;
	recording: GeneratedRecording;
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

async function main(argv: string[]): Promise<void> {
	const once = argv.includes('--once');
	const started = Date.now();
	const workDir = join(PROJECT_ROOT, '.demo');
	// A fresh folder each run: the objects left in .demo/s3 afterwards are exactly the ones printed below.
	rmSync(workDir, { recursive: true, force: true });
	mkdirSync(workDir, { recursive: true });

	say('Starting the object store, the simulators and n8n with this package; meanwhile ffmpeg draws two');
	say('synthetic 1920x1080 agent-desktop recordings (a clean order history; a payment form with a test card)…');
	let recordings: { clean: GeneratedRecording; card: GeneratedRecording } | undefined;
	const stack = await startRecordingStack({
		workDir,
		port: Number(process.env.CX_DEMO_N8N_PORT ?? 5678),
		ports: {
			s3: Number(process.env.CX_DEMO_S3_PORT ?? 9100),
			genesys: Number(process.env.CX_DEMO_GENESYS_PORT ?? 9101),
			lrs: Number(process.env.CX_DEMO_LRS_PORT ?? 9102),
		},
		objectsDir: join(workDir, 's3'),
		stateSqlitePath: join(workDir, 'state.sqlite'),
		webhookAuth: WEBHOOK_AUTH,
		genesys: { transcode202Count: 1 },
		whileN8nStarts: async () => {
			recordings = await fullPipelineRecordings(workDir);
		},
		log: (line) => say(`  ${line}`),
	});
	const stop = async () => {
		await stack.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());

	const template = loadTemplate(TEMPLATE);
	const { id: workflowId, url } = await stack.client.publishTemplate(template, stack.credentialIds, { type: TRIGGER_TYPE, path: TRIGGER_PATH });
	say(`  workflow       "${template.name}" published; webhook ${url}`);

	if (!recordings) throw new Error('the synthetic recordings were not generated');
	const stamp = Date.now();
	const demoConversation = (kind: string, agentId: string, what: string, recording: GeneratedRecording): DemoConversation => {
		const conversationId = `demo-${kind}-${stamp}`;
		return { conversationId, recordingId: `${conversationId}-screen`, agentId, what, recording };
	};
	const conversations = [
		demoConversation('clean', 'agent-0042', 'clean order history, 6 s', recordings.clean),
		demoConversation('card', 'agent-0077', 'payment form with a test card number, 8 s', recordings.card),
	];
	for (const conversation of conversations) stack.seedScreenRecording(conversation, conversation.recording);

	say('\nGenesys Cloud ends both conversations (EventBridge → n8n production webhook)…');
	const emitted = await Promise.all(conversations.map((conversation) => stack.endConversation(url, conversation.conversationId, conversation.agentId)));
	for (const [index, result] of emitted.entries()) say(`  ${conversations[index].conversationId}: webhook answered ${result.status} ${result.body}`);
	const executions = await stack.client.waitForExecutions(workflowId, conversations.length, 240000);
	const byConversation = new Map(executions.map((execution) => [outputOf(execution, 'Genesys Recording Trigger')[0]?.conversationId as string, execution]));

	let allSucceeded = true;
	for (const conversation of conversations) {
		const execution = byConversation.get(conversation.conversationId);
		if (!execution) throw new Error(`no execution for ${conversation.conversationId}`);
		allSucceeded = (await report(stack, template.nodes.map((node) => node.name as string), conversation, execution)) && allSucceeded;
	}

	say(`\nLRS in all: ${stack.lrs.statements().length} statement(s); quarantined recordings publish nothing.`);
	say(`The objects stay in ${join(workDir, 's3')} (s3rver's files) until the next run.`);
	say(`n8n editor: ${stack.n8n.baseUrl}  login ${OWNER.email} / ${OWNER.password}  (workflow ${workflowId}, executions ${executions.map((execution) => execution.id).join(', ')})`);
	say(`demo ready in ${seconds(Date.now() - started)}`);
	if (once) {
		await stack.stop();
		say(allSucceeded ? 'demo finished (--once)' : 'demo finished (--once) with a failed execution');
		process.exit(allSucceeded ? 0 : 1);
	}
	say('Running; press Ctrl+C to stop.');
}

/**
 * What happened to one conversation, in plain words, from its execution, the object store and the LRS; false
 * when the execution failed.
 */
async function report(stack: RecordingStack, nodeOrder: string[], conversation: DemoConversation, execution: ExecutionSummary): Promise<boolean> {
	const runData = execution.data?.resultData.runData ?? {};
	const took = execution.stoppedAt ? Date.parse(execution.stoppedAt) - Date.parse(execution.startedAt) : 0;
	say(`\n■ ${conversation.conversationId} (agent ${conversation.agentId}): ${conversation.what}`);
	say(`  execution ${execution.id}: ${execution.status} in ${seconds(took)} — ${nodeOrder.filter((name) => runData[name]).join(' → ')}`);
	const failure = execution.data?.resultData.error?.message;
	if (failure) {
		say(`  failed: ${failure}`);
		return false;
	}

	const [staged] = outputOf(execution, 'Stage Screen Recordings');
	if (staged?.object) say(`  staged      s3://${staged.object.bucket}/${staged.object.key} (${kib(staged.object.size)}, ${staged.object.contentType})`);

	const probe = outputOf(execution, 'Media Probe')[0]?.probe as Json | undefined;
	if (probe) {
		const fps = probe.fps === undefined ? '' : ` at ${Math.round(probe.fps)} fps`;
		say(`  probe       ${probe.container}, ${probe.codecs.join(' + ')}, ${Number(probe.durationSec).toFixed(1)} s, ${probe.width}x${probe.height}${fps}; flags: ${probe.flags.join(', ') || 'none'}`);
	}

	const rendition = outputOf(execution, 'Media Transcode')[0]?.rendition as Json | undefined;
	if (rendition) {
		say(`  rendition   ${rendition.key} (${kib(rendition.sizeBytes)}, ${rendition.codecs.join(' + ')}, ${rendition.width}x${rendition.height}, ${rendition.mode})`);
		if (rendition.posterKey) say(`  poster      ${rendition.posterKey}`);
	}

	const scanned = [...outputOf(execution, 'PII Scan', 0), ...outputOf(execution, 'PII Scan', 1)][0];
	const pii = scanned?.pii as Json | undefined;
	if (pii) {
		const stats = pii.stats as Json | undefined;
		const read = stats ? ` (${stats.sampled} frames sampled, ${stats.sentToOcr} read by OCR)` : '';
		say(`  PII scan    ${pii.verdict}${read}${pii.findings.length ? '' : ', no findings'}`);
		// Only the masked form ever leaves PII Scan; the raw value is not on the item.
		for (const finding of pii.findings as Json[]) {
			const label = finding.labelled ? ', labelled' : '';
			say(`              ${finding.type} ${finding.masked} at ${finding.atSec.toFixed(1)}–${finding.untilSec.toFixed(1)} s (confidence ${finding.confidence}${label})`);
		}
		for (const reason of (pii.reasons as string[] | undefined) ?? []) say(`              reason: ${reason}`);
		if (pii.evidenceKey) {
			const evidence = await stack.store.head(pii.evidenceKey);
			say(`  evidence    ${pii.evidenceKey} (${evidence ? `${kib(evidence.size)}, ${evidence.contentType}` : 'missing'})`);
		}
	}

	const [mapped] = outputOf(execution, 'Taxonomy Map');
	if (mapped?.taxonomy) {
		const taxonomy = mapped.taxonomy as Json;
		say(`  taxonomy    course ${taxonomy.courseId} (${taxonomy.category}), asset type ${taxonomy.assetType}, visibility ${taxonomy.visibility}, mapped by ${taxonomy.mappedBy}`);
	}

	const statements = stack.lrs.statements().filter((statement) => JSON.stringify(statement.object).includes(`/${conversation.conversationId}/`));
	if (runData[QUARANTINE_NODE] || statements.length === 0) {
		const documents = stack.lrs.activityProfiles().filter((document) => String(document.activityId).includes(conversation.conversationId));
		const outcome = runData[QUARANTINE_NODE] ? 'quarantined — nothing published' : 'nothing received';
		say(`  LRS         ${outcome} (${statements.length} statements, ${documents.length} documents for this conversation)`);
		return execution.status === 'success';
	}
	for (const statement of statements) {
		const activity = statement.object as { id: string; definition?: { extensions?: Record<string, unknown> } };
		const extension = (name: string) => Object.entries(activity.definition?.extensions ?? {}).find(([iri]) => iri.endsWith(`/${name}`))?.[1];
		say(`  LRS         statement ${statement.id} (${(statement.verb as { id: string }).id.split('/').pop()})`);
		say(`              activity ${activity.id}`);
		say(`              visibility ${extension('visibility')}, status ${extension('status')}`);
		const state = stack.lrs.activityProfiles().find((document) => document.activityId === activity.id)?.json as Json | undefined;
		if (state?.mediaUrl) say(`              asset state: stage ${state.stage}, media link → ${new URL(state.mediaUrl).pathname} (signed)`);
	}
	return execution.status === 'success';
}

main(process.argv.slice(2)).catch((error) => {
	process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
