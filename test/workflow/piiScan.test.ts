import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import { closeAllOcrPools } from '../../nodes/shared/pii/ocr';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { startS3Server, type S3TestServer } from '../support/s3';
import { objectStoreCredentialData } from '../support/stack';
import { generateDesktopRecording } from '../support/syntheticRecording';
import { runWorkflow } from '../support/workflowHarness';

let s3: S3TestServer;
let store: ObjectStore;
let dir: string;
let credentials: Record<string, ICredentialDataDecryptedObject>;

beforeAll(async () => {
	s3 = await startS3Server();
	store = new ObjectStore(s3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-pii-wf-'));
	credentials = { cxObjectStoreApi: objectStoreCredentialData(s3) };
}, 60_000);

afterAll(async () => {
	await closeAllOcrPools();
	await s3.close();
	await rm(dir, { recursive: true, force: true });
});

function flow(parameters: IDataObject, onError?: 'continueRegularOutput') {
	return {
		nodes: [
			{ id: '1', name: 'Start', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: '2',
				name: 'PII Scan',
				type: 'n8n-nodes-cx-training.piiScan',
				typeVersion: 1,
				position: [200, 0],
				parameters,
				credentials: { cxObjectStoreApi: { id: 'store', name: 'store' } },
				...(onError ? { onError } : {}),
			},
		] as unknown as INode[],
		connections: { Start: { main: [[{ node: 'PII Scan', type: 'main' as const, index: 0 }]] } },
	};
}

async function staged(name: string, screens: Parameters<typeof generateDesktopRecording>[1]['screens'], extra: IDataObject = {}, seconds = 6): Promise<IDataObject> {
	const file = join(dir, `${name}.webm`);
	await generateDesktopRecording(file, { seconds, width: 1920, height: 1080, fps: 5, audio: 'none', screens });
	const key = `recordings/genesys-cloud/conv-${name}/rec-${name}/original.webm`;
	const object = await store.uploadStream(key, createReadStream(file), { contentType: 'video/webm' });
	return {
		source: 'genesys-cloud',
		conversationId: `conv-${name}`,
		recordingId: `rec-${name}`,
		stateKey: `genesys-cloud:conv-${name}:rec-${name}`,
		agent: { id: 'agent-1' },
		mediaType: 'screen',
		startTime: '2026-11-20T10:00:00.000Z',
		object,
		...extra,
	};
}

const run = (parameters: IDataObject, items: IDataObject[], onError?: 'continueRegularOutput') =>
	runWorkflow(flow(parameters, onError), { credentials, triggerItems: items, startNode: 'Start' });

test('a visible test card number quarantines the recording with a masked finding, a time range and an evidence image', async () => {
	const ref = await staged('card', [
		{ fromSec: 0, toSec: 2, title: 'Customer search', fields: [{ label: 'Customer', value: 'Jane Q. Doe' }, { label: 'Order', value: 'ORD-2024-118842', decoy: 'order_id' }] },
		{ fromSec: 2, toSec: 14, title: 'Payment', fields: [{ label: 'Card number', value: '4111 1111 1111 1111', pii: 'payment_card' }, { label: 'Amount', value: '$1,249.00', decoy: 'amount' }] },
	], {}, 14);
	const result = await run({ intervalSec: 1, options: {} }, [ref]);
	expect(result.error).toBeUndefined();
	expect(result.output('PII Scan', 0)).toEqual([]);
	const [item] = result.output('PII Scan', 1);
	const pii = item.pii as IDataObject;
	expect(pii.verdict).toBe('found');
	const findings = pii.findings as IDataObject[];
	expect(findings.map((finding) => finding.type)).toEqual(['payment_card']);
	expect(findings[0]).toMatchObject({ masked: '**** **** **** 1111', labelled: true });
	expect(findings[0].atSec).toBeGreaterThanOrEqual(1.9);
	expect(findings[0].atSec).toBeLessThanOrEqual(3.1);
	expect(item.visibility).toBe('private');
	expect(pii.evidenceKey).toBe('recordings/genesys-cloud/conv-card/rec-card/evidence.png');
	expect((await store.head(pii.evidenceKey as string))?.contentType).toBe('image/png');
	// The raw number is nowhere in the item.
	expect(JSON.stringify(item)).not.toMatch(/4111 ?1111 ?1111 ?1111/);
	// Visible from 2 s to the end.
	expect(findings[0].untilSec).toBeGreaterThanOrEqual(13);
	expect((pii.stats as IDataObject).sampled).toBe(14);
}, 180_000);

test('a screen with only look-alikes (masked card, order id, Luhn-invalid number) is clean', async () => {
	const ref = await staged('decoys', [
		{
			fromSec: 0,
			toSec: 6,
			title: 'Order history',
			fields: [
				{ label: 'Card on file', value: '**** **** **** 1111', decoy: 'masked_card' },
				{ label: 'Order', value: 'ORD-2024-118842', decoy: 'order_id' },
				{ label: 'Reference', value: '4111 1111 1111 1112', decoy: 'luhn_invalid_card' },
				{ label: 'Ticket', value: 'TCK-555-0199', decoy: 'ticket_id' },
			],
		},
	]);
	const result = await run({ intervalSec: 1, options: {} }, [ref]);
	expect(result.error).toBeUndefined();
	const [item] = result.output('PII Scan', 0);
	expect(item.pii).toMatchObject({ verdict: 'clean', findings: [] });
	expect(result.output('PII Scan', 1)).toEqual([]);
}, 180_000);

test('platform flags quarantine without a scan by default, and are never clean when scanned', async () => {
	const ref = await staged('flagged', [{ fromSec: 0, toSec: 6, title: 'Notes', fields: [{ label: 'Note', value: 'Customer called about delivery' }] }], {
		platformFlags: { securePause: true },
	});
	const held = await run({ intervalSec: 1, options: {} }, [ref]);
	expect(held.output('PII Scan', 1)[0].pii).toMatchObject({ verdict: 'unsure', scanned: false, reasons: ['platform flags: securePause'] });
	const scanned = await run({ intervalSec: 2, platformFlags: 'scan', options: {} }, [ref]);
	expect(scanned.output('PII Scan', 0)).toEqual([]);
	expect(scanned.output('PII Scan', 1)[0].pii).toMatchObject({ verdict: 'unsure', scanned: true, reasons: ['platform flags: securePause'] });
}, 180_000);

test('an invalid custom pattern is refused by name before anything is read; a missing object is quarantined on continue', async () => {
	const ref = { object: { key: 'recordings/genesys-cloud/conv-x/rec-x/original.webm' } };
	const bad = await run({ intervalSec: 1, customPatterns: { pattern: [{ name: 'employee_id', pattern: '(a+)+' }] }, options: {} }, [ref]);
	expect(bad.error).toMatch(/^Custom pattern "employee_id": /);
	const missing = await run({ intervalSec: 1, options: {} }, [ref], 'continueRegularOutput');
	const [item] = missing.output('PII Scan', 1);
	expect(item.pii).toMatchObject({ verdict: 'unsure' });
	expect(item.error).toMatch(/does not exist/);
}, 60_000);
