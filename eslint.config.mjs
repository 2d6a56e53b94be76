import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

/**
 * n8n's community-node rules (@n8n/node-cli), without the n8n Cloud subset: this package is for
 * self-hosted n8n only (it streams media through an object store and, later, spawns ffmpeg).
 * Each rule switched off below names why; everything else applies as n8n ships it.
 */
export default [
	...configWithoutCloudSupport,
	{ ignores: ['dist/**', '.build/**', 'node_modules/**', 'test/**', 'scripts/**', 'bench/**', '*.js', '*.mjs'] },
	{
		files: ['package.json'],
		rules: {
			// Recordings are multi-GB streams into S3: the AWS SDK (multipart upload, presigning) and the xAPI
			// validator are real runtime dependencies; bundling the AWS SDK would hide its security updates.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		files: ['nodes/shared/**/*.ts'],
		ignores: ['nodes/shared/n8n/**'],
		rules: {
			// Domain code is n8n-free by design (STYLE.md) and unit-tested without n8n: it throws plain domain
			// errors that every node maps to NodeApiError/NodeOperationError with the item index (shared/n8n/errors.ts).
			'@n8n/community-nodes/require-node-api-error': 'off',
		},
	},
	{
		files: ['nodes/shared/media/tools.ts'],
		rules: {
			// The media nodes run ffmpeg/ffprobe: this file is the only place that spawns, always with an argv array
			// (never a shell string), a timeout, kill on abort, and binaries the operator can see and override.
			'@n8n/community-nodes/no-dangerous-functions': 'off',
		},
	},
	{
		files: ['nodes/GenesysRecordingTrigger/**/*.ts', 'nodes/NiceEvaluationWebhookTrigger/**/*.ts'],
		rules: {
			// Nothing is registered on the vendor's side from n8n: Genesys events reach this URL through an EventBridge
			// API destination or a Process Automation data action that the Genesys admin configures; NICE CXone has no
			// evaluation webhook at all, so tenants forward evaluations themselves.
			'@n8n/community-nodes/webhook-lifecycle-complete': 'off',
		},
	},
];
