import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';

import type { IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';

import { openStateStore } from '../state';
import type { StateStore } from '../state/types';
import { ObjectStore } from '../store/objectStore';
import type { ObjectStoreConfig } from '../store/types';

type Context = IExecuteFunctions | IWebhookFunctions;

/** The state store named by the optional `cxStateStoreApi` credential, else SQLite in n8n's storage folder. */
export async function stateStoreFor(ctx: IExecuteFunctions): Promise<StateStore> {
	const credentials = await optionalCredentials(ctx, 'cxStateStoreApi');
	if (credentials?.driver === 'postgres') {
		const ssl = credentials.ssl === 'require' || credentials.ssl === 'verify-full' ? credentials.ssl : undefined;
		return await openStateStore({
			driver: 'postgres',
			host: String(credentials.host || '127.0.0.1'),
			port: Number(credentials.port) || 5432,
			database: String(credentials.database || 'n8n'),
			user: String(credentials.user || 'postgres'),
			password: String(credentials.password ?? ''),
			schema: String(credentials.schema || 'cx_training'),
			ssl:
				ssl === 'require'
					? { rejectUnauthorized: false }
					: ssl === 'verify-full'
						? { rejectUnauthorized: true, ca: (credentials.sslCa as string | undefined) || undefined }
						: false,
		});
	}
	const path = (credentials?.sqlitePath as string | undefined) || defaultSqlitePath(ctx);
	return await openStateStore({ driver: 'sqlite', path });
}

/** `<n8n folder>/storage/n8n-nodes-cx-training/state.sqlite`, shared by all nodes of this package. */
function defaultSqlitePath(ctx: IExecuteFunctions): string {
	// getStoragePath() is per node type (`storage/<type>`); its parent is shared.
	return join(dirname(ctx.helpers.getStoragePath()), 'n8n-nodes-cx-training', 'state.sqlite');
}

/** Object-store settings from a `cxObjectStoreApi` credential's data. */
export function objectStoreConfigFromCredentials(data: Record<string, unknown>): ObjectStoreConfig {
	return {
		endpoint: (data.endpoint as string) || undefined,
		region: (data.region as string) || 'us-east-1',
		bucket: data.bucket as string,
		accessKeyId: data.accessKeyId as string,
		secretAccessKey: data.secretAccessKey as string,
		forcePathStyle: Boolean(data.forcePathStyle),
		checksumMode: data.checksumMode === 'WHEN_REQUIRED' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
	};
}

/** One S3 client (and its connection pool) per credential per process, not one per item. */
const stores = new Map<string, ObjectStore>();

export async function objectStoreFor(ctx: Context, itemIndex = 0): Promise<ObjectStore> {
	const config = objectStoreConfigFromCredentials(await (ctx as IExecuteFunctions).getCredentials('cxObjectStoreApi', itemIndex));
	const key = createHash('sha256').update(JSON.stringify(config)).digest('hex');
	let store = stores.get(key);
	if (!store) {
		store = new ObjectStore(config);
		stores.set(key, store);
	}
	return store;
}

async function optionalCredentials(ctx: IExecuteFunctions, type: string): Promise<Record<string, unknown> | undefined> {
	const node = ctx.getNode();
	if (!node.credentials?.[type]) return undefined;
	return (await ctx.getCredentials(type)) as Record<string, unknown>;
}
