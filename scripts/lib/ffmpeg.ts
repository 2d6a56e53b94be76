import { resolveTool } from '../../nodes/shared/media/tools';

/** The ffmpeg the nodes use too (operator path, else system, else the npm build): see nodes/shared/media/tools.ts. */
export function ffmpegPath(): string {
	return resolveTool('ffmpeg').path;
}
