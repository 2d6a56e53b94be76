import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants as fsConstants } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * Which ffmpeg/ffprobe binaries run, and how.
 *
 * Order: a path the operator gives (node parameter or the CX_FFMPEG_PATH / CX_FFPROBE_PATH environment
 * variables), then the system binaries on PATH (Debian 12 ships 5.1 with libx264, AAC, VP8/VP9, Opus —
 * current and patched), then the binaries npm ships (@ffmpeg-installer: a 2018 static build; @ffprobe-installer:
 * 2023) so a machine works after `npm install` alone. The chosen version is reported in every node's output,
 * because decoding untrusted media with an old build is a risk the operator must be able to see.
 */
export type ToolName = 'ffmpeg' | 'ffprobe';

export interface ToolInfo {
	name: ToolName;
	path: string;
	/** `operator` (parameter or environment), `system` (PATH) or `npm` (the bundled fallback). */
	origin: 'operator' | 'system' | 'npm';
	/** The first line of `-version`, e.g. `ffmpeg version 5.1.9-0+deb12u1`. */
	version: string;
	/** Whether its HTTP protocol has `reconnect_on_network_error` (ffmpeg ≥ 4.3; the 2018 npm build lacks it). */
	reconnectOnNetworkError: boolean;
}

export class MediaToolError extends Error {
	constructor(
		message: string,
		readonly tool: ToolName,
		readonly exitCode: number | null,
		/** The last lines ffmpeg wrote to stderr: the reason, kept for the error message. */
		readonly stderrTail: string,
		readonly timedOut = false,
	) {
		super(message);
		this.name = 'MediaToolError';
	}
}

const ENV_VARIABLE: Record<ToolName, string> = { ffmpeg: 'CX_FFMPEG_PATH', ffprobe: 'CX_FFPROBE_PATH' };
const NPM_PACKAGE: Record<ToolName, string> = { ffmpeg: '@ffmpeg-installer/ffmpeg', ffprobe: '@ffprobe-installer/ffprobe' };

const resolved = new Map<string, ToolInfo>();

function versionOf(path: string): string | undefined {
	const result = spawnSync(path, ['-version'], { encoding: 'utf8', timeout: 15_000 });
	if (result.status !== 0 || typeof result.stdout !== 'string') return undefined;
	return result.stdout.split('\n')[0]?.replace(/\s+Copyright.*$/, '').trim();
}

/** The binary the npm package ships (made executable if an install without scripts left it not so). */
export function npmBinary(name: ToolName): string | undefined {
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const path = (require(NPM_PACKAGE[name]) as { path: string }).path;
		try {
			accessSync(path, fsConstants.X_OK);
		} catch {
			// Installed with scripts disabled (n8n installs community packages that way): its postinstall chmod never ran.
			chmodSync(path, 0o755);
		}
		return path;
	} catch {
		return undefined;
	}
}

/** Resolves (once per process and path) the binary to run; throws a clear error when none works. */
export function resolveTool(name: ToolName, operatorPath?: string): ToolInfo {
	const explicit = operatorPath?.trim() || process.env[ENV_VARIABLE[name]]?.trim() || '';
	const cacheKey = `${name}:${explicit}`;
	const cached = resolved.get(cacheKey);
	if (cached) return cached;
	let info: ToolInfo | undefined;
	if (explicit) {
		const version = versionOf(explicit);
		if (!version) {
			throw new MediaToolError(`${name} at ${explicit} does not run (${name} path / ${ENV_VARIABLE[name]})`, name, null, '');
		}
		info = { name, path: explicit, origin: 'operator', version, reconnectOnNetworkError: false };
	} else {
		const system = versionOf(name);
		if (system) info = { name, path: name, origin: 'system', version: system, reconnectOnNetworkError: false };
		else {
			const bundled = npmBinary(name);
			const version = bundled ? versionOf(bundled) : undefined;
			if (bundled && version) info = { name, path: bundled, origin: 'npm', version, reconnectOnNetworkError: false };
		}
	}
	if (!info) {
		throw new MediaToolError(
			`No working ${name}: install the system package (apt-get install ffmpeg), set ${ENV_VARIABLE[name]}, or reinstall ${NPM_PACKAGE[name]}`,
			name,
			null,
			'',
		);
	}
	const http = spawnSync(info.path, ['-hide_banner', '-h', 'protocol=http'], { encoding: 'utf8', timeout: 15_000 });
	info.reconnectOnNetworkError = typeof http.stdout === 'string' && http.stdout.includes('reconnect_on_network_error');
	resolved.set(cacheKey, info);
	return info;
}

