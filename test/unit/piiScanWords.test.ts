import type { OcrWord } from '../../nodes/shared/pii/detectors';
import { cropPgm, ScreenWords } from '../../nodes/shared/pii/scan';

const word = (text: string, x0: number, y0: number, x1: number, y1: number, lineId = 'b0.p0.l0'): OcrWord => ({ text, confidence: 90, box: { x0, y0, x1, y1 }, lineId });

test('cropPgm copies the region of a frame as a PGM of its own, never sharing its pixels', () => {
	const width = 8;
	const height = 4;
	const header = Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1');
	const pixels = Buffer.alloc(width * height);
	for (let i = 0; i < pixels.length; i++) pixels[i] = i;
	const pgm = Buffer.concat([header, pixels]);
	const crop = cropPgm({ pgm, width, height }, { x: 2, y: 1, w: 3, h: 2 });
	expect(crop.subarray(0, 11).toString('latin1')).toBe('P5\n3 2\n255\n');
	expect([...crop.subarray(11)]).toEqual([10, 11, 12, 18, 19, 20]);
	const whole = cropPgm({ pgm, width, height }, { x: 0, y: 0, w: width, h: height });
	expect(whole).toEqual(pgm);
	expect(whole).not.toBe(pgm);
});

test('a read replaces the words inside its regions and keeps the rest; words cut by an inner edge are not taken', () => {
	const screen = new ScreenWords();
	const first = screen.update([{ x: 0, y: 0, w: 1000, h: 500 }], [[word('Email', 10, 10, 60, 30), word('old@example.com', 100, 10, 260, 30), word('Phone', 10, 300, 60, 320, 'b1.p0.l0')]], 1000, 500);
	expect(first.words.map((w) => w.text)).toEqual(['Email', 'old@example.com', 'Phone']);
	expect([...first.fresh]).toEqual([0, 1, 2]);
	// Only the value's region changed: the label is kept from before, the value replaced.
	const region = { x: 90, y: 0, w: 300, h: 100 };
	const second = screen.update(
		[region],
		[
			[
				word('new@example.com', 10, 10, 170, 30),
				// Touches the region's right edge (inner): cut by the crop.
				word('trunc', 280, 10, 300, 30),
			].map((w) => ({ ...w, box: { x0: w.box.x0 + region.x, y0: w.box.y0, x1: w.box.x1 + region.x, y1: w.box.y1 } })),
		],
		1000,
		500,
	);
	expect(second.words.map((w) => w.text)).toEqual(['Email', 'Phone', 'new@example.com']);
	expect([...second.fresh]).toEqual([2]);
	// Lines of different reads never merge into one tesseract line.
	expect(new Set(second.words.map((w) => w.lineId)).size).toBe(3);
	// A word straddling a region's edge is kept from before (the crop cut it).
	const third = screen.update([{ x: 0, y: 0, w: 40, h: 100 }], [[]], 1000, 500);
	expect(third.words.map((w) => w.text)).toEqual(['Email', 'Phone', 'new@example.com']);
});
