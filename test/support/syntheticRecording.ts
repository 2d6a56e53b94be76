import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';

import { ffmpegPath } from '../../scripts/lib/ffmpeg';

export type PiiType = 'payment_card' | 'us_ssn' | 'email' | 'phone' | 'iban';

export interface FieldSpec {
	label: string;
	value: string;
	pii?: PiiType;
	/** Kind of look-alike that a detector must not report, e.g. `luhn_invalid_card`, `order_id`, `masked_card`. */
	decoy?: string;
}

/** A form shown for `fromSec <= t < toSec`. */
export interface ScreenSpec {
	fromSec: number;
	toSec: number;
	title: string;
	fields: FieldSpec[];
}

/** A test card number (Visa test range, Luhn-valid) that PII Scan must find. */
export const TEST_CARD = '4111 1111 1111 1111';

/**
 * A customer search until `cardFromSec`, then a payment form with the labelled test card number (and an amount
 * as a decoy) until `seconds`: the recording the quarantine and redaction tests share.
 */
export function cardPaymentScreens(seconds: number, cardFromSec: number, customer = 'Oliver Smith'): ScreenSpec[] {
	return [
		{ fromSec: 0, toSec: cardFromSec, title: 'Customer search', fields: [{ label: 'Customer', value: customer }, { label: 'Queue', value: 'Billing' }] },
		{
			fromSec: cardFromSec,
			toSec: seconds,
			title: 'Payment details',
			fields: [
				{ label: 'Cardholder', value: customer },
				{ label: 'Card number', value: TEST_CARD, pii: 'payment_card' },
				{ label: 'Amount', value: '$1,249.00', decoy: 'amount' },
			],
		},
	];
}

/**
 * One order-history form for the whole clip with look-alikes only (an order id, a masked card, an amount): a
 * recording PII Scan must pass as clean.
 */
export function orderHistoryScreens(seconds: number, customer = 'Jane Q. Doe'): ScreenSpec[] {
	return [
		{
			fromSec: 0,
			toSec: seconds,
			title: 'Order history',
			fields: [
				{ label: 'Customer', value: customer },
				{ label: 'Order', value: 'ORD-2024-118842', decoy: 'order_id' },
				{ label: 'Card on file', value: '**** **** **** 1111', decoy: 'masked_card' },
				{ label: 'Amount', value: '$89.99', decoy: 'amount' },
			],
		},
	];
}

/**
 * The two 1920×1080, 5 fps agent-desktop recordings (WebM, as Genesys Cloud serves them) the full-pipeline test
 * and the demo drive through the template: `clean`, 6 s of order history with a tone; `card`, 8 s without audio,
 * the test card number on a payment form from 1 s to the end. Encoded one at a time: the VP8 encoder runs
 * single-threaded and n8n is usually starting on the other core.
 */
export async function fullPipelineRecordings(dir: string): Promise<{ clean: GeneratedRecording; card: GeneratedRecording }> {
	const common = { width: 1920, height: 1080, fps: 5 } as const;
	const clean = await generateDesktopRecording(join(dir, 'clean.webm'), { ...common, seconds: 6, audio: 'tone', screens: orderHistoryScreens(6) });
	const card = await generateDesktopRecording(join(dir, 'card.webm'), { ...common, seconds: 8, audio: 'none', screens: cardPaymentScreens(8, 1) });
	return { clean, card };
}

export interface DesktopSpec {
	seconds: number;
	/** Default 1920. */
	width?: number;
	/** Default 1080. */
	height?: number;
	/** Default 15. */
	fps?: number;
	/** Default `light`. */
	theme?: 'light' | 'dark';
	/** Pixel size of the form text, 12..40; default 28 at 1080 px height, scaled down for smaller frames. */
	fontSize?: number;
	/** `tone`: an audible 440 Hz sine; `silence`: a silent audio track; `none`: no audio stream. Default `tone`. */
	audio?: 'tone' | 'silence' | 'none';
	/** `webm`: VP8 + Opus (Genesys Cloud); `mp4`: H.264 + AAC (NICE, Verint). Default `webm`. */
	container?: 'webm' | 'mp4';
	/** Forms over time; default one generic CRM screen without PII for the whole clip. */
	screens?: ScreenSpec[];
	/** A fully black stretch, `blackFromSec <= t < blackToSec`, drawn over everything. */
	blackFromSec?: number;
	blackToSec?: number;
	/** Also cut the output into segments of this many seconds (`<base>-000.<ext>`, …). */
	segmentSeconds?: number;
	/** Default `800k`. */
	videoBitrate?: string;
}

export type Box = [x: number, y: number, w: number, h: number];

/** One visible interval of one PII value (a value hidden by the black stretch is split in two). */
export interface Appearance {
	type: PiiType;
	value: string;
	label: string;
	fromSec: number;
	toSec: number;
	box: Box;
	fontSize: number;
	theme: 'light' | 'dark';
}

