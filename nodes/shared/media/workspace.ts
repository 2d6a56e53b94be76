import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private temp folder for one item's media job. `+faststart` MP4 output needs a seekable file, so the
 * rendition is written here and streamed to the object store; the folder is bounded (ffmpeg's `-fs` limit
 * and a free-space check before starting) and removed on success, failure and abort alike.
 */
export interface Workspace {
	readonly dir: string;
	/** Most bytes one output file may take (passed to ffmpeg as `-fs`). */
	readonly maxBytes: number;
	path(fileName: string): string;
}

export class WorkspaceError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'WorkspaceError';
	}
}

export async function withWorkspace<T>(
	options: { maxBytes: number; root?: string },
	work: (workspace: Workspace) => Promise<T>,
): Promise<T> {
	const root = options.root || tmpdir();
	const free = await freeBytes(root);
	if (free !== undefined && free < options.maxBytes) {
		throw new WorkspaceError(
			`Not enough temp space in ${root}: ${Math.floor(free / 1048576)} MiB free, the job may need up to ${Math.floor(options.maxBytes / 1048576)} MiB (Max Temp Space)`,
		);
	}
	const dir = await mkdtemp(join(root, 'cx-media-'));
	try {
		return await work({ dir, maxBytes: options.maxBytes, path: (fileName) => join(dir, fileName) });
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

async function freeBytes(path: string): Promise<number | undefined> {
	try {
		const stats = await statfs(path);
		return stats.bavail * stats.bsize;
	} catch {
		return undefined;
	}
}
