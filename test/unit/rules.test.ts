import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	ConditionSyntaxError,
	evaluateCondition,
	evaluateConditionTruth,
	FIELD_NAMES,
	parseCondition,
	tokenize,
	type RuleFacts,
} from '../../nodes/shared/rules';

const EVALUATED: RuleFacts = {
	hasEvaluation: true,
	score: 64,
	criteriaFailed: [
		['Compliance', 'qg-compliance'],
		['Empathy', 'qg-empathy'],
	],
	criticalFailed: true,
	queue: ['q-123', 'Billing Support'],
	skills: ['Spanish', 'Payments'],
	interactionType: 'voice',
	agentId: 'agent-7',
	source: 'genesys-cloud',
};

/** A recording whose evaluation has not arrived yet. */
const RECORDING_ONLY: RuleFacts = { hasEvaluation: false, queue: ['q-123'], interactionType: 'screen', agentId: 'agent-7' };

const matches = (condition: string, facts: RuleFacts = EVALUATED) => evaluateCondition(parseCondition(condition), facts);

function syntaxError(condition: string): ConditionSyntaxError {
	try {
		parseCondition(condition);
	} catch (error) {
		expect(error).toBeInstanceOf(ConditionSyntaxError);
		return error as ConditionSyntaxError;
	}
	throw new Error(`${condition} was accepted`);
}

describe('tokenize', () => {
	it('splits operators, numbers, quoted text with escapes, fields and keywords, with positions', () => {
		const tokens = tokenize(`score>=90 AND queue == 'O\\'Brien' or x.y in [1, -2.5]`);
		expect(tokens.map((token) => [token.type, token.value, token.position])).toEqual([
			['word', 'score', 0],
			['operator', '>=', 5],
			['number', '90', 7],
			['word', 'and', 10],
			['word', 'queue', 14],
			['operator', '==', 20],
			['text', "O'Brien", 23],
			['word', 'or', 34],
			['word', 'x.y', 37],
			['word', 'in', 41],
			['punct', '[', 44],
			['number', '1', 45],
			['punct', ',', 46],
			['number', '-2.5', 48],
			['punct', ']', 52],
			['end', '', 53],
		]);
	});

	it('rejects = , &&, || and ! with the operator to write instead', () => {
		expect(syntaxError('score = 90')).toMatchObject({ position: 6, expected: "'=='", found: "'='" });
		expect(syntaxError('score > 1 && score < 5').message).toBe("at column 11: expected 'and' but found '&&' (write the word and)");
		expect(syntaxError('score > 1 || critical_failed').expected).toBe("'or'");
		expect(syntaxError('!critical_failed').expected).toBe("'!=' or 'not'");
	});

	it('reports an unterminated text at the quote that opens it', () => {
		const error = syntaxError("queue == 'Billing");
		expect(error.position).toBe(9);
		expect(error.column).toBe(10);
		expect(error.found).toBe('the end of the condition');
	});

	it('rejects characters that are not part of the language', () => {
		expect(syntaxError('score >= 90; process.exit()')).toMatchObject({ position: 11, found: "';'" });
		expect(syntaxError('score >= 9o').message).toContain("expected a number but found '9o'");
	});
});