export interface Decoy {
	kind: string;
	value: string;
	label: string;
	fromSec: number;
	toSec: number;
	box: Box;
}

export interface GroundTruth {
	/** The spec with every default filled in. */
	spec: DesktopSpec;
	appearances: Appearance[];
	decoys: Decoy[];
	/** Form-text colour and form background as full-range BT.601 luma (a frame decoded to `gray`), for pixel checks. */
	textLuma: number;
	formLuma: number;
}

export interface GeneratedRecording {
	file: string;
	segments: string[];
	truth: GroundTruth;
	contentType: 'video/webm' | 'video/mp4';
}

const SYSTEM_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/** DejaVu Sans Mono: advance 1233/2048 em; ASCII glyphs stay within 0.77 em above and 0.24 em below the baseline. */
const ADVANCE_EM = 1233 / 2048;
const ASCENT_EM = 0.77;
const DESCENT_EM = 0.24;
const BOX_MARGIN = 2;

/** The monospaced TTF every text is drawn with. */
export function fontFile(): string {
	if (existsSync(SYSTEM_FONT)) return SYSTEM_FONT;
	try {
		const packageDir = dirname(require.resolve('dejavu-fonts-ttf/package.json'));
		const bundled = join(packageDir, 'ttf', 'DejaVuSansMono.ttf');
		if (existsSync(bundled)) return bundled;
	} catch {
		// not installed: fall through to the error
	}
	throw new Error(`DejaVuSansMono.ttf not found (${SYSTEM_FONT} or the dejavu-fonts-ttf package)`);
}

/**
 * Horizontal advance of one character in pixels. drawtext uses hinted advances, which FreeType rounds to whole
 * pixels (measured for 11..48 px with ffmpeg 5.1 and the 2018 static build).
 */
export function charAdvance(fontSize: number): number {
	return Math.round(ADVANCE_EM * fontSize);
}

interface Theme {
	desktop: string;
	header: string;
	headerText: string;
	sidebar: string;
	sidebarText: string;
	form: string;
	title: string;
	label: string;
	value: string;
}

// Dark colours stay well above blackdetect's default luma threshold so only the black stretch reads as black.
const THEMES: Record<'light' | 'dark', Theme> = {
	light: {
		desktop: '0xE5E7EB',
		header: '0x1F2937',
		headerText: '0xF9FAFB',
		sidebar: '0xD1D5DB',
		sidebarText: '0x374151',
		form: '0xFCFCFD',
		title: '0x111827',
		label: '0x4B5563',
		value: '0x111827',
	},
	dark: {
		desktop: '0x2B2D31',
		header: '0x3A3F4B',
		headerText: '0xF3F4F6',
		sidebar: '0x34373D',
		sidebarText: '0xC9CDD4',
		form: '0x383A40',
		title: '0xF3F4F6',
		label: '0xAEB4BE',
		value: '0xF3F4F6',
	},
};

