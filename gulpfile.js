const path = require('node:path');
const { src, dest, parallel } = require('gulp');

/** Node and credential icons sit next to their code in dist/, as n8n loads them relative to the .node.js file. */
function copyIcons() {
	return src(['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(dest('dist'));
}

/** Codex files (<Node>.node.json) describe each node's categories and documentation links. */
function copyCodex() {
	return src('nodes/**/*.node.json', { base: '.' }).pipe(dest('dist'));
}

/** Shipped workflow templates travel with the package so users can import them from node_modules. */
function copyTemplates() {
	return src('workflows-templates/*.json', { base: '.' }).pipe(dest(path.join('dist')));
}

exports['build:assets'] = parallel(copyIcons, copyCodex, copyTemplates);
exports.default = exports['build:assets'];
