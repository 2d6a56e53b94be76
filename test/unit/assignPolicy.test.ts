import { businessDueDate, InvalidTimeZoneError } from '../../nodes/shared/assign/dueDate';
import { consecutiveFailures, decideAssignment, DEFAULT_POLICY, policyProblems, type AssignPolicy } from '../../nodes/shared/assign/policy';
import type { EvaluationCriterion, EvaluationItem } from '../../nodes/shared/recordingRef';

function criterion(name: string, score: number, maxScore: number, extra: Partial<EvaluationCriterion> = {}): EvaluationCriterion {
	return { id: `qg-${name.toLowerCase()}`, name, score, maxScore, failed: (score / maxScore) * 100 < 70, ...extra };
}

function item(id: string, totalScore: number, criteria: EvaluationCriterion[], extra: Partial<EvaluationItem['evaluation']> = {}): EvaluationItem {
	return {
		source: 'genesys-cloud',
		conversationId: `conv-${id}`,
		agentId: 'agent-1',
		evaluation: { id, totalScore, status: 'FINISHED', released: true, criteria, evaluatedAt: `2025-03-${id.padStart(2, '0')}T10:00:00Z`, ...extra },
		training: { drivesTraining: true, rescore: false, retracted: false },
	};
}

describe('businessDueDate', () => {
	it('counts business days in the agent’s zone and never lands on a weekend', () => {
		// Friday 2025-03-07 20:00 in Chicago is already Saturday in UTC; 5 business days → Friday 14th, Chicago time.
		const chicago = businessDueDate({ businessDays: 5, timeZone: 'America/Chicago', from: '2025-03-08T02:00:00Z' });
		expect(chicago.date).toBe('2025-03-14');
		expect(chicago.dueAt).toBe('2025-03-14T23:59:59-05:00');
		// Thursday 20:00 in Chicago is Friday in UTC: one business day later is Friday for the agent, Monday in UTC.
		expect(businessDueDate({ businessDays: 1, timeZone: 'America/Chicago', from: '2025-03-07T02:00:00Z' }).date).toBe('2025-03-07');
		expect(businessDueDate({ businessDays: 1, timeZone: 'UTC', from: '2025-03-07T02:00:00Z' }).date).toBe('2025-03-10');
		// Thursday + 1 → Friday; Friday + 1 → Monday.
		expect(businessDueDate({ businessDays: 1, timeZone: 'Europe/Berlin', from: '2025-03-06T09:00:00Z' }).date).toBe('2025-03-07');
		expect(businessDueDate({ businessDays: 1, timeZone: 'Europe/Berlin', from: '2025-03-07T09:00:00Z' }).date).toBe('2025-03-10');
		for (let offset = 0; offset < 14; offset++) {
			const from = new Date(Date.UTC(2025, 2, 1 + offset, 23, 30));
			for (const timeZone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kolkata']) {
				const due = businessDueDate({ businessDays: 3, timeZone, from });
				const weekday = new Date(`${due.date}T12:00:00Z`).getUTCDay();
				expect([0, 6]).not.toContain(weekday);
			}
		}
	});

	it('moves a weekend start with zero days to Monday and skips holidays', () => {
		expect(businessDueDate({ businessDays: 0, timeZone: 'UTC', from: '2025-03-08T10:00:00Z' }).date).toBe('2025-03-10');
		expect(businessDueDate({ businessDays: 0, timeZone: 'UTC', from: '2025-03-05T10:00:00Z' }).date).toBe('2025-03-05');
		expect(businessDueDate({ businessDays: 2, timeZone: 'UTC', from: '2025-12-23T10:00:00Z', holidays: ['2025-12-24', '2025-12-25', '2025-12-26'] }).date).toBe('2025-12-30');
	});

	it('refuses an unknown zone, a negative offset and a malformed holiday, naming them', () => {
		expect(() => businessDueDate({ businessDays: 5, timeZone: 'Mars/Olympus' })).toThrow(InvalidTimeZoneError);
		expect(() => businessDueDate({ businessDays: 5, timeZone: 'Mars/Olympus' })).toThrow('Mars/Olympus');
		expect(() => businessDueDate({ businessDays: -1, timeZone: 'UTC' })).toThrow('Due in business days');
		expect(() => businessDueDate({ businessDays: 1, timeZone: 'UTC', holidays: ['christmas'] })).toThrow('"christmas"');
	});
});