function lumaOf(hex: string): number {
	const rgb = Number.parseInt(hex.slice(2), 16);
	const r = (rgb >> 16) & 0xff;
	const g = (rgb >> 8) & 0xff;
	const b = rgb & 0xff;
	return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

const SIDEBAR_MENU = ['Home', 'Inbox', 'Customers', 'Payments', 'Knowledge', 'Reports', 'Settings'];

const DEFAULT_SCREEN: Omit<ScreenSpec, 'fromSec' | 'toSec'> = {
	title: 'Customer overview',
	fields: [
		{ label: 'Queue', value: 'Billing' },
		{ label: 'Status', value: 'Open' },
		{ label: 'Channel', value: 'Voice' },
		{ label: 'Plan', value: 'Premium' },
	],
};

type ResolvedSpec = Required<Omit<DesktopSpec, 'blackFromSec' | 'blackToSec' | 'segmentSeconds'>> &
	Pick<DesktopSpec, 'blackFromSec' | 'blackToSec' | 'segmentSeconds'>;

function resolveSpec(spec: DesktopSpec): ResolvedSpec {
	const resolved: ResolvedSpec = {
		seconds: spec.seconds,
		width: spec.width ?? 1920,
		height: spec.height ?? 1080,
		fps: spec.fps ?? 15,
		theme: spec.theme ?? 'light',
		fontSize:
			spec.fontSize ?? Math.max(12, Math.min(28, Math.round(((spec.height ?? 1080) * 28) / 1080))),
		audio: spec.audio ?? 'tone',
		container: spec.container ?? 'webm',
		screens: spec.screens ?? [{ fromSec: 0, toSec: spec.seconds, ...DEFAULT_SCREEN }],
		videoBitrate: spec.videoBitrate ?? '800k',
	};
	if (spec.blackFromSec !== undefined) resolved.blackFromSec = spec.blackFromSec;
	if (spec.blackToSec !== undefined) resolved.blackToSec = spec.blackToSec;
	if (spec.segmentSeconds !== undefined) resolved.segmentSeconds = spec.segmentSeconds;
	const fail = (reason: string) => {
		throw new Error(`Invalid desktop spec: ${reason}`);
	};
	if (!(resolved.seconds > 0)) fail('seconds must be > 0');
	if (
		resolved.width % 2 !== 0 ||
		resolved.height % 2 !== 0 ||
		resolved.width < 320 ||
		resolved.height < 180
	) {
		fail('width and height must be even and at least 320x180');
	}
	if (!(resolved.fps > 0)) fail('fps must be > 0');
	if (!Number.isInteger(resolved.fontSize) || resolved.fontSize < 12 || resolved.fontSize > 40) {
		fail('fontSize must be an integer from 12 to 40');
	}
	if (!/^\d+(\.\d+)?[kM]?$/.test(resolved.videoBitrate))
		fail(`videoBitrate ${resolved.videoBitrate}`);
	const byTime = [...resolved.screens].sort((a, b) => a.fromSec - b.fromSec);
	byTime.forEach((screen, index) => {
		if (
			!(screen.fromSec >= 0 && screen.toSec > screen.fromSec && screen.toSec <= resolved.seconds)
		) {
			fail(
				`screen "${screen.title}" ${screen.fromSec}..${screen.toSec} is outside 0..${resolved.seconds}`,
			);
		}
		const previous = byTime[index - 1];
		if (previous && previous.toSec > screen.fromSec)
			fail(`screens "${previous.title}" and "${screen.title}" overlap`);
		if (/[\r\n]/.test(screen.title)) fail(`screen title "${screen.title}" must be one line`);
		for (const field of screen.fields) {
			// One character cell per character keeps the boxes exact.
			if (!/^[\x20-\x7e]+$/.test(field.value))
				fail(`field "${field.label}" needs a non-empty, printable ASCII value`);
			if (/[\r\n]/.test(field.label)) fail(`field label "${field.label}" must be one line`);
			if (field.pii && field.decoy) fail(`field "${field.label}" cannot be both PII and a decoy`);
		}
	});
	if ((resolved.blackFromSec === undefined) !== (resolved.blackToSec === undefined)) {
		fail('blackFromSec and blackToSec go together');
	}
	if (resolved.blackFromSec !== undefined && resolved.blackToSec !== undefined) {
		if (
			!(
				resolved.blackFromSec >= 0 &&
				resolved.blackToSec > resolved.blackFromSec &&
				resolved.blackToSec <= resolved.seconds
			)
		) {
			fail('black stretch must lie inside the clip');
		}
	}
	if (resolved.segmentSeconds !== undefined && !(resolved.segmentSeconds > 0))
		fail('segmentSeconds must be > 0');
	return resolved;
}

interface TextItem {
	text: string;
	x: number;
	/** Baseline for form text; top edge for chrome text. */
	y: number;
	baseline: boolean;
	fontSize: number;
	color: string;
	/** `gte(t,a)*lt(t,b)`, or undefined for always. */
	enable?: string;
	/** Expand `%{…}` sequences (the clock only). */
	expand?: boolean;
}

interface Layout {
	boxes: string[];
	texts: TextItem[];
	inset: { w: number; h: number; x: string; y: string };
	appearances: Appearance[];
	decoys: Decoy[];
}

function round3(value: number): number {
	return Math.round(value * 1000) / 1000;
}

/** `[from, to)` minus the black stretch, as visible intervals. */
function visibleIntervals(
	fromSec: number,
	toSec: number,
	spec: ResolvedSpec,
): Array<[number, number]> {
	if (spec.blackFromSec === undefined || spec.blackToSec === undefined) return [[fromSec, toSec]];
	const intervals: Array<[number, number]> = [];
	if (spec.blackFromSec > fromSec) intervals.push([fromSec, Math.min(toSec, spec.blackFromSec)]);
	if (spec.blackToSec < toSec) intervals.push([Math.max(fromSec, spec.blackToSec), toSec]);
	return intervals.filter(([a, b]) => b > a);
}

function between(fromSec: number, toSec: number): string {
	// Half-open, so a frame on a switch time shows exactly one screen.
	return `gte(t\\,${fromSec})*lt(t\\,${toSec})`;
}

function layoutDesktop(spec: ResolvedSpec): Layout {
	const { width: W, height: H, fontSize } = spec;
	const theme = THEMES[spec.theme];
	const headerH = Math.max(24, Math.round(H * 0.056));
	const headerFs = Math.max(10, Math.round(headerH * 0.45));
	const sidebarW = Math.round(W * 0.115);
	const sidebarFs = Math.max(10, Math.round(H * 0.022));
	const pad = Math.max(8, Math.round(H * 0.02));
	const even = (n: number) => 2 * Math.round(n / 2);
	const insetW = even(W / 6);
	const insetH = even(H / 6);
	const formX0 = sidebarW + pad;
	const formY0 = headerH + pad;
	const formX1 = W - insetW - 2 * pad;
	const formY1 = H - pad;

	const boxes = [
		`drawbox=x=0:y=0:w=${W}:h=${headerH}:color=${theme.header}:t=fill`,
		`drawbox=x=0:y=${headerH}:w=${sidebarW}:h=${H - headerH}:color=${theme.sidebar}:t=fill`,
		`drawbox=x=${formX0}:y=${formY0}:w=${formX1 - formX0}:h=${formY1 - formY0}:color=${theme.form}:t=fill`,
	];
	const headerTop = Math.round((headerH - headerFs) / 2);
	const texts: TextItem[] = [
		{
			text: 'CX Agent Desktop',
			x: pad,
			y: headerTop,
			baseline: false,
			fontSize: headerFs,
			color: theme.headerText,
		},
		{
			text: 'Rec%{pts:hms}',
			x: W - pad - charAdvance(headerFs) * 17,
			y: headerTop,
			baseline: false,
			fontSize: headerFs,
			color: theme.headerText,
			expand: true,
		},
	];
	SIDEBAR_MENU.forEach((word, index) => {
		texts.push({
			text: word,
			x: Math.round(pad / 2),
			y: headerH + pad + Math.round(index * sidebarFs * 2.2),
			baseline: false,
			fontSize: sidebarFs,
			color: theme.sidebarText,
		});
	});

	const advance = charAdvance(fontSize);
	const titleFs = Math.round(fontSize * 1.25);
	const pitch = Math.round(fontSize * 1.9);
	const titleBaseline = formY0 + pad + Math.ceil(ASCENT_EM * titleFs);
	const firstRowBaseline = titleBaseline + Math.round(fontSize * 2.2);
	const labelX = formX0 + pad;
	const appearances: Appearance[] = [];
	const decoys: Decoy[] = [];
	for (const screen of spec.screens) {
		const enable = between(screen.fromSec, screen.toSec);
		texts.push({
			text: screen.title,
			x: labelX,
			y: titleBaseline,
			baseline: true,
			fontSize: titleFs,
			color: theme.title,
			enable,
		});
		const labelChars = Math.max(...screen.fields.map((field) => field.label.length), 0) + 2;
		const valueX = labelX + labelChars * advance;
		screen.fields.forEach((field, row) => {
			const baseline = firstRowBaseline + row * pitch;
			const right = valueX + field.value.length * advance;
			if (right > formX1 - pad || baseline + Math.ceil(DESCENT_EM * fontSize) > formY1 - pad) {
				throw new Error(
					`Invalid desktop spec: field "${field.label}" of "${screen.title}" does not fit a ${W}x${H} form at ${fontSize} px`,
				);
			}
			texts.push({
				text: field.label,
				x: labelX,
				y: baseline,
				baseline: true,
				fontSize,
				color: theme.label,
				enable,
			});
			texts.push({
				text: field.value,
				x: valueX,
				y: baseline,
				baseline: true,
				fontSize,
				color: theme.value,
				enable,
			});
			const top = baseline - Math.ceil(ASCENT_EM * fontSize) - BOX_MARGIN;
			const box: Box = [
				valueX - BOX_MARGIN,
				top,
				field.value.length * advance + 2 * BOX_MARGIN,
				baseline + Math.ceil(DESCENT_EM * fontSize) + BOX_MARGIN - top,
			];
			for (const [fromSec, toSec] of visibleIntervals(screen.fromSec, screen.toSec, spec)) {
				const times = { fromSec: round3(fromSec), toSec: round3(toSec) };
				if (field.pii) {
					appearances.push({
						type: field.pii,
						value: field.value,
						label: field.label,
						...times,
						box: [...box],
						fontSize,
						theme: spec.theme,
					});
				} else if (field.decoy) {
					decoys.push({
						kind: field.decoy,
						value: field.value,
						label: field.label,
						...times,
						box: [...box],
					});
				}
			}
		});
	}

	// The widget bounces up and down the right-hand column, clear of the form.
	const travel = H - 2 * pad - insetH - headerH;
	const inset = {
		w: insetW,
		h: insetH,
		x: String(W - pad - insetW),
		y: `${headerH + pad}+${Math.max(0, travel)}*(0.5-0.5*cos(t*0.8))`,
	};
	return { boxes, texts, inset, appearances, decoys };
}

/** Two levels: the option value (`:` `'` `\`) inside the filtergraph (`[` `]` `,` `;` `'` `\`). */
function escapeFilterValue(value: string): string {
	const optionLevel = value.replace(/[\\':]/g, (c) => `\\${c}`);
	return optionLevel.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

function runFfmpeg(args: string[], timeoutMs: number): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(ffmpegPath(), args, {
			stdio: ['ignore', 'ignore', 'pipe'],
			windowsHide: true,
		});
		let stderr = '';
		let settled = false;
		const finish = (error?: Error) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			if (error) reject(error);
			else resolve();
		};
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			finish(new Error(`ffmpeg timed out after ${Math.round(timeoutMs / 1000)} s`));
		}, timeoutMs);
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (chunk: string) => {
			stderr = (stderr + chunk).slice(-8000);
		});
		child.on('error', (error) => finish(error));
		child.on('close', (code, signal) => {
			if (code === 0) finish();
			else {
				const tail = stderr.trim().split('\n').slice(-6).join('\n');
				finish(new Error(`ffmpeg exited with ${code ?? signal}: ${tail}`));
			}
		});
	});
}