describe('parseCondition', () => {
	it('builds an AST where and binds tighter than or, and not applies to one comparison', () => {
		const { ast, fields } = parseCondition('not critical_failed or score >= 90 and queue == "Billing"');
		expect(ast).toEqual({
			kind: 'or',
			operands: [
				{ kind: 'not', operand: { kind: 'truth', operand: { kind: 'field', name: 'critical_failed', position: 4 } } },
				{
					kind: 'and',
					operands: [
						{ kind: 'compare', operator: '>=', left: { kind: 'field', name: 'score', position: 23 }, right: { kind: 'number', value: 90, position: 32 } },
						{ kind: 'compare', operator: '==', left: { kind: 'field', name: 'queue', position: 39 }, right: { kind: 'text', value: 'Billing', position: 48 } },
					],
				},
			],
		});
		expect(fields).toEqual(['critical_failed', 'score', 'queue']);
	});

	it('turns "not in" into a negated membership test', () => {
		expect(parseCondition("queue not in ['a']").ast).toEqual({
			kind: 'not',
			operand: {
				kind: 'in',
				left: { kind: 'field', name: 'queue', position: 0 },
				right: { kind: 'list', items: ['a'], itemType: 'text', position: 13 },
			},
		});
	});

	it('names an unknown field and lists the known ones', () => {
		const error = syntaxError('scroe >= 90');
		expect(error.position).toBe(0);
		expect(error.message).toContain("unknown field 'scroe'");
		expect(error.message).toContain(FIELD_NAMES.join(', '));
	});

	it('says what was expected after an operator at the end of the text', () => {
		const error = syntaxError('score >= ');
		expect(error.message).toBe("at column 10: expected a field, a number, a quoted text or a [list] after '>=' but found the end of the condition");
	});

	it('asks for an operator after a field that is not true/false', () => {
		expect(syntaxError('score 90').message).toBe("at column 7: expected an operator (>=, >, <=, <, ==, !=, in, contains) after score but found '90'");
		expect(syntaxError('queue').message).toContain('expected an operator');
	});

	it('reports an unclosed parenthesis with the column where it opened', () => {
		expect(syntaxError('(score > 1 and score < 5').message).toBe(
			"at column 25: expected ')' to close the '(' at column 1 but found the end of the condition",
		);
	});

	it('rejects trailing text, empty conditions and keywords used as values', () => {
		expect(syntaxError('score > 1 score < 5').message).toBe("at column 11: expected 'and', 'or' or the end of the condition but found 'score'");
		expect(syntaxError('   ').message).toBe('at column 4: expected a condition but found nothing');
		expect(syntaxError('score > and').message).toContain("found the keyword 'and'");
	});

	it('type-checks comparisons where they are written', () => {
		expect(syntaxError("score >= '90'")).toMatchObject({ position: 9 });
		expect(syntaxError("score >= '90'").message).toContain("'>=' compares numbers, but '90' (a text) is not a number");
		expect(syntaxError("queue > 'a'").message).toContain('queue (a text) is not a number');
		expect(syntaxError('queue == 5').message).toContain("'==' cannot compare queue (a text) with 5 (a number)");
		expect(syntaxError('critical_failed == 1').message).toContain('cannot compare critical_failed (true/false)');
		expect(syntaxError('skill == criteria.failed').message).toContain("use 'in' or 'contains' for lists");
		expect(syntaxError("queue == ['a']").message).toContain("use 'in' to test against a [list]");
		expect(syntaxError("queue in 'Billing'").message).toContain("'in' needs a [list] or a list field");
		expect(syntaxError("score in ['a']").message).toContain("'in' cannot look for score (a number)");
		expect(syntaxError("score contains '9'").message).toContain("'contains' looks inside a text or a list");
		expect(syntaxError('criteria.failed contains 3').message).toContain("'contains' needs a text on its right");
	});

	it('rejects lists that mix texts and numbers, are empty or are not closed', () => {
		expect(syntaxError("queue in ['a', 1]").message).toContain('a list holds either texts or numbers');
		expect(syntaxError('queue in []').message).toContain("expected a quoted text or a number in the list but found ']'");
		expect(syntaxError("queue in ['a' 'b']").message).toContain("expected ',' or ']' in the list that starts at column 10");
	});

	it('limits nesting depth and length so a hostile rule cannot exhaust the stack', () => {
		expect(syntaxError(`${'('.repeat(40)}score > 1${')'.repeat(40)}`).message).toContain('nest at most 32 levels');
		expect(syntaxError(`score > 1${' or score > 1'.repeat(200)}`).message).toContain('at most 2000 characters');
		expect(parseCondition(`${'('.repeat(10)}score > 1${')'.repeat(10)}`).fields).toEqual(['score']);
	});

	it('never runs a condition as code', () => {
		const source = readFileSync(join(__dirname, '../../nodes/shared/rules.ts'), 'utf8');
		expect(source).not.toMatch(/\beval\s*\(|new Function|\bFunction\s*\(|require\(\s*['"]vm['"]\)/);
		(globalThis as Record<string, unknown>).__ruleSideEffect = undefined;
		expect(() => parseCondition("globalThis.__ruleSideEffect = 1")).toThrow(ConditionSyntaxError);
		expect((globalThis as Record<string, unknown>).__ruleSideEffect).toBeUndefined();
	});
});

describe('evaluateCondition', () => {
	it('compares the score with every operator', () => {
		expect(matches('score >= 64')).toBe(true);
		expect(matches('score > 64')).toBe(false);
		expect(matches('score <= 64')).toBe(true);
		expect(matches('score < 64')).toBe(false);
		expect(matches('score == 64')).toBe(true);
		expect(matches('score != 64')).toBe(false);
		expect(matches('score in [50, 64]')).toBe(true);
		expect(matches('score in [50, 65]')).toBe(false);
	});

	it('matches a queue by ID or name, ignoring case and spaces', () => {
		expect(matches("queue == 'q-123'")).toBe(true);
		expect(matches("queue == '  billing support '")).toBe(true);
		expect(matches("queue != 'Billing Support'")).toBe(false);
		expect(matches("queue != 'Sales'")).toBe(true);
		expect(matches("queue in ['Sales', 'billing support']")).toBe(true);
		expect(matches("queue contains 'billing'")).toBe(true);
		expect(matches("queue contains 'sales'")).toBe(false);
	});

	it('reads failed criteria by name or ID, as a list and as a count', () => {
		expect(matches("criteria.failed contains 'compliance'")).toBe(true);
		expect(matches("criteria.failed contains 'qg-empathy'")).toBe(true);
		// A list holds whole elements: a part of a name is not contained.
		expect(matches("criteria.failed contains 'Compl'")).toBe(false);
		expect(matches("'Resolution' in criteria.failed")).toBe(false);
		expect(matches("'Empathy' in criteria.failed")).toBe(true);
		expect(matches("criteria.failed in ['Resolution', 'Empathy']")).toBe(true);
		expect(matches('criteria.failed_count >= 2')).toBe(true);
		expect(matches('criteria.failed_count > 2')).toBe(false);
	});

	it('treats skill as a list: == means one of the skills', () => {
		expect(matches("skill == 'payments'")).toBe(true);
		expect(matches("skills contains 'Spanish'")).toBe(true);
		expect(matches("skill != 'French'")).toBe(true);
		expect(matches("skill != 'Spanish'")).toBe(false);
		expect(matches("skill in ['French', 'German']")).toBe(false);
	});

	it('combines with and, or, not and parentheses', () => {
		expect(matches("score < 70 and critical_failed and interaction_type == 'VOICE'")).toBe(true);
		expect(matches('score < 70 and not critical_failed')).toBe(false);
		expect(matches("(score >= 90 or critical_failed) and agent_id == 'agent-7'")).toBe(true);
		expect(matches("score >= 90 or (critical_failed and agent_id == 'agent-8')")).toBe(false);
		expect(matches('critical_failed == true and has_evaluation')).toBe(true);
		expect(matches("source == 'genesys-cloud' and not (score > 70)")).toBe(true);
		expect(matches("agent_id not in ['agent-1', 'agent-2']")).toBe(true);
	});

	it('treats a missing value as unknown, so negation does not make a rule match', () => {
		expect(matches('score < 70', RECORDING_ONLY)).toBe(false);
		expect(matches('score >= 70', RECORDING_ONLY)).toBe(false);
		expect(matches('not (score >= 90)', RECORDING_ONLY)).toBe(false);
		expect(matches('not critical_failed', RECORDING_ONLY)).toBe(false);
		expect(matches("criteria.failed contains 'Compliance'", RECORDING_ONLY)).toBe(false);
		expect(matches("skill != 'Spanish'", RECORDING_ONLY)).toBe(false);
		expect(evaluateConditionTruth(parseCondition('score < 70'), RECORDING_ONLY)).toBeUndefined();
		// A known false decides an and; a known true decides an or.
		expect(evaluateConditionTruth(parseCondition("score < 70 and queue == 'other'"), RECORDING_ONLY)).toBe(false);
		expect(matches("score < 70 or queue == 'Q-123'", RECORDING_ONLY)).toBe(true);
		expect(matches('not has_evaluation', RECORDING_ONLY)).toBe(true);
	});
});
