import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { startS3Server, type S3TestServer } from '../../test/support/s3';
import { simulatorCredentials } from '../../test/support/stack';
import { startGenesysSimulator, type GenesysSimulator, type GenesysSimulatorOptions } from '../../test/simulators/genesysCloud';
import { startXapiLrs, type XapiLrsSimulator, type XapiStatement } from '../../test/simulators/xapiLrs';
import { loadTemplate, packPackage, startPackagedN8n, type N8nClient, type N8nInstance } from './n8n';

export const TEMPLATE = 'genesys-screen-recording-to-lms.json';
export const TRIGGER_TYPE = 'n8n-nodes-cx-training.genesysRecordingTrigger';
export const WEBHOOK_HEADER = 'X-CX-Webhook-Secret';

export interface SliceOptions {
	workDir: string;
	n8nPort: number;
	s3Port?: number;
	genesysPort?: number;
	lrsPort?: number;
	webhookSecret: string;
	genesys?: GenesysSimulatorOptions;
	/** Keep the object store's files in workDir (the demo) instead of a temp folder. */
	keepObjects?: boolean;
	log?: (line: string) => void;
}

/** The whole first slice on 127.0.0.1: S3, Genesys Cloud and xAPI simulators, and real n8n with the template published. */
export interface Slice {
	s3: S3TestServer;
	genesys: GenesysSimulator;
	lrs: XapiLrsSimulator;
	n8n: N8nInstance;
	client: N8nClient;
	workflowId: string;
	webhookUrl: string;
	credentialIds: Record<string, { id: string; name: string }>;
	credentialData: Record<string, Record<string, unknown>>;
	/** Posts the conversation-end event as EventBridge would and waits for the statement to reach the LRS. */
	deliver(conversationId: string, userId: string, timeoutMs?: number): Promise<{ status: number; ms: number; statement: XapiStatement }>;
	stop(): Promise<void>;
}

export async function startSlice(options: SliceOptions): Promise<Slice> {
	const log = options.log ?? (() => undefined);
	mkdirSync(options.workDir, { recursive: true });
	const s3 = await startS3Server('cx-training-recordings', {
		port: options.s3Port,
		directory: options.keepObjects ? join(options.workDir, 's3') : undefined,
	});
	const genesys = await startGenesysSimulator({ port: options.genesysPort, ...options.genesys });
	const lrs = await startXapiLrs({ port: options.lrsPort });
	log(`object store   ${s3.endpoint} (bucket ${s3.bucket})`);
	log(`Genesys Cloud  ${genesys.baseUrl} (simulator)`);
	log(`xAPI LRS       ${lrs.endpoint} (simulator)`);

	const userFolder = join(options.workDir, 'n8n');
	rmSync(userFolder, { recursive: true, force: true });
	const { n8n, client } = await startPackagedN8n({ userFolder, port: options.n8nPort, tarball: packPackage(join(options.workDir, 'pack')) });
	log(`n8n            ${n8n.baseUrl} ready in ${(n8n.startedInMs / 1000).toFixed(1)} s`);

	const credentialData: Record<string, Record<string, unknown>> = {
		genesysWebhookAuthApi: { headerName: WEBHOOK_HEADER, secret: options.webhookSecret },
		...simulatorCredentials(s3, genesys, lrs),
	};
	const names: Record<string, string> = {
		genesysWebhookAuthApi: 'Genesys webhook secret',
		genesysCloudApi: 'Genesys Cloud (simulator)',
		cxObjectStoreApi: 'Staging object store',
		xapiLrsApi: 'xAPI LRS (simulator)',
	};
	const credentialIds = await client.createCredentials(credentialData, names);
	const template = loadTemplate(TEMPLATE);
	const { id: workflowId, url } = await client.publishTemplate(template, credentialIds, { type: TRIGGER_TYPE, path: 'genesys-recording' });
	log(`workflow       "${template.name}" published; webhook ${url}`);

	return {
		s3,
		genesys,
		lrs,
		n8n,
		client,
		workflowId,
		webhookUrl: url,
		credentialIds,
		credentialData,
		async deliver(conversationId, userId, timeoutMs = 600000) {
			const started = Date.now();
			const emitted = await genesys.emitConversationEnd({
				webhookUrl: url,
				conversationId,
				userId,
				shape: 'eventbridge',
				headers: { [WEBHOOK_HEADER]: options.webhookSecret },
			});
			for (;;) {
				const statement = lrs.statements().find((candidate) => JSON.stringify(candidate.object).includes(`/${conversationId}/`));
				if (statement) return { status: emitted.status, ms: Date.now() - started, statement };
				if (Date.now() - started > timeoutMs) throw new Error(`no statement for ${conversationId} within ${timeoutMs} ms`);
				await delay(20);
			}
		},
		async stop() {
			await n8n.stop();
			await Promise.allSettled([s3.close(), genesys.close(), lrs.close()]);
		},
	};
}