function truthOf(resolved: ResolvedSpec, layout: Layout): GroundTruth {
	const theme = THEMES[resolved.theme];
	return {
		spec: {
			...resolved,
			screens: resolved.screens.map((screen) => ({
				...screen,
				fields: screen.fields.map((field) => ({ ...field })),
			})),
		},
		appearances: layout.appearances,
		decoys: layout.decoys,
		textLuma: lumaOf(theme.value),
		formLuma: lumaOf(theme.form),
	};
}

/** The ground truth of a spec without rendering it; throws like the generator on a spec that does not fit. */
export function desktopGroundTruth(spec: DesktopSpec): GroundTruth {
	const resolved = resolveSpec(spec);
	return truthOf(resolved, layoutDesktop(resolved));
}

/**
 * Renders a synthetic agent-desktop recording to `outFile` with ffmpeg alone (lavfi sources, drawbox,
 * drawtext), and its segments when `segmentSeconds` is set, and returns where and when every PII value and
 * decoy is visible. The same spec gives the same bytes with the same ffmpeg build.
 */
export async function generateDesktopRecording(
	outFile: string,
	spec: DesktopSpec,
): Promise<GeneratedRecording> {
	const resolved = resolveSpec(spec);
	const layout = layoutDesktop(resolved);
	const theme = THEMES[resolved.theme];
	const font = escapeFilterValue(fontFile());
	const { width: W, height: H, fps, seconds } = resolved;
	const workDir = await mkdtemp(join(tmpdir(), 'cx-synthetic-'));
	const timeoutMs = Math.max(60_000, seconds * 20_000);
	try {
		const drawtexts: string[] = [];
		for (const [index, item] of layout.texts.entries()) {
			const textFile = join(workDir, `text-${index}.txt`);
			await writeFile(textFile, item.text, 'utf8');
			const options = [
				`fontfile=${font}`,
				`textfile=${escapeFilterValue(textFile)}`,
				`fontsize=${item.fontSize}`,
				`fontcolor=${item.color}`,
				`x=${item.x}`,
				// drawtext puts the top of the tallest rendered glyph at y; `y-ascent` makes y the baseline instead.
				`y=${item.baseline ? `${item.y}-ascent` : item.y}`,
				`expansion=${item.expand ? 'normal' : 'none'}`,
			];
			if (item.enable) options.push(`enable=${item.enable}`);
			drawtexts.push(`drawtext=${options.join(':')}`);
		}
		const overlay = `overlay=x=${layout.inset.x}:y=${layout.inset.y}:eof_action=repeat`;
		const chains = [
			`color=c=${theme.desktop}:s=${W}x${H}:r=${fps}:d=${seconds}[desk]`,
			`testsrc2=s=${layout.inset.w}x${layout.inset.h}:r=${fps}:d=${seconds}[widget]`,
		];
		const tail: string[] = [];
		if (resolved.blackFromSec !== undefined && resolved.blackToSec !== undefined) {
			tail.push(
				`drawbox=x=0:y=0:w=${W}:h=${H}:color=black:t=fill:enable=${between(resolved.blackFromSec, resolved.blackToSec)}`,
			);
		}
		tail.push('format=yuv420p');
		// Chrome first, then the widget, then form text and clock above it, then the black stretch over everything.
		chains.push(`[desk]${layout.boxes.join(',')}[base]`);
		chains.push(`[base][widget]${overlay},${drawtexts.join(',')},${tail.join(',')}[video]`);
		// Frames sized for the encoder: libopus rejects the sources' default 1024-sample frames.
		const frameSamples = `asetnsamples=n=${resolved.container === 'webm' ? 960 : 1024}:p=0`;
		if (resolved.audio === 'tone') {
			chains.push(
				`sine=frequency=440:sample_rate=48000:duration=${seconds},${frameSamples}[audio]`,
			);
		}
		if (resolved.audio === 'silence') {
			chains.push(
				`anullsrc=channel_layout=mono:sample_rate=48000,atrim=end=${seconds},${frameSamples}[audio]`,
			);
		}
		const scriptFile = join(workDir, 'graph.txt');
		await writeFile(scriptFile, chains.join(';\n'), 'utf8');

		const args = [
			'-hide_banner',
			'-nostdin',
			'-loglevel',
			'error',
			'-y',
			'-filter_complex_script',
			scriptFile,
			'-map',
			'[video]',
		];
		if (resolved.audio !== 'none') args.push('-map', '[audio]');
		if (resolved.container === 'webm') {
			// Speed 8 given as -8: a positive value lets libvpx pick the speed from measured encode times, so
			// the bytes change from run to run. One thread: libvpx's VP8 threads spin-wait and ran 2-5x slower
			// (and erratic) on a busy 2-core machine with ffmpeg 5.1.
			args.push(
				'-c:v',
				'libvpx',
				'-deadline',
				'realtime',
				'-cpu-used',
				'-8',
				'-threads',
				'1',
				'-b:v',
				resolved.videoBitrate,
			);
		} else {
			args.push(
				'-c:v',
				'libx264',
				'-preset',
				'ultrafast',
				'-pix_fmt',
				'yuv420p',
				'-b:v',
				resolved.videoBitrate,
			);
		}
		if (resolved.segmentSeconds !== undefined) {
			// A keyframe on every segment boundary so `-c copy` cuts land on time (forcing one every second
			// instead triples the VP8 encode time at 1080p).
			args.push('-force_key_frames', `expr:gte(t,n_forced*${resolved.segmentSeconds})`);
		}
		if (resolved.audio === 'none') args.push('-an');
		else if (resolved.container === 'webm') args.push('-c:a', 'libopus', '-b:a', '48k');
		else args.push('-c:a', 'aac', '-b:a', '96k');
		if (resolved.container === 'mp4') args.push('-movflags', '+faststart');
		args.push('-t', String(seconds), '-fflags', '+bitexact', '-f', resolved.container, outFile);
		await runFfmpeg(args, timeoutMs);

		const segments: string[] = [];
		if (resolved.segmentSeconds !== undefined) {
			const extension = (extname(outFile) || `.${resolved.container}`).replace(/%/g, '%%');
			// The segment muxer reads the name as a printf pattern.
			const base = outFile.slice(0, outFile.length - extname(outFile).length).replace(/%/g, '%%');
			const listFile = join(workDir, 'segments.txt');
			await runFfmpeg(
				[
					'-hide_banner',
					'-nostdin',
					'-loglevel',
					'error',
					'-y',
					'-i',
					outFile,
					'-map',
					'0',
					'-c',
					'copy',
					'-f',
					'segment',
					'-segment_time',
					String(resolved.segmentSeconds),
					'-segment_format',
					resolved.container,
					'-reset_timestamps',
					'1',
					'-segment_list',
					listFile,
					'-segment_list_type',
					'flat',
					'-fflags',
					'+bitexact',
					`${base}-%03d${extension}`,
				],
				timeoutMs,
			);
			const listed = (await readFile(listFile, 'utf8'))
				.split('\n')
				.map((line) => line.trim())
				.filter(Boolean);
			for (const name of listed) segments.push(join(dirname(outFile), name));
		}
		return {
			file: outFile,
			segments,
			truth: truthOf(resolved, layout),
			contentType: resolved.container === 'webm' ? 'video/webm' : 'video/mp4',
		};
	} finally {
		await rm(workDir, { recursive: true, force: true });
	}
}

