import type { ICredentialType, INodeProperties } from 'n8n-workflow';

export class CxStateStoreApi implements ICredentialType {
	name = 'cxStateStoreApi';

	displayName = 'CX Training State Store API';

	icon = { light: 'file:../nodes/GenesysCloud/stateStore.svg', dark: 'file:../nodes/GenesysCloud/stateStore.svg' } as const;

	documentationUrl = 'https://github.com/cx-training/n8n-nodes-cx-training#state-store';

	properties: INodeProperties[] = [
		{
			displayName: 'Database',
			name: 'driver',
			type: 'options',
			options: [
				{ name: 'SQLite (Embedded, One n8n Process)', value: 'sqlite' },
				{ name: 'PostgreSQL (Queue Mode, Several Workers)', value: 'postgres' },
			],
			default: 'sqlite',
		},
		{
			displayName: 'SQLite File',
			name: 'sqlitePath',
			type: 'string',
			default: '',
			placeholder: '/home/node/.n8n/cx-training/state.sqlite',
			description: 'Path of the database file; empty means cx-training/state.sqlite in the n8n user folder',
			displayOptions: { show: { driver: ['sqlite'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '127.0.0.1',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'Database Name',
			name: 'database',
			type: 'string',
			default: 'n8n',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: 'cx_training',
			description: 'The package keeps its tables in this schema, apart from n8n’s own',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disabled', value: 'disable' },
				{
					name: 'Required (Certificate Not Verified)',
					value: 'require',
					description: 'Encrypted, but any server certificate is accepted',
				},
				{ name: 'Required and Verified', value: 'verify-full' },
			],
			default: 'disable',
			displayOptions: { show: { driver: ['postgres'] } },
		},
		{
			displayName: 'CA Certificate',
			name: 'sslCa',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description: 'PEM of the CA that signed the server certificate; empty uses the system’s trusted CAs',
			displayOptions: { show: { driver: ['postgres'], ssl: ['verify-full'] } },
		},
	];
}
