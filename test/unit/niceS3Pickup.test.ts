import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import { idsFromKey, isAfterCursor, pickUpRecordings, DEFAULT_KEY_PATTERN, type BucketCursor } from '../../nodes/shared/ccaas/nice/s3Pickup';
import { closeAllStateStores, openStateStore, type StateStore } from '../../nodes/shared/state';
import { ObjectStore } from '../../nodes/shared/store/objectStore';
import { startS3Server, type S3TestServer } from '../support/s3';

let customerS3: S3TestServer;
let stagingS3: S3TestServer;
let customer: ObjectStore;
let staging: ObjectStore;
let dir: string;
let state: StateStore;

beforeAll(async () => {
	[customerS3, stagingS3] = await Promise.all([startS3Server('customer-recordings'), startS3Server('cx-staging')]);
	customer = new ObjectStore(customerS3.config);
	staging = new ObjectStore(stagingS3.config);
	dir = await mkdtemp(join(tmpdir(), 'cx-nice-s3-'));
	state = await openStateStore({ driver: 'sqlite', path: join(dir, 'state.sqlite') });
});

afterAll(async () => {
	await closeAllStateStores();
	await Promise.all([customerS3.close(), stagingS3.close()]);
	await rm(dir, { recursive: true, force: true });
});

function body(seed: string, size = 6000): Buffer {
	return Buffer.from(createHash('sha512').update(seed).digest('hex').repeat(Math.ceil(size / 128)).slice(0, size));
}

async function put(key: string, content: Buffer): Promise<void> {
	await customer.uploadStream(key, Readable.from([content]), { contentType: 'video/mp4' });
	// s3rver stamps LastModified in whole seconds or milliseconds; space uploads so the order is unambiguous.
	await delay(20);
}

const sha = (content: Buffer) => createHash('sha256').update(content).digest('hex');

describe('NICE CXone customer S3 pickup', () => {
	it('copies new objects under the prefix by streaming, in (LastModified, key) order, and moves the cursor', async () => {
		const a = body('a');
		const b = body('b');
		await put('cxone/2025/03/04/700001_900001.mp4', a);
		await put('cxone/2025/03/04/700002_900002.mp4', b);
		await put('cxone/2025/03/04/700002_900002.json', Buffer.from('{}'));
		await put('cxone/2025/03/04/notes.mp4', Buffer.from('x'));
		await put('elsewhere/700009_900009.mp4', body('z'));

		const deps = { customer, store: staging, sameStore: false, state };
		const first = await pickUpRecordings(deps, { prefix: 'cxone/', cursor: {}, maxObjects: 2 });
		expect(first.refs.map((ref) => [ref.conversationId, ref.recordingId, ref.object?.key, ref.object?.sha256, ref.pickup.copied])).toEqual([
			['700001', '900001', 'recordings/nice-cxone/700001/900001/original.mp4', sha(a), true],
			['700002', '900002', 'recordings/nice-cxone/700002/900002/original.mp4', sha(b), true],
		]);
		expect(first.refs[0]).toMatchObject({ source: 'nice-cxone', stateKey: 'nice-cxone:700001:900001', object: { bucket: 'cx-staging', size: a.length, contentType: 'video/mp4' } });
		expect(first.more).toBe(true);
		expect(first.cursor.key).toBe('cxone/2025/03/04/700002_900002.mp4');
		const copied = Buffer.concat(await (await staging.getStream('recordings/nice-cxone/700002/900002/original.mp4')).toArray());
		expect(sha(copied)).toBe(sha(b));
		expect((await state.getRecording('nice-cxone:700001:900001'))?.stage).toBe('staged');

		// The next run continues after the cursor: the unmatched name is skipped (and passed), nothing is repeated.
		const second = await pickUpRecordings(deps, { prefix: 'cxone/', cursor: first.cursor, maxObjects: 2 });
		expect(second.refs).toEqual([]);
		expect(second.skipped.map((skip) => [skip.key, skip.outcome])).toEqual([['cxone/2025/03/04/notes.mp4', 'unmatched']]);
		expect(second.more).toBe(false);

		const c = body('c');
		await put('cxone/2025/03/05/700003_900003.mp4', c);
		const third = await pickUpRecordings(deps, { prefix: 'cxone/', cursor: second.cursor, maxObjects: 2 });
		expect(third.refs.map((ref) => ref.recordingId)).toEqual(['900003']);
		const fourth = await pickUpRecordings(deps, { prefix: 'cxone/', cursor: third.cursor, maxObjects: 2 });
		expect(fourth.refs).toEqual([]);
	});

	it('in the same store points at the customer object without copying, hashing it by streaming', async () => {
		const d = body('d', 9000);
		await put('same/700004_900004.mp4', d);
		const result = await pickUpRecordings({ customer, store: customer, sameStore: true, state }, { prefix: 'same/', cursor: {} });
		expect(result.refs.map((ref) => ref.object)).toEqual([
			{ bucket: 'customer-recordings', key: 'same/700004_900004.mp4', size: d.length, sha256: sha(d), contentType: 'video/mp4' },
		]);
		expect(result.refs[0].pickup).toEqual({ sourceKey: 'same/700004_900004.mp4', reused: false, copied: false });
		expect(await staging.head('recordings/nice-cxone/700004/900004/original.mp4')).toBeUndefined();
		// Picked up again (a reset cursor): the state row says staged and the object is intact, so it is reused.
		const again = await pickUpRecordings({ customer, store: customer, sameStore: true, state }, { prefix: 'same/', cursor: {} });
		expect(again.refs[0].pickup.reused).toBe(true);
	});

	it('cursor order and key pattern', () => {
		const cursor: BucketCursor = { lastModified: '2025-03-04T10:00:00.000Z', key: 'p/b.mp4' };
		expect(isAfterCursor({ lastModified: '2025-03-04T10:00:00.000Z', key: 'p/a.mp4' }, cursor)).toBe(false);
		expect(isAfterCursor({ lastModified: '2025-03-04T10:00:00.000Z', key: 'p/c.mp4' }, cursor)).toBe(true);
		expect(isAfterCursor({ lastModified: '2025-03-04T09:59:59.000Z', key: 'p/z.mp4' }, cursor)).toBe(false);
		const pattern = new RegExp(DEFAULT_KEY_PATTERN);
		expect(idsFromKey('x/123/456.mp4', pattern)).toBeUndefined();
		expect(idsFromKey('x/123/456.mp4', /(?<contactId>[^/]+)\/(?<recordingId>[^/]+)\.mp4$/)).toEqual({ contactId: '123', recordingId: '456' });
		expect(idsFromKey('x/123_456.mp4', pattern)).toEqual({ contactId: '123', recordingId: '456' });
		expect(idsFromKey('x/..%2F_456.mp4', pattern)).toBeUndefined();
	});
});