// Public test values: card numbers from issuers' test ranges, SSNs of valid structure that are published
// examples, 555-01xx numbers reserved for fiction, example.* domains, IBANs from registry examples.
const TEST_CARDS = [
	'4111 1111 1111 1111',
	'5555 5555 5555 4444',
	'3782 822463 10005',
	'6011 1111 1111 1117',
	'4012 8888 8888 1881',
	'2223 0031 2200 3222',
	'4242-4242-4242-4242',
	'5105105105105100',
	'3714 496353 98431',
	'6011 0009 9013 9424',
];
const TEST_SSNS = ['123-45-6789', '219-09-9999', '078-05-1120', '457-55-5462', '123 45 6789'];
const TEST_EMAILS = [
	'jane.doe@example.com',
	'j.doe.work@example.org',
	'm.garcia+billing@example.net',
	'oliver.smith@mail.example.com',
	'support-4471@example.org',
	'ANNA.KOWALSKI@EXAMPLE.COM',
	'li.wei_88@example.net',
	'r.okafor@test.example.org',
];
const TEST_PHONES = [
	'+1 415-555-0132',
	'(212) 555-0199',
	'415.555.0147',
	'312-555-0178',
	'+1 (646) 555-0103',
	'1-800-555-0123',
	'+14155550162',
	'718 555 0110',
];
const TEST_IBANS = [
	'DE89 3704 0044 0532 0130 00',
	'GB82 WEST 1234 5698 7654 32',
	'FR14 2004 1010 0505 0001 3M02 606',
	'NL91 ABNA 0417 1643 00',
	'ES91 2100 0418 4502 0005 1332',
	'IT60 X054 2811 1010 0000 0123 456',
	'BE68 5390 0754 7034',
	'CH93 0076 2011 6238 5295 7',
];
const DECOY_VALUES: Record<string, string[]> = {
	luhn_invalid_card: [
		'4111 1111 1111 1112',
		'5555 5555 5555 4440',
		'4012 8888 8888 1882',
		'6011 1111 1111 1110',
	],
	order_id: ['ORD-2024-118842', 'ORD-2025-004417', 'ORD-77120-B', 'ORD-2023-550199'],
	ticket_id: ['TCK-555-0199', 'TCK-415-0132', 'INC-0042-7781', 'TCK-212-0147'],
	date: ['03/14/2025', '11/02/1986', '2025-06-30', '07/04/1979', '12/31/2024'],
	amount: ['$1,249.00', '$89.99', '$12,400.50', 'EUR 640.00', '$415.55'],
	masked_card: [
		'**** **** **** 1111',
		'**** **** **** 4444',
		'XXXX-XXXX-XXXX-1881',
		'************1117',
	],
	invoice_id: ['INV-2025-004417', 'INV-88213', 'INV-2024-1200', 'INV-555-0132'],
	zip: ['94105', '10001', '60614-2203', '02139'],
	invalid_ssn: ['666-12-3456', '900-12-3456', '000-45-6789', '123-00-4567', '987-65-4321'],
	iban_bad_checksum: [
		'DE88 3704 0044 0532 0130 00',
		'GB83 WEST 1234 5698 7654 32',
		'NL92 ABNA 0417 1643 00',
	],
	expiry: ['09/28', '12/27', '04/30'],
	account_id: ['ACC-00418823', 'ACC-00551209', 'ACC-01200447'],
};
const CUSTOMER_NAMES = [
	'Jane Doe',
	'Oliver Smith',
	'Maria Garcia',
	'Li Wei',
	'Anna Kowalski',
	'Ravi Patel',
	'Chidi Okafor',
	'Emma Larsen',
];