export interface RunOptions {
	/** Kill the process (SIGKILL) after this long; the error says it timed out. */
	timeoutMs: number;
	signal?: AbortSignal;
	/** Fed to the process's stdin (a pipe input such as `-i pipe:0`). */
	stdin?: Readable;
	/** Where stdout goes: collected (for JSON), discarded, or piped into a stream. */
	stdout?: 'collect' | 'ignore' | Writable;
	/** Upper bound for collected stdout (ffprobe JSON); more is an error, never unbounded memory. */
	maxStdoutBytes?: number;
	/** Called for each stderr line (progress, filter reports) as it arrives. */
	onStderrLine?: (line: string) => void;
}

export interface RunResult {
	stdout: Buffer;
	/** The last stderr lines (bounded), in order. */
	stderrTail: string;
	wallMs: number;
}

const STDERR_TAIL_LINES = 40;

/** Children still running: killed when this process exits, so a stopped n8n never leaves an ffmpeg behind. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
	running.add(child);
	child.once('close', () => running.delete(child));
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.once('exit', () => {
		for (const runningChild of running) runningChild.kill('SIGKILL');
	});
}

/**
 * Runs ffmpeg/ffprobe with an argv array (never a shell string), bounded in time and in what it keeps in
 * memory; kills the process on timeout or abort and rejects with stderr's tail as the reason.
 */
export function runTool(tool: ToolInfo, args: readonly string[], options: RunOptions): Promise<RunResult> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		if (options.signal?.aborted) {
			reject(new MediaToolError(`${tool.name} not started: the execution was cancelled`, tool.name, null, ''));
			return;
		}
		const wantsStdout = options.stdout === 'collect' || (options.stdout !== undefined && options.stdout !== 'ignore');
		const child = spawn(tool.path, [...args], {
			stdio: [options.stdin ? 'pipe' : 'ignore', wantsStdout ? 'pipe' : 'ignore', 'pipe'],
			windowsHide: true,
		});
		track(child);
		const chunks: Buffer[] = [];
		let stdoutBytes = 0;
		const maxStdout = options.maxStdoutBytes ?? 16 * 1024 * 1024;
		const tail: string[] = [];
		let partial = '';
		let failure: string | undefined;
		let timedOut = false;

		const kill = (reason: string) => {
			failure ??= reason;
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		};
		const timer = setTimeout(() => {
			timedOut = true;
			kill(`${tool.name} timed out after ${Math.round(options.timeoutMs / 1000)} s`);
		}, options.timeoutMs);
		const onAbort = () => kill(`${tool.name} stopped: the execution was cancelled`);
		options.signal?.addEventListener('abort', onAbort, { once: true });

		child.stderr?.setEncoding('utf8');
		child.stderr?.on('data', (text: string) => {
			const lines = (partial + text).split(/\r?\n|\r/);
			partial = lines.pop() ?? '';
			for (const line of lines) {
				if (!line) continue;
				options.onStderrLine?.(line);
				tail.push(line);
				if (tail.length > STDERR_TAIL_LINES) tail.shift();
			}
		});
		if (child.stdout) {
			if (options.stdout === 'collect') {
				child.stdout.on('data', (chunk: Buffer) => {
					stdoutBytes += chunk.length;
					if (stdoutBytes > maxStdout) kill(`${tool.name} wrote more than ${maxStdout} bytes to stdout`);
					else chunks.push(chunk);
				});
			} else if (options.stdout && options.stdout !== 'ignore') {
				child.stdout.pipe(options.stdout);
			}
		}
		if (options.stdin && child.stdin) {
			child.stdin.on('error', () => undefined); // EPIPE when ffmpeg stops reading early; the exit code tells
			options.stdin.on('error', (error) => kill(`input stream failed: ${error.message}`));
			options.stdin.pipe(child.stdin);
		}
		child.on('error', (error) => kill(`${tool.name} could not start: ${error.message}`));
		child.on('close', (code) => {
			clearTimeout(timer);
			options.signal?.removeEventListener('abort', onAbort);
			if (partial) {
				options.onStderrLine?.(partial);
				tail.push(partial);
				if (tail.length > STDERR_TAIL_LINES) tail.shift();
			}
			const stderrTail = tail.join('\n');
			if (failure || code !== 0) {
				const reason = failure ?? `${tool.name} exited with code ${code}`;
				const last = lastMeaningfulLine(tail);
				reject(new MediaToolError(last ? `${reason}: ${last}` : reason, tool.name, code, stderrTail, timedOut));
				return;
			}
			resolve({ stdout: Buffer.concat(chunks), stderrTail, wallMs: Date.now() - started });
		});
	});
}

function lastMeaningfulLine(lines: string[]): string | undefined {
	for (let index = lines.length - 1; index >= 0; index--) {
		const line = lines[index].trim();
		if (line && !/^(frame=|size=|video:|\[info\])/.test(line)) return redactUrls(line).slice(0, 300);
	}
	return undefined;
}

/** Presigned URLs carry signatures: never let one reach an error message or a log. */
export function redactUrls(text: string): string {
	return text.replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/g, '$1?<signed>');
}
