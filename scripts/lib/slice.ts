import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import type { GenesysSimulatorOptions } from '../../test/simulators/genesysCloud';
import type { XapiStatement } from '../../test/simulators/xapiLrs';
import { loadTemplate } from './n8n';
import { TRIGGER_PATH, TRIGGER_TYPE, startRecordingStack, type RecordingStack } from './recordingStack';

export { TRIGGER_TYPE };
export const TEMPLATE = 'genesys-screen-recording-to-lms.json';
export const WEBHOOK_HEADER = 'X-CX-Webhook-Secret';

export interface SliceOptions {
	workDir: string;
	n8nPort: number;
	s3Port?: number;
	genesysPort?: number;
	lrsPort?: number;
	webhookSecret: string;
	genesys?: GenesysSimulatorOptions;
	/** Keep the object store's files in workDir instead of a temp folder. */
	keepObjects?: boolean;
	log?: (line: string) => void;
}

/** The first slice on the recording stack: the staging template (to a private xAPI placeholder) published. */
export interface Slice extends RecordingStack {
	workflowId: string;
	webhookUrl: string;
	/** Posts the conversation-end event as EventBridge would and waits for the statement to reach the LRS. */
	deliver(conversationId: string, userId: string, timeoutMs?: number): Promise<{ status: number; ms: number; statement: XapiStatement }>;
}

export async function startSlice(options: SliceOptions): Promise<Slice> {
	const log = options.log ?? (() => undefined);
	mkdirSync(options.workDir, { recursive: true });
	const stack = await startRecordingStack({
		workDir: options.workDir,
		port: options.n8nPort,
		ports: { s3: options.s3Port, genesys: options.genesysPort, lrs: options.lrsPort },
		objectsDir: options.keepObjects ? join(options.workDir, 's3') : undefined,
		webhookAuth: { headerName: WEBHOOK_HEADER, secret: options.webhookSecret },
		genesys: options.genesys,
		log,
	});
	const template = loadTemplate(TEMPLATE);
	const { id: workflowId, url } = await stack.client.publishTemplate(template, stack.credentialIds, { type: TRIGGER_TYPE, path: TRIGGER_PATH });
	log(`workflow       "${template.name}" published; webhook ${url}`);

	return {
		...stack,
		workflowId,
		webhookUrl: url,
		async deliver(conversationId, userId, timeoutMs = 600000) {
			const started = Date.now();
			const emitted = await stack.endConversation(url, conversationId, userId);
			for (;;) {
				const statement = stack.lrs.statements().find((candidate) => JSON.stringify(candidate.object).includes(`/${conversationId}/`));
				if (statement) return { status: emitted.status, ms: Date.now() - started, statement };
				if (Date.now() - started > timeoutMs) throw new Error(`no statement for ${conversationId} within ${timeoutMs} ms`);
				await delay(20);
			}
		},
	};
}
