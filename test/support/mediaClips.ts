import { resolveTool, runTool } from '../../nodes/shared/media/tools';

/**
 * Small lavfi clips for media edge cases (black picture, silent track, no audio, codecs). The agent-desktop
 * generator with ground truth is in syntheticRecording.ts.
 */
export interface ClipSpec {
	seconds: number;
	video?: 'pattern' | 'black' | 'none';
	audio?: 'tone' | 'silence' | 'none';
	codec?: 'vp8' | 'h264' | 'vp9';
	width?: number;
	height?: number;
	fps?: number;
	/** MP4 only: keep the index at the end (no faststart), as many exports do. */
	faststart?: boolean;
}

export async function makeClip(outFile: string, spec: ClipSpec): Promise<string> {
	const width = spec.width ?? 320;
	const height = spec.height ?? 180;
	const fps = spec.fps ?? 15;
	const video = spec.video ?? 'pattern';
	const audio = spec.audio ?? 'tone';
	const codec = spec.codec ?? 'vp8';
	const args = ['-hide_banner', '-loglevel', 'error', '-y'];
	if (video !== 'none') {
		const source = video === 'black' ? `color=c=black:s=${width}x${height}:r=${fps}` : `testsrc2=s=${width}x${height}:r=${fps}`;
		args.push('-f', 'lavfi', '-i', source);
	}
	if (audio !== 'none') {
		args.push('-f', 'lavfi', '-i', audio === 'tone' ? 'sine=frequency=440:sample_rate=48000' : 'anullsrc=r=48000:cl=mono');
	}
	args.push('-t', String(spec.seconds));
	if (video !== 'none') {
		if (codec === 'h264') args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(fps));
		else args.push('-c:v', codec === 'vp9' ? 'libvpx-vp9' : 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', String(fps));
	}
	if (audio !== 'none') args.push(...(codec === 'h264' ? ['-c:a', 'aac', '-b:a', '64k'] : ['-c:a', 'libopus', '-b:a', '32k']));
	if (codec === 'h264' && spec.faststart) args.push('-movflags', '+faststart');
	args.push(outFile);
	await runTool(resolveTool('ffmpeg'), args, { timeoutMs: 120_000 });
	return outFile;
}

/** Top-level MP4 boxes in file order, e.g. ['ftyp', 'moov', 'free', 'mdat'] for a faststart file. */
export function mp4TopLevelBoxes(data: Buffer): string[] {
	const boxes: string[] = [];
	let offset = 0;
	while (offset + 8 <= data.length) {
		let size = data.readUInt32BE(offset);
		const type = data.toString('latin1', offset + 4, offset + 8);
		if (size === 1 && offset + 16 <= data.length) size = Number(data.readBigUInt64BE(offset + 8));
		boxes.push(type);
		if (size < 8) break;
		offset += size;
	}
	return boxes;
}
