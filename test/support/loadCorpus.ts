import type { EvaluationItem, RecordingRef } from '../../nodes/shared/recordingRef';

/**
 * The LMS Push load corpus (issue contract: 200 evaluations for 50 recordings, out of order, with duplicates),
 * shared by the in-process workflow test and the end-to-end test in real n8n.
 */
export const LOAD_RECORDINGS = 50;

export const loadStateKey = (n: number) => `genesys-cloud:conv-load-${n}:rec-load-${n}`;

export function loadRecording(n: number): RecordingRef {
	const conversationId = `conv-load-${n}`;
	return {
		source: 'genesys-cloud',
		conversationId,
		recordingId: `rec-load-${n}`,
		agent: { id: `agent-load-${n % 7}` },
		mediaType: 'screen',
		startTime: '2026-11-02T09:00:00.000Z',
		stateKey: loadStateKey(n),
		pii: { verdict: 'clean', findings: [] },
	};
}

/** Revision r of recording n's evaluation: a rescore moves the score and the revision forward. */
export function loadEvaluation(n: number, revision: 1 | 2): EvaluationItem {
	const totalScore = revision === 1 ? 50 + (n % 40) : 60 + (n % 40);
	return {
		source: 'genesys-cloud',
		conversationId: `conv-load-${n}`,
		agentId: `agent-load-${n % 7}`,
		evaluation: {
			id: `eval-load-${n}`,
			totalScore,
			status: 'FINISHED',
			released: true,
			revision: `2026-11-0${2 + revision}T10:00:00.000Z`,
			evaluatedAt: '2026-11-03T10:00:00.000Z',
			criteria: [{ id: 'qg-empathy', name: 'Empathy', score: totalScore / 10, maxScore: 10, failed: totalScore < 70 }],
		},
		training: { drivesTraining: true, rescore: revision === 2, retracted: false },
		taxonomy: { tags: ['load'], category: 'Billing', assetType: 'coaching', visibility: 'public', remedialModuleIds: [] },
	};
}

export type LoadDelivery =
	| { operation: 'pushPlaceholder'; json: RecordingRef }
	| { operation: 'pushFinal'; json: EvaluationItem };

/** Every recording once and each evaluation four times (both revisions, each delivered twice), shuffled by `seed`. */
export function loadDeliveries(seed: number): LoadDelivery[] {
	const deliveries: LoadDelivery[] = [];
	for (let n = 0; n < LOAD_RECORDINGS; n++) {
		deliveries.push({ operation: 'pushPlaceholder', json: loadRecording(n) });
		for (const revision of [1, 2, 1, 2] as const) deliveries.push({ operation: 'pushFinal', json: loadEvaluation(n, revision) });
	}
	return shuffle(deliveries, seed);
}

/** Seeded shuffle, so a failure can be replayed exactly. */
export function shuffle<T>(items: T[], seed: number): T[] {
	let state = seed >>> 0;
	const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
	const copy = [...items];
	for (let i = copy.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[copy[i], copy[j]] = [copy[j], copy[i]];
	}
	return copy;
}

/** What the REST LMS simulator must hold afterwards: one published asset per recording, the rescore's score. */
export function expectedFinalAsset(n: number) {
	const final = loadEvaluation(n, 2).evaluation;
	return { status: 'published', score: final.totalScore, revision: final.revision, visibility: 'public' };
}