describe('decideAssignment', () => {
	const policy: AssignPolicy = { ...DEFAULT_POLICY };

	it('skips a score at or above the threshold without critical or repeated failures', () => {
		const decision = decideAssignment(item('1', 70, [criterion('Empathy', 6, 10)]), [], policy);
		expect(decision).toMatchObject({ action: 'skip', reason: 'above_threshold' });
	});

	it('assigns the module of the weakest failed criterion for a low score', () => {
		const decision = decideAssignment(item('2', 55, [criterion('Empathy', 6, 10), criterion('Resolution', 2, 10), criterion('Greeting', 10, 10)]), [], policy);
		expect(decision).toMatchObject({ action: 'assign', moduleId: 'mod-product-knowledge', criterion: 'Resolution', alsoIndicated: ['mod-soft-skills-empathy'] });
		if (decision.action === 'assign') expect(decision.triggers.map((t) => t.kind)).toEqual(['low_score']);
	});

	it('puts a failed critical question first, even with a high total score', () => {
		const decision = decideAssignment(
			item('3', 88, [criterion('Resolution', 5, 10), criterion('Compliance', 10, 15, { failed: true, critical: true })]),
			[],
			policy,
		);
		expect(decision).toMatchObject({ action: 'assign', moduleId: 'mod-compliance-101', criterion: 'Compliance' });
		expect(decideAssignment(item('3', 88, [criterion('Compliance', 10, 15, { failed: true, critical: true })]), [], { ...policy, onCriticalFailure: false })).toMatchObject({
			action: 'skip',
			reason: 'above_threshold',
		});
	});

	it('assigns after N consecutive fails of one criterion, and a pass breaks the streak', () => {
		const failing = (id: string) => item(id, 80, [criterion('Empathy', 5, 10)]);
		const passing = (id: string) => item(id, 95, [criterion('Empathy', 9, 10)]);
		const current = failing('9');
		expect(consecutiveFailures(current.evaluation.criteria[0], current, [failing('8'), failing('7')])).toBe(3);
		expect(decideAssignment(current, [failing('8'), failing('7')], policy)).toMatchObject({ action: 'assign', moduleId: 'mod-soft-skills-empathy' });
		expect(consecutiveFailures(current.evaluation.criteria[0], current, [failing('8'), passing('7'), failing('6')])).toBe(2);
		expect(decideAssignment(current, [failing('8'), passing('7'), failing('6')], policy)).toMatchObject({ action: 'skip', reason: 'above_threshold' });
		// A retracted evaluation in between does not count, either way.
		const retracted = { ...failing('8'), training: { drivesTraining: false, rescore: false, retracted: true } };
		expect(consecutiveFailures(current.evaluation.criteria[0], current, [retracted, failing('7')])).toBe(2);
		expect(decideAssignment(current, [failing('8'), failing('7')], { ...policy, consecutiveFails: 0 })).toMatchObject({ action: 'skip' });
	});

	it('skips with "no module" when nothing maps, and uses Taxonomy Map’s modules or a fallback when given', () => {
		const unmapped = item('4', 40, [criterion('Hold Etiquette', 2, 10)]);
		expect(decideAssignment(unmapped, [], policy)).toMatchObject({ action: 'skip', reason: 'no_module' });
		expect(decideAssignment({ ...unmapped, taxonomy: { tags: [], visibility: 'private', remedialModuleIds: ['mod-hold'] } }, [], policy)).toMatchObject({
			action: 'assign',
			moduleId: 'mod-hold',
		});
		expect(decideAssignment(unmapped, [], { ...policy, fallbackModuleId: 'mod-basics' })).toMatchObject({ action: 'assign', moduleId: 'mod-basics' });
	});

	it('skips unreleased, unfinished and retracted evaluations', () => {
		const low = [criterion('Empathy', 1, 10)];
		expect(decideAssignment(item('5', 10, low, { released: false }), [], policy)).toMatchObject({ action: 'skip', reason: 'not_released' });
		expect(decideAssignment(item('5', 10, low, { status: 'INREVIEW' }), [], policy)).toMatchObject({ action: 'skip', reason: 'not_released' });
		expect(decideAssignment(item('5', 10, low, { released: false }), [], { ...policy, requireReleased: false })).toMatchObject({ action: 'assign' });
		expect(decideAssignment({ ...item('5', 10, low), training: { drivesTraining: false, rescore: false, retracted: true } }, [], policy)).toMatchObject({
			action: 'skip',
			reason: 'retracted',
		});
	});

	it('names the parameter at fault for bad thresholds', () => {
		expect(policyProblems({ ...policy, scoreThreshold: 120 })).toEqual(['Score Threshold must be between 0 and 100; got 120']);
		expect(policyProblems({ ...policy, consecutiveFails: 1.5 })).toEqual(['Consecutive Fails must be a whole number from 0 to 50; got 1.5']);
		expect(policyProblems({ ...policy, moduleByCriterion: { Empathy: ' ' } })).toEqual(['The module mapping for criterion "Empathy" has an empty module ID']);
		expect(policyProblems(policy)).toEqual([]);
	});
});
