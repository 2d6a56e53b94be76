import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ObjectStoreConfig } from '../../nodes/shared/store/types';

/** The slice of s3rver 3.7.1 (untyped) used here. */
interface S3rverInstance {
	run(): Promise<AddressInfo>;
	close(): Promise<void>;
	httpServer?: Server;
}
type S3rverConstructor = new (options: {
	address: string;
	port: number;
	silent: boolean;
	directory: string;
	configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

export interface S3TestServer {
	endpoint: string;
	bucket: string;
	accessKeyId: 'S3RVER';
	secretAccessKey: 'S3RVER';
	/** Path-style, WHEN_REQUIRED checksums: what s3rver needs (DESIGN.md §3). */
	config: ObjectStoreConfig;
	close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 with a free port and one bucket, storing objects in a fresh temp folder. */
export async function startS3Server(
	bucket = 'cx-training-test',
	options: { port?: number; directory?: string } = {},
): Promise<S3TestServer> {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const S3rver = require('s3rver') as S3rverConstructor;
	// A given directory (the demo's) is kept on close; a temporary one is removed.
	const keep = options.directory !== undefined;
	const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
	const server = new S3rver({
		address: '127.0.0.1',
		port: options.port ?? 0,
		silent: true,
		directory,
		configureBuckets: [{ name: bucket }],
	});
	let address: AddressInfo;
	try {
		// run() resolves with httpServer.address(), which carries the port the OS picked for port 0.
		address = await server.run();
	} catch (error) {
		if (!keep) await rm(directory, { recursive: true, force: true });
		throw error;
	}
	const endpoint = `http://127.0.0.1:${address.port}`;
	let closed = false;
	return {
		endpoint,
		bucket,
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		config: {
			endpoint,
			region: 'us-east-1',
			bucket,
			accessKeyId: 'S3RVER',
			secretAccessKey: 'S3RVER',
			forcePathStyle: true,
			checksumMode: 'WHEN_REQUIRED',
		},
		async close() {
			if (closed) return;
			closed = true;
			// Keep-alive sockets from SDK clients would otherwise hold close() open.
			server.httpServer?.closeAllConnections();
			await server.close();
			if (!keep) await rm(directory, { recursive: true, force: true });
		},
	};
}
