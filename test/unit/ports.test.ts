import { FETCH_BAD_PORTS, randomPortBlock } from '../../scripts/lib/n8n';

test('fetch() refuses the WHATWG bad ports, so random n8n port blocks leave them out', async () => {
	// Refused before any connection is tried (nothing needs to listen there).
	await expect(fetch('http://127.0.0.1:6000/')).rejects.toMatchObject({ cause: { message: 'bad port' } });
	for (const [from, blocks, width] of [
		[6000, 66, 6],
		[6400, 100, 2],
		[6600, 100, 4],
	]) {
		const seen = new Set<number>();
		for (let draw = 0; draw < 400; draw++) {
			const first = randomPortBlock(from, blocks, width);
			seen.add(first);
			expect((first - from) % width).toBe(0);
			expect(first).toBeGreaterThanOrEqual(from);
			expect(first).toBeLessThan(from + blocks * width);
			for (let port = first; port < first + width; port++) expect(FETCH_BAD_PORTS.has(port)).toBe(false);
		}
		// Still random: many blocks are drawn.
		expect(seen.size).toBeGreaterThan(20);
	}
});