/** Round-robin pools, so the corpus is the same on every call. */
class ValuePools {
	private readonly next = new Map<string, number>();

	/** `offset` starts every pool further along, so another corpus variant pairs other values with other screens. */
	constructor(private readonly offset = 0) {}

	pick(name: string, pool: readonly string[]): string {
		const index = this.next.get(name) ?? this.offset;
		this.next.set(name, index + 1);
		return pool[index % pool.length];
	}

	pii(label: string, type: PiiType): FieldSpec {
		const pool = {
			payment_card: TEST_CARDS,
			us_ssn: TEST_SSNS,
			email: TEST_EMAILS,
			phone: TEST_PHONES,
			iban: TEST_IBANS,
		}[type];
		return { label, value: this.pick(type, pool), pii: type };
	}

	decoy(label: string, kind: string): FieldSpec {
		return { label, value: this.pick(kind, DECOY_VALUES[kind]), decoy: kind };
	}

	plain(label: string, value?: string): FieldSpec {
		return { label, value: value ?? this.pick('name', CUSTOMER_NAMES) };
	}
}

type ScreenBody = Omit<ScreenSpec, 'fromSec' | 'toSec'>;

function corpusScreens(pools: ValuePools) {
	return {
		search: (): ScreenBody => ({
			title: 'Customer search',
			fields: [
				pools.plain('Customer'),
				pools.decoy('Account', 'account_id'),
				pools.plain('Queue', 'Billing'),
				pools.plain('Status', 'Verified'),
			],
		}),
		payment: (): ScreenBody => ({
			title: 'Payment details',
			fields: [
				pools.plain('Cardholder'),
				pools.pii('Card number', 'payment_card'),
				pools.decoy('Expiry', 'expiry'),
				pools.plain('CVV', '***'),
				pools.decoy('Amount', 'amount'),
				pools.decoy('Order', 'order_id'),
			],
		}),
		identity: (): ScreenBody => ({
			title: 'Identity verification',
			fields: [
				pools.plain('Customer'),
				pools.pii('SSN', 'us_ssn'),
				pools.decoy('DOB', 'date'),
				pools.pii('Phone', 'phone'),
				pools.pii('Email', 'email'),
				pools.decoy('ZIP', 'zip'),
			],
		}),
		refund: (): ScreenBody => ({
			title: 'Refund to bank account',
			fields: [
				pools.plain('Account holder'),
				pools.pii('IBAN', 'iban'),
				pools.decoy('Amount', 'amount'),
				pools.decoy('Invoice', 'invoice_id'),
				pools.decoy('Ticket', 'ticket_id'),
			],
		}),
		notes: (withPii: boolean): ScreenBody => ({
			title: 'Case notes',
			fields: [
				pools.decoy('Ticket', 'ticket_id'),
				pools.decoy('Order', 'order_id'),
				...(withPii
					? [pools.pii('Callback', 'phone'), pools.pii('Alt email', 'email')]
					: [pools.decoy('Refund', 'amount')]),
				pools.decoy('Card on file', 'masked_card'),
				pools.decoy('Declined card', 'luhn_invalid_card'),
				pools.decoy('Follow-up', 'date'),
			],
		}),
		// Labels that invite a detection next to values that fail the checksum or structure rules.
		checks: (): ScreenBody => ({
			title: 'Verification checks',
			fields: [
				pools.decoy('SSN', 'invalid_ssn'),
				pools.decoy('Card number', 'luhn_invalid_card'),
				pools.decoy('IBAN', 'iban_bad_checksum'),
				pools.decoy('Ticket', 'ticket_id'),
				pools.decoy('ZIP', 'zip'),
			],
		}),
		history: (): ScreenBody => ({
			title: 'Order history',
			fields: [
				pools.decoy('Order', 'order_id'),
				pools.decoy('Invoice', 'invoice_id'),
				pools.decoy('Amount', 'amount'),
				pools.decoy('Card on file', 'masked_card'),
				pools.decoy('Date', 'date'),
				pools.decoy('SSN', 'invalid_ssn'),
			],
		}),
	};
}

