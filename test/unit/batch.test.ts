import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BATCH_LIMIT, stageBatch, submitBatch } from '../../nodes/shared/ccaas/genesys/batch';
import { clearGenesysTokenCache, GenesysClient } from '../../nodes/shared/ccaas/genesys/client';
import { closeAllStateStores, openStateStore } from '../../nodes/shared/state';
import type { StateStore } from '../../nodes/shared/state/types';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { HttpError } from '../../nodes/shared/transport/errors';
import { startGenesysSimulator, type GenesysSimulator } from '../simulators/genesysCloud';
import { syntheticSha256 } from '../simulators/syntheticMedia';
import { startS3Server, type S3TestServer } from '../support/s3';
import { simulatorGenesysCredentials } from '../support/genesys';

describe('batch download staging (POST /api/v2/recording/batchrequests)', () => {
	let sim: GenesysSimulator;
	let s3: S3TestServer;
	let state: StateStore;
	let dir: string;
	let client: GenesysClient;

	beforeEach(async () => {
		clearGenesysTokenCache();
		sim = await startGenesysSimulator({ batchPollsToComplete: 2 });
		s3 = await startS3Server();
		dir = mkdtempSync(join(tmpdir(), 'cx-batch-'));
		state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
		client = new GenesysClient(simulatorGenesysCredentials(sim));
	});

	afterEach(async () => {
		await sim.close();
		await s3.close();
		await closeAllStateStores();
		rmSync(dir, { recursive: true, force: true });
	});

	const deps = () => ({ client, store: new ObjectStore(s3.config), state });
	const options = { maxTranscodeWaitMs: 0, serverMaxWaitMs: 0, maxBatchWaitMs: 5000, pollIntervalMs: 10 };

	it('stages the screen recordings of many conversations, skips audio, and reports per-item errors alone', async () => {
		sim.seedConversation({
			conversationId: 'b-1',
			recordings: [
				{ recordingId: 'b-1-screen', media: 'screen', sizeBytes: 300 * 1024, seed: 'b1' },
				{ recordingId: 'b-1-audio', media: 'audio', sizeBytes: 2048 },
			],
		});
		sim.seedConversation({ conversationId: 'b-2', recordings: [{ recordingId: 'b-2-screen', media: 'screen', fileState: 'ARCHIVED', sizeBytes: 1024 }] });
		const result = await stageBatch(
			deps(),
			[{ conversationId: 'b-1', agentId: 'agent-1' }, { conversationId: 'b-2', agentId: 'agent-2' }, { conversationId: 'b-missing' }],
			options,
		);
		expect(result.jobs).toBe(1);
		expect(result.polls).toBe(2);
		expect(result.refs.map((ref) => [ref.recordingId, ref.agent.id, ref.object?.size])).toEqual([['b-1-screen', 'agent-1', 300 * 1024]]);
		expect(result.refs[0].object?.sha256).toBe(await syntheticSha256(300 * 1024, 'b1'));
		expect(result.skipped.map((skip) => [skip.conversationId, skip.outcome, skip.reason])).toEqual([
			['b-2', 'error', 'Recording is archived'],
			['b-missing', 'error', 'Conversation not found'],
		]);
		expect((await state.getRecording('genesys-cloud:b-1:b-1-screen'))?.stage).toBe('staged');
	});

	it('splits more than 100 conversations into jobs of at most 100', async () => {
		const conversations = Array.from({ length: BATCH_LIMIT + 5 }, (_, i) => ({ conversationId: `many-${i}` }));
		for (const { conversationId } of conversations) {
			sim.seedConversation({ conversationId, recordings: [{ recordingId: `${conversationId}-s`, media: 'screen', sizeBytes: 512 }] });
		}
		const result = await stageBatch(deps(), conversations, options);
		expect(result.jobs).toBe(2);
		expect(sim.stats.batchRequests).toBe(2);
		expect(result.refs).toHaveLength(BATCH_LIMIT + 5);
		expect(result.skipped).toEqual([]);
	});

	it('a job not complete in time leaves its conversations for a later run instead of waiting forever', async () => {
		await sim.close();
		sim = await startGenesysSimulator({ batchPollsToComplete: 1000 });
		client = new GenesysClient(simulatorGenesysCredentials(sim));
		sim.seedConversation({ conversationId: 'slow-1', recordings: [{ recordingId: 'slow-1-s', media: 'screen', sizeBytes: 512 }] });
		const result = await stageBatch(deps(), [{ conversationId: 'slow-1' }], { ...options, maxBatchWaitMs: 100 });
		expect(result.refs).toEqual([]);
		expect(result.skipped).toEqual([expect.objectContaining({ conversationId: 'slow-1', outcome: 'not_ready', retryAfterSec: 60 })]);
	});

	it('refuses an empty batch locally and the simulator answers 400 like Genesys', async () => {
		await expect(submitBatch(client, [])).rejects.toThrow('A batch download takes 1 to 100 items, not 0');
		const error = await client
			.api({ method: 'POST', path: '/api/v2/recording/batchrequests', body: { batchDownloadRequestList: [] } })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(HttpError);
		expect((error as HttpError).status).toBe(400);
		expect((error as HttpError).message).toContain('Request list is missing or empty');
	});
});
