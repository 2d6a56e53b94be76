import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { resolveTool } from '../../nodes/shared/media/tools';

/** The ffmpeg the nodes use too (operator path, else system, else the npm build): see nodes/shared/media/tools.ts. */
export function ffmpegPath(): string {
	return resolveTool('ffmpeg').path;
}

const FONT_CANDIDATES = [
	'/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
	'/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
	'/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
];

/**
 * A synthetic agent screen recording (VP8 + Opus WebM, as Genesys Cloud serves screen media): a moving test
 * pattern, a clock, and — when a font is available — a form showing a test card number.
 */
export function generateScreenRecording(outFile: string, options: { seconds: number; width?: number; height?: number }): void {
	const width = options.width ?? 1280;
	const height = options.height ?? 720;
	const font = FONT_CANDIDATES.find((candidate) => existsSync(candidate));
	const filters = [`drawbox=x=0:y=0:w=${width}:h=60:color=0x1f2937:t=fill`, `drawbox=x=${width / 2}:y=120:w=${width / 2 - 40}:h=300:color=white:t=fill`];
	if (font) {
		const text = (value: string, x: number, y: number, size: number, color = 'black') =>
			`drawtext=fontfile=${font}:text='${value}':x=${x}:y=${y}:fontsize=${size}:fontcolor=${color}`;
		filters.push(
			text('Customer payment', width / 2 + 20, 140, 32),
			text('Card number 4111 1111 1111 1111', width / 2 + 20, 200, 28),
			text('Expiry 12/29', width / 2 + 20, 250, 28),
			`drawtext=fontfile=${font}:text='Rec %{pts\\:hms}':x=20:y=15:fontsize=28:fontcolor=white`,
		);
	}
	const args = [
		'-hide_banner', '-loglevel', 'error', '-y',
		'-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=15`,
		'-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
		'-t', String(options.seconds),
		'-vf', filters.join(','),
		'-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k',
		'-c:a', 'libopus', '-b:a', '48k',
		outFile,
	];
	const result = spawnSync(ffmpegPath(), args, { encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`ffmpeg failed to generate ${outFile}: ${result.stderr}`);
}
