import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { GenesysClient } from '../ccaas/genesys/client';
import { GenesysLearningAdapter } from '../lms/genesysLearning';
import { RestLmsAdapter, type RestLmsCredentials } from '../lms/rest';
import type { LmsAdapter } from '../lms/types';
import { XapiClient, XapiLmsAdapter } from '../lms/xapi';
import { genesysCredentials } from '../../GenesysCloud/transport';

export type LmsTargetName = 'xapi' | 'genesysLearning' | 'rest';

/** The Target parameter shared by LMS Push and Guarded Assign. */
export const lmsTargetProperty: INodeProperties = {
	displayName: 'Target',
	name: 'target',
	type: 'options',
	noDataExpression: true,
	options: [
		{ name: 'Generic REST LMS', value: 'rest', description: 'Any LMS exposing the learning assets and assignments REST contract (paths configurable in the credential)' },
		{ name: 'Genesys Cloud Learning', value: 'genesysLearning', description: 'Learning modules and assignments in Genesys Cloud' },
		{ name: 'xAPI LRS', value: 'xapi', description: 'Any Learning Record Store speaking xAPI 1.0.3 or 2.0' },
	],
	default: 'xapi',
};


/** How an xAPI statement names the agent; shown for the xAPI target only. */
export const xapiActorProperties: INodeProperties[] = [
	{
		displayName: 'Agent Account Home Page',
		name: 'actorHomePage',
		type: 'string',
		default: 'https://apps.mypurecloud.com',
		description: 'The xAPI statement identifies each agent as an account on this platform URL with their platform user ID (no personal data)',
		displayOptions: { show: { target: ['xapi'] } },
	},
	{
		displayName: 'Identify Agent by E-Mail',
		name: 'actorByEmail',
		type: 'boolean',
		default: false,
		description: 'Whether to identify the agent by e-mail address (mbox) instead of the platform account. Sends personal data to the LRS.',
		displayOptions: { show: { target: ['xapi'] } },
	},
];

export interface TargetOptions {
	iriBase?: string;
	language?: string;
	/** Genesys Cloud Learning: also assign an External module opening this URL with every assignment. */
	assetLinkUrl?: string;
}

type AdapterFactory = (ctx: IExecuteFunctions, itemIndex: number, options: TargetOptions) => Promise<LmsAdapter>;

const factories: Record<LmsTargetName, AdapterFactory> = {
	async xapi(ctx, i, options) {
		const credentials = await ctx.getCredentials('xapiLrsApi', i);
		return new XapiLmsAdapter(
			new XapiClient({
				endpoint: String(credentials.endpoint ?? ''),
				key: String(credentials.key ?? ''),
				secret: String(credentials.secret ?? ''),
				version: credentials.version === '2.0.0' ? '2.0.0' : '1.0.3',
				requestsPerMinute: Number(credentials.requestsPerMinute) || undefined,
			}),
			{
				iriBase: String(options.iriBase || 'https://xapi.cx-training.dev').replace(/\/+$/, ''),
				actorHomePage: ctx.getNodeParameter('actorHomePage', i, 'https://apps.mypurecloud.com') as string,
				actorByEmail: ctx.getNodeParameter('actorByEmail', i, false) as boolean,
				language: String(options.language || 'en-US'),
			},
		);
	},
	async genesysLearning(ctx, i, options) {
		const credentials = await ctx.getCredentials('genesysCloudApi', i);
		return new GenesysLearningAdapter(new GenesysClient(genesysCredentials(credentials)), { assetLinkUrl: options.assetLinkUrl?.trim() || undefined });
	},
	async rest(ctx, i) {
		const credentials = await ctx.getCredentials('restLmsApi', i);
		return RestLmsAdapter.fromCredentials(
			{
				baseUrl: String(credentials.baseUrl ?? ''),
				authType: (credentials.authType as RestLmsCredentials['authType']) ?? 'bearer',
				token: (credentials.token as string) || undefined,
				headerName: (credentials.headerName as string) || undefined,
				apiKey: (credentials.apiKey as string) || undefined,
				username: (credentials.username as string) || undefined,
				password: (credentials.password as string) || undefined,
				requestsPerMinute: Number(credentials.requestsPerMinute) || undefined,
				allowInsecureHttp: Boolean(credentials.allowInsecureHttp),
				assetsPath: (credentials.assetsPath as string) || undefined,
				assignmentsPath: (credentials.assignmentsPath as string) || undefined,
				healthPath: (credentials.healthPath as string) || undefined,
				updateMethod: credentials.updateMethod === 'PUT' ? 'PUT' : 'PATCH',
			},
			{},
		);
	},
};

/** The adapter of the node's Target for item `i`, built from that target's credential. */
export async function lmsAdapterFor(ctx: IExecuteFunctions, i: number, options: TargetOptions = {}): Promise<LmsAdapter> {
	const target = ctx.getNodeParameter('target', i) as LmsTargetName;
	const factory = factories[target];
	if (!factory) throw new NodeOperationError(ctx.getNode(), `Unknown target "${String(target)}"`, { itemIndex: i, description: 'Field: Target' });
	return await factory(ctx, i, options);
}
