import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { startGenesysSimulator, type EmitResult, type GenesysSimulator, type GenesysSimulatorOptions } from '../../test/simulators/genesysCloud';
import { startXapiLrs, type XapiLrsSimulator } from '../../test/simulators/xapiLrs';
import { startS3Server, type S3TestServer } from '../../test/support/s3';
import { simulatorCredentials } from '../../test/support/stack';
import { packPackage, startPackagedN8n, type N8nClient, type N8nInstance } from './n8n';

export const TRIGGER_TYPE = 'n8n-nodes-cx-training.genesysRecordingTrigger';
export const TRIGGER_PATH = 'genesys-recording';
export const RECORDINGS_BUCKET = 'cx-training-recordings';

/**
 * What the recording templates run against, all on 127.0.0.1: s3rver, the Genesys Cloud and xAPI LRS simulators,
 * and real n8n with the packed package installed as a community package, with one credential of each type the
 * recording templates use (the state store only when a SQLite path is given; else the default in n8n's folder).
 * The end-to-end tests, the demo and the benchmarks share it.
 */
export interface RecordingStack {
	s3: S3TestServer;
	store: ObjectStore;
	genesys: GenesysSimulator;
	lrs: XapiLrsSimulator;
	n8n: N8nInstance;
	client: N8nClient;
	credentialIds: Record<string, { id: string; name: string }>;
	/** The data of those credentials, by type (e.g. to test or vary one). */
	credentialData: Record<string, Record<string, unknown>>;
	objectBytes(key: string): Promise<Buffer>;
	/** Seeds a conversation whose one screen recording, by `agentId`, is served from `file`. */
	seedScreenRecording(conversation: { conversationId: string; recordingId: string; agentId: string }, file: { file: string; contentType: string }): void;
	/** Genesys Cloud ends the conversation: the EventBridge event, with the webhook secret, posted to `webhookUrl`. */
	endConversation(webhookUrl: string, conversationId: string, userId: string): Promise<EmitResult>;
	stop(): Promise<void>;
}

export interface RecordingStackOptions {
	workDir: string;
	/** n8n's port (the task broker takes the next one). */
	port: number;
	webhookAuth: { headerName: string; secret: string };
	stateSqlitePath?: string;
	genesys?: GenesysSimulatorOptions;
	/** Fixed ports for the object store and the simulators (the demo's defaults); else free ones. */
	ports?: { s3?: number; genesys?: number; lrs?: number };
	/** Keep the object store's files in this folder (the demo) instead of a temp folder removed on stop. */
	objectsDir?: string;
	/** Work done while n8n boots (e.g. encoding the recordings to serve). */
	whileN8nStarts?: () => Promise<void>;
	log?: (line: string) => void;
}

export async function startRecordingStack(options: RecordingStackOptions): Promise<RecordingStack> {
	const log = options.log ?? (() => undefined);
	const s3 = await startS3Server(RECORDINGS_BUCKET, { port: options.ports?.s3, directory: options.objectsDir });
	const store = new ObjectStore(s3.config);
	const genesys = await startGenesysSimulator({ port: options.ports?.genesys, ...options.genesys });
	const lrs = await startXapiLrs({ port: options.ports?.lrs });
	log(`object store   ${s3.endpoint} (bucket ${s3.bucket})`);
	log(`Genesys Cloud  ${genesys.baseUrl} (simulator)`);
	log(`xAPI LRS       ${lrs.endpoint} (simulator)`);

	const userFolder = join(options.workDir, 'n8n');
	rmSync(userFolder, { recursive: true, force: true });
	const tarball = packPackage(join(options.workDir, 'pack'));
	const [{ n8n, client }] = await Promise.all([
		startPackagedN8n({ userFolder, port: options.port, tarball }),
		options.whileN8nStarts?.(),
	]);
	log(`n8n            ${n8n.baseUrl} ready in ${(n8n.startedInMs / 1000).toFixed(1)} s`);

	const credentialData: Record<string, Record<string, unknown>> = {
		genesysWebhookAuthApi: options.webhookAuth,
		...simulatorCredentials(s3, genesys, lrs),
		...(options.stateSqlitePath ? { cxStateStoreApi: { driver: 'sqlite', sqlitePath: options.stateSqlitePath } } : {}),
	};
	const credentialIds = await client.createCredentials(credentialData, {
		genesysWebhookAuthApi: 'Genesys webhook secret',
		genesysCloudApi: 'Genesys Cloud (simulator)',
		cxObjectStoreApi: 'Staging object store',
		xapiLrsApi: 'xAPI LRS (simulator)',
		cxStateStoreApi: 'Pipeline state',
	});
	return {
		s3,
		store,
		genesys,
		lrs,
		n8n,
		client,
		credentialIds,
		credentialData,
		async objectBytes(key) {
			const chunks: Buffer[] = [];
			for await (const chunk of (await store.getStream(key)) as Readable) chunks.push(chunk as Buffer);
			return Buffer.concat(chunks);
		},
		seedScreenRecording(conversation, recording) {
			genesys.seedConversation({
				conversationId: conversation.conversationId,
				queueId: 'queue-billing',
				recordings: [
					{
						recordingId: conversation.recordingId,
						media: 'screen',
						users: [{ id: conversation.agentId }],
						filePath: recording.file,
						contentType: recording.contentType,
					},
				],
			});
		},
		endConversation(webhookUrl, conversationId, userId) {
			return genesys.emitConversationEnd({
				webhookUrl,
				conversationId,
				userId,
				shape: 'eventbridge',
				headers: { [options.webhookAuth.headerName]: options.webhookAuth.secret },
			});
		},
		async stop() {
			await n8n.stop();
			await Promise.allSettled([s3.close(), genesys.close(), lrs.close()]);
		},
	};
}