function at(fromSec: number, toSec: number, body: ScreenBody): ScreenSpec {
	return { fromSec, toSec, ...body };
}

const CORPUS_FONT_SIZES = [
	12, 14, 13, 16, 12, 18, 14, 20, 12, 22, 13, 24, 14, 28, 12, 32, 16, 36, 14, 40,
];

/**
 * The labelled PII corpus: 20 clips with PII and 3 clean clips (decoys only), 1920x1080 at 15 fps, 10–14 s
 * each; form text from 12 to 40 px, light and dark, WebM and MP4. Values appear and disappear with the
 * screens, one clip hides a screen under a black stretch, and one shows the same card twice.
 * `variant` (0 = the corpus the detectors were tuned on) makes a held-out corpus of the same kinds: other values
 * on other screens, other sizes with other themes and clip layouts.
 */
export function piiCorpus(variant = 0): Array<{ name: string; spec: DesktopSpec }> {
	const pools = new ValuePools(variant);
	const screen = corpusScreens(pools);
	const clips: Array<{ name: string; spec: DesktopSpec }> = [];
	const sizes = CORPUS_FONT_SIZES.map((_, index) => CORPUS_FONT_SIZES[(index + 3 * variant) % CORPUS_FONT_SIZES.length]);
	const prefix = variant ? `v${variant}-` : '';
	sizes.forEach((fontSize, position) => {
		const index = position + variant;
		const theme = (Math.floor(position / 2) + variant) % 2 === 0 ? 'light' : 'dark';
		const base = {
			fontSize,
			theme,
			container: index % 3 === 2 ? 'mp4' : 'webm',
			audio: index % 5 === 0 ? 'tone' : index % 5 === 2 ? 'silence' : 'none',
		} as const;
		let spec: DesktopSpec;
		switch (index % 4) {
			case 0:
				spec = {
					...base,
					seconds: 12,
					screens: [
						at(0, 2, screen.search()),
						at(2, 6, screen.payment()),
						at(6, 10, screen.identity()),
						at(10, 12, screen.notes(true)),
					],
				};
				break;
			case 1:
				// The refund screen is covered by black from 5 to 6 s: its IBAN has two appearances.
				spec = {
					...base,
					seconds: 12,
					blackFromSec: 5,
					blackToSec: 6,
					screens: [
						at(0, 4, screen.identity()),
						at(4, 8, screen.refund()),
						at(8, 12, screen.search()),
					],
				};
				break;
			case 2:
				// No form from 7 to 8 s.
				spec = {
					...base,
					seconds: 14,
					screens: [
						at(0, 3, screen.search()),
						at(3, 7, screen.refund()),
						at(8, 12, screen.payment()),
						at(12, 14, screen.checks()),
					],
				};
				break;
			default: {
				const payment = screen.payment();
				spec = {
					...base,
					seconds: 12,
					screens: [
						at(0, 3, payment),
						at(3, 6, screen.notes(true)),
						at(6, 9, screen.identity()),
						at(9, 12, payment),
					],
				};
			}
		}
		clips.push({ name: `${prefix}pii-${String(position + 1).padStart(2, '0')}-${theme}-${fontSize}px`, spec });
	});
	clips.push(
		{
			name: `${prefix}clean-01-light-12px`,
			spec: {
				seconds: 10,
				fontSize: 12,
				theme: 'light',
				audio: 'none',
				container: 'webm',
				screens: [
					at(0, 3, screen.search()),
					at(3, 7, screen.checks()),
					at(7, 10, screen.history()),
				],
			},
		},
		{
			name: `${prefix}clean-02-dark-14px`,
			spec: {
				seconds: 10,
				fontSize: 14,
				theme: 'dark',
				audio: 'tone',
				container: 'webm',
				screens: [at(0, 5, screen.history()), at(5, 10, screen.notes(false))],
			},
		},
		{
			name: `${prefix}clean-03-light-20px`,
			spec: {
				seconds: 10,
				fontSize: 20,
				theme: 'light',
				audio: 'none',
				container: 'mp4',
				blackFromSec: 5,
				blackToSec: 6,
				screens: [at(0, 5, screen.checks()), at(6, 10, screen.history())],
			},
		},
	);
	return clips;
}
