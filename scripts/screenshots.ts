import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { chromium, type BrowserContext, type Page } from 'playwright-core';

import {
	OWNER,
	PACKAGE_NAME,
	PROJECT_ROOT,
	bindCredentials,
	loadTemplate,
	packPackage,
	startPackagedN8n,
	type N8nClient,
	type N8nInstance,
} from './lib/n8n';

/**
 * `npm run screenshots`: a picture of every workflow template in workflows-templates/ as the n8n editor draws it.
 * Packs and installs this package into a throw-away n8n user folder, starts real n8n on 127.0.0.1, imports each
 * template (with placeholder credentials, nothing is published or executed), opens it in headless Chromium and
 * saves the canvas to docs/images/<template>.png.
 *
 * Environment: CX_SCREENSHOTS_N8N_PORT (first port to try, default 6900), CX_SCREENSHOTS_CHROMIUM
 * (default /usr/bin/chromium), CX_SCREENSHOTS_KEEP=1 keeps the temp folder for debugging.
 */

const VIEWPORT = { width: 1600, height: 700 };
const OUT_DIR = join(PROJECT_ROOT, 'docs', 'images');
const TEMPLATES_DIR = join(PROJECT_ROOT, 'workflows-templates');
const CHROMIUM = process.env.CX_SCREENSHOTS_CHROMIUM ?? '/usr/bin/chromium';

const say = (line: string) => process.stdout.write(`${line}\n`);

function portFree(port: number): Promise<boolean> {
	return new Promise((resolvePort) => {
		const server = createServer();
		server.once('error', () => resolvePort(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
	});
}

/** n8n needs two ports: its HTTP port and (port + 1) for the task broker. */
async function freePortPair(start: number): Promise<number> {
	for (let port = start; port < start + 200; port += 2) {
		if ((await portFree(port)) && (await portFree(port + 1))) return port;
	}
	throw new Error(`no free pair of ports from ${start}`);
}

interface JsonSchema {
	type?: string | string[];
	enum?: unknown[];
	properties?: Record<string, JsonSchema>;
	required?: string[];
}

/** A dummy value that satisfies one property of a credential type's JSON schema. */
function placeholder(name: string, schema: JsonSchema): unknown {
	if (schema.enum?.length) return schema.enum[0];
	const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
	if (type === 'number' || type === 'integer') return 1;
	if (type === 'boolean') return false;
	if (type === 'object') return {};
	if (type === 'array') return [];
	if (/url|endpoint|host|domain/i.test(name)) return 'https://placeholder.invalid';
	if (/region/i.test(name)) return 'us-east-1';
	if (/email/i.test(name)) return 'placeholder@example.invalid';
	return 'placeholder';
}

/** Placeholder data for a credential type, from the public API's schema of it (required fields only). */
async function placeholderData(client: N8nClient, type: string): Promise<Record<string, unknown>> {
	const schema = await client.credentialSchema<JsonSchema>(type);
	const data: Record<string, unknown> = {};
	for (const name of schema.required ?? []) data[name] = placeholder(name, schema.properties?.[name] ?? {});
	return data;
}

/** Creates one credential through the public API, adding fields the API says are still required. */
async function createPlaceholderCredential(client: N8nClient, type: string, name: string): Promise<string> {
	const data = await placeholderData(client, type);
	for (let attempt = 0; ; attempt++) {
		try {
			return await client.createCredential(name, type, data);
		} catch (error) {
			// Conditional requirements (if/then in the schema) are reported as `requires property "x"`.
			const missing = [...String((error as Error).message).matchAll(/requires property \\?"(\w+)\\?"/g)].map((match) => match[1]);
			if (attempt > 5 || missing.length === 0) throw error;
			for (const field of missing) data[field] = placeholder(field, {});
		}
	}
}

async function signIn(page: Page, baseUrl: string): Promise<void> {
	await page.goto(`${baseUrl}/signin`, { waitUntil: 'domcontentloaded' });
	const email = page.locator('input[name="emailOrLdapLoginId"], input[type="email"]').first();
	await email.waitFor({ timeout: 60000 });
	await email.fill(OWNER.email);
	await page.locator('input[name="password"], input[type="password"]').first().fill(OWNER.password);
	await Promise.all([
		page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 60000 }),
		page.locator('[data-test-id="form-submit-button"], button[type="submit"]').first().click(),
	]);
}

