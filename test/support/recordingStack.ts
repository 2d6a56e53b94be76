import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { packPackage, startPackagedN8n, type N8nClient, type N8nInstance } from '../../scripts/lib/n8n';
import { startGenesysSimulator, type GenesysSimulator, type GenesysSimulatorOptions } from '../simulators/genesysCloud';
import { startXapiLrs, type XapiLrsSimulator } from '../simulators/xapiLrs';
import { startS3Server, type S3TestServer } from './s3';
import { simulatorCredentials } from './stack';

/**
 * What the recording-half end-to-end tests run against: s3rver, the Genesys Cloud and xAPI LRS simulators, and
 * real n8n with the packed package installed as a community package, with one credential of each type the
 * recording templates use (the state store only when a SQLite path is given; else the default in n8n's folder).
 */
export interface RecordingStack {
	s3: S3TestServer;
	store: ObjectStore;
	genesys: GenesysSimulator;
	lrs: XapiLrsSimulator;
	n8n: N8nInstance;
	client: N8nClient;
	credentialIds: Record<string, { id: string; name: string }>;
	objectBytes(key: string): Promise<Buffer>;
	/** Seeds a conversation whose one screen recording, by `agentId`, is served from `file`. */
	seedScreenRecording(conversation: { conversationId: string; recordingId: string; agentId: string }, file: { file: string; contentType: string }): void;
	stop(): Promise<void>;
}

export async function startRecordingStack(options: {
	workDir: string;
	port: number;
	webhookAuth: { headerName: string; secret: string };
	stateSqlitePath?: string;
	genesys?: GenesysSimulatorOptions;
	/** Work done while n8n boots (e.g. encoding the recordings to serve). */
	whileN8nStarts?: () => Promise<void>;
}): Promise<RecordingStack> {
	const s3 = await startS3Server('cx-training-recordings');
	const store = new ObjectStore(s3.config);
	const genesys = await startGenesysSimulator(options.genesys);
	const lrs = await startXapiLrs();
	const tarball = packPackage(join(options.workDir, 'pack'));
	const [{ n8n, client }] = await Promise.all([
		startPackagedN8n({ userFolder: join(options.workDir, 'n8n'), port: options.port, tarball }),
		options.whileN8nStarts?.(),
	]);
	const credentialIds = await client.createCredentials(
		{
			genesysWebhookAuthApi: options.webhookAuth,
			...simulatorCredentials(s3, genesys, lrs),
			...(options.stateSqlitePath ? { cxStateStoreApi: { driver: 'sqlite', sqlitePath: options.stateSqlitePath } } : {}),
		},
		{ genesysWebhookAuthApi: 'Genesys webhook secret', genesysCloudApi: 'Genesys Cloud (simulator)', cxObjectStoreApi: 'Staging object store', xapiLrsApi: 'xAPI LRS (simulator)' },
	);
	return {
		s3,
		store,
		genesys,
		lrs,
		n8n,
		client,
		credentialIds,
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
		async stop() {
			await n8n.stop();
			await Promise.allSettled([s3.close(), genesys.close(), lrs.close()]);
		},
	};
}
