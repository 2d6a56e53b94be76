import { setTimeout as delay } from 'node:timers/promises';

/**
 * Token bucket shared by every request made with one credential in this process
 * (Genesys Cloud allows 300 requests per minute per client-credentials token by default).
 */
export class TokenBucket {
	private tokens: number;
	private lastRefill: number;
	private pausedUntil = 0;

	constructor(
		readonly perMinute: number,
		readonly burst = Math.max(1, Math.ceil(perMinute / 6)),
		private readonly now: () => number = Date.now,
	) {
		this.tokens = burst;
		this.lastRefill = now();
	}

	/** Waits until a request may be sent. */
	async take(signal?: AbortSignal): Promise<void> {
		for (;;) {
			const waitMs = this.reserve();
			if (waitMs <= 0) return;
			await delay(waitMs, undefined, { signal });
		}
	}

	/** Stops all senders until `untilEpochMs` (a Retry-After, or a remote counter close to its limit). */
	pauseUntil(untilEpochMs: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, untilEpochMs);
	}

	private reserve(): number {
		const now = this.now();
		if (now < this.pausedUntil) return this.pausedUntil - now;
		const elapsed = now - this.lastRefill;
		this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perMinute) / 60000);
		this.lastRefill = now;
		if (this.tokens >= 1) {
			this.tokens -= 1;
			return 0;
		}
		return Math.ceil(((1 - this.tokens) * 60000) / this.perMinute);
	}
}

const buckets = new Map<string, TokenBucket>();

/** One bucket per key (vendor + credential) per process; replaced when its rate or burst changes. */
export function sharedBucket(key: string, perMinute: number, burst?: number): TokenBucket {
	let bucket = buckets.get(key);
	if (!bucket || bucket.perMinute !== perMinute || (burst !== undefined && bucket.burst !== burst)) {
		bucket = new TokenBucket(perMinute, burst);
		buckets.set(key, bucket);
	}
	return bucket;
}

/**
 * Rate and burst of a bucket that never lets more than `limit` (at least 2) requests start in any window of
 * `windowMs`: a burst of `b` plus a refill of `limit - b` per window (a plain bucket of rate `limit` and
 * burst `b` would allow `limit + b` in the first window).
 */
export function windowLimit(limit: number, windowMs = 60000): { perMinute: number; burst: number } {
	const burst = Math.max(1, Math.floor(limit / 10));
	return { perMinute: ((limit - burst) * 60000) / windowMs, burst };
}