/** Closes whatever n8n opens on top of the editor (what's-new, tours, banners, toasts). */
async function dismissPopups(page: Page): Promise<void> {
	for (let round = 0; round < 3; round++) {
		await page.keyboard.press('Escape').catch(() => undefined);
		const closers = page.locator(
			[
				'.el-dialog__headerbtn:visible',
				'.el-message-box__headerbtn:visible',
				'.el-notification__closeBtn:visible',
				'[data-test-id="banner-close-button"]:visible',
				'[data-test-id*="banner"] [data-test-id="close-button"]:visible',
				'[role="dialog"] [aria-label="Close"]:visible',
			].join(', '),
		);
		const count = await closers.count();
		if (count === 0) return;
		for (let index = count - 1; index >= 0; index--)
			await closers
				.nth(index)
				.click({ timeout: 2000 })
				.catch(() => undefined);
		await delay(300);
	}
}

/** Things that may float over the canvas while it loads (toasts, chat and assistant buttons). */
const POPUP_CSS = `
	.el-notification, .el-message, [data-test-id="canvas-chat-button"], [data-test-id="ask-assistant-floating-button"],
	[data-test-id="ask-assistant-canvas-action-button"] { display: none !important; }
`;

/**
 * The editor controls drawn on top of the canvas (Editor/Executions tabs, the node-creator buttons, the zoom
 * controls and the "Execute workflow" button): hidden after zooming to fit, so the picture shows the flow only.
 */
const CHROME_CSS = `
	.tab-bar-container, [class*="_nodeButtonsWrapper_"], [data-test-id="canvas-controls"], [class*="_executionButtons_"],
	[data-test-id="node-creator-plus-button"], [data-test-id="canvas-minimap"] { display: none !important; }
`;

async function screenshotWorkflow(
	page: Page,
	baseUrl: string,
	workflow: { id: string; nodeCount: number; ownNodeCount: number },
	file: string,
): Promise<void> {
	const { id: workflowId, nodeCount, ownNodeCount } = workflow;
	await page.goto(`${baseUrl}/workflow/${workflowId}`, { waitUntil: 'domcontentloaded' });
	const nodes = page.locator('[data-test-id="canvas-node"]');
	const started = Date.now();
	while ((await nodes.count()) < nodeCount) {
		if (Date.now() - started > 60000) throw new Error(`canvas of ${workflowId} shows ${await nodes.count()} of ${nodeCount} nodes`);
		await delay(250);
	}
	await page.addStyleTag({ content: POPUP_CSS });
	await page.waitForLoadState('networkidle', { timeout: 15000 }).catch(() => undefined);
	await dismissPopups(page);
	// Our nodes' icons are SVG files the editor loads from /icons/<package>/…: wait until each one has been drawn.
	// A node type n8n does not know is drawn as a "?" placeholder instead, so this also proves the package loaded.
	// (Strings, since the scripts are compiled without the DOM library.)
	const iconsDrawn = `Array.from(document.querySelectorAll('[data-test-id="canvas-node"] img'))
		.filter((img) => img.src.includes('/${PACKAGE_NAME}/') && img.complete && img.naturalWidth > 0).length`;
	await page.waitForFunction(`${iconsDrawn} >= ${ownNodeCount}`, null, { timeout: 20000 }).catch(() => undefined);
	const drawn = (await page.evaluate(iconsDrawn)) as number;
	if (drawn < ownNodeCount) {
		throw new Error(
			`workflow ${workflowId}: only ${drawn} of ${ownNodeCount} ${PACKAGE_NAME} node icons were drawn (is the package loaded?)`,
		);
	}

	// Zoom to fit: the canvas button when present, otherwise the keyboard shortcut "1" on the canvas.
	const fit = page.locator('[data-test-id="zoom-to-fit"]');
	if (await fit.count()) await fit.first().click();
	else {
		await page
			.locator('.vue-flow__pane')
			.first()
			.click({ position: { x: 5, y: 5 } });
		await page.keyboard.press('1');
	}
	await delay(800); // the fit-view transition
	await page.addStyleTag({ content: CHROME_CSS });
	await page.mouse.move(0, VIEWPORT.height - 1); // no hover highlight on a node
	await delay(200);

	const canvas = page.locator('[data-test-id="canvas-wrapper"], #canvas, .vue-flow').first();
	const box = (await canvas.count()) ? await canvas.boundingBox() : null;
	await page.screenshot({ path: file, clip: box ?? undefined, animations: 'disabled' });
}

async function main(): Promise<void> {
	const templates = readdirSync(TEMPLATES_DIR)
		.filter((name) => name.endsWith('.json'))
		.sort();
	if (templates.length === 0) throw new Error(`no templates in ${TEMPLATES_DIR}`);
	const workDir = mkdtempSync(join(tmpdir(), 'cx-training-screenshots-'));
	let n8n: N8nInstance | undefined;
	let browser: BrowserContext | undefined;
	try {
		say(`Installing the package into ${workDir}…`);
		const port = await freePortPair(Number(process.env.CX_SCREENSHOTS_N8N_PORT ?? 6900));
		const started = await startPackagedN8n({ userFolder: join(workDir, 'n8n'), port, tarball: packPackage(join(workDir, 'pack')) });
		n8n = started.n8n;
		const client = started.client;
		say(`n8n ${n8n.baseUrl} ready in ${(n8n.startedInMs / 1000).toFixed(1)} s`);

		const loaded = new Set(await client.nodeTypes());
		const workflows: Array<{ template: string; id: string; nodeCount: number; ownNodeCount: number }> = [];
		const credentialIds: Record<string, { id: string; name: string }> = {};
		for (const file of templates) {
			const template = loadTemplate(file);
			const missingTypes = template.nodes.map((node) => String(node.type)).filter((type) => !loaded.has(type));
			if (missingTypes.length) throw new Error(`${file}: node types not loaded by n8n: ${[...new Set(missingTypes)].join(', ')}`);
			for (const node of template.nodes) {
				for (const [type, reference] of Object.entries((node.credentials ?? {}) as Record<string, { name: string }>)) {
					if (credentialIds[type]) continue;
					const name = reference.name ?? type;
					credentialIds[type] = { id: await createPlaceholderCredential(client, type, name), name };
				}
			}
			const id = await client.createWorkflow(bindCredentials(template, credentialIds));
			workflows.push({
				template: file,
				id,
				nodeCount: template.nodes.length,
				ownNodeCount: template.nodes.filter((node) => String(node.type).startsWith(`${PACKAGE_NAME}.`)).length,
			});
			say(`imported ${file} (${template.nodes.length} nodes) as workflow ${id}`);
		}

		mkdirSync(OUT_DIR, { recursive: true });
		// A persistent context on a fresh profile folder is Playwright's way of passing --user-data-dir.
		browser = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
			executablePath: CHROMIUM,
			headless: true,
			viewport: VIEWPORT,
			deviceScaleFactor: 1,
			locale: 'en-US',
			colorScheme: 'light',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
			],
		});
		const page = browser.pages()[0] ?? (await browser.newPage());
		await signIn(page, n8n.baseUrl);
		for (const workflow of workflows) {
			const file = join(OUT_DIR, `${basename(workflow.template, '.json')}.png`);
			await screenshotWorkflow(page, n8n.baseUrl, workflow, file);
			say(`saved ${file} (${(statSync(file).size / 1024).toFixed(0)} KiB)`);
		}
	} finally {
		await browser?.close().catch(() => undefined);
		await n8n?.stop();
		if (process.env.CX_SCREENSHOTS_KEEP === '1') say(`kept ${workDir}`);
		else rmSync(workDir, { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
