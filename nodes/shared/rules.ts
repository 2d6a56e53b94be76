/**
 * The condition language of Taxonomy Map's score rules, e.g. `score < 70 and 'Compliance' in criteria.failed`.
 *
 * A condition is tokenized and parsed (recursive descent) into an AST that is type-checked against the known
 * fields and then interpreted over an item's facts. It is data, never code: nothing here reaches eval or Function.
 *
 *   condition  := or
 *   or         := and ( 'or' and )*
 *   and        := unary ( 'and' unary )*
 *   unary      := 'not' unary | '(' or ')' | comparison
 *   comparison := operand ( ( '>=' | '>' | '<=' | '<' | '==' | '!=' ) operand
 *                         | 'not'? 'in' operand | 'contains' operand )?     -- a bare operand must be true/false
 *   operand    := number | 'text' | "text" | true | false | '[' literal ( ',' literal )* ']' | field
 *
 * Keywords are case-insensitive. Text compares ignoring case and surrounding spaces. A comparison with a value
 * the item does not have (no evaluation yet, no queue) is unknown rather than false: `not` keeps it unknown, and
 * a rule matches only when its condition is definitely true (Kleene logic), so `not (score >= 90)` does not
 * match a recording whose evaluation has not arrived.
 */

export type ValueType = 'number' | 'boolean' | 'text' | 'list' | 'numberList';

/** What one item offers to conditions. Text values carry aliases (a queue matches by ID or by name). */
export interface RuleFacts {
	/** evaluation.totalScore, 0..100. */
	score?: number;
	/** Failed criteria of the evaluation, each as its aliases (name, ID). Undefined without an evaluation. */
	criteriaFailed?: string[][];
	/** A critical or kill question was failed. */
	criticalFailed?: boolean;
	/** Queue ID and name. */
	queue?: string[];
	skills?: string[];
	interactionType?: string;
	agentId?: string;
	source?: string;
	hasEvaluation: boolean;
}

type Runtime = number | boolean | string[][] | undefined;

interface FieldSpec {
	type: ValueType;
	description: string;
	/** Text values are one element with aliases; lists are many elements. */
	read(facts: RuleFacts): Runtime;
}

const text = (...aliases: Array<string | undefined>): string[][] | undefined => {
	const present = aliases.filter((alias): alias is string => typeof alias === 'string' && alias.trim() !== '');
	return present.length ? [present] : undefined;
};

const FIELDS: Record<string, FieldSpec> = {
	score: { type: 'number', description: 'total evaluation score, 0 to 100', read: (facts) => facts.score },
	'criteria.failed': {
		type: 'list',
		description: 'names (or IDs) of the failed evaluation criteria',
		read: (facts) => facts.criteriaFailed,
	},
	'criteria.failed_count': {
		type: 'number',
		description: 'how many criteria failed',
		read: (facts) => facts.criteriaFailed?.length,
	},
	critical_failed: {
		type: 'boolean',
		description: 'a critical or kill question was failed',
		read: (facts) => (facts.hasEvaluation ? Boolean(facts.criticalFailed) : undefined),
	},
	has_evaluation: {
		type: 'boolean',
		description: 'the item carries an evaluation',
		read: (facts) => facts.hasEvaluation,
	},
	queue: { type: 'text', description: 'queue ID or name', read: (facts) => text(...(facts.queue ?? [])) },
	skill: { type: 'list', description: 'routing skills', read: (facts) => facts.skills?.map((skill) => [skill]) },
	skills: { type: 'list', description: 'routing skills (same as skill)', read: (facts) => facts.skills?.map((skill) => [skill]) },
	interaction_type: {
		type: 'text',
		description: 'voice, chat, email… (or the media type)',
		read: (facts) => text(facts.interactionType),
	},
	agent_id: { type: 'text', description: 'platform user ID of the agent', read: (facts) => text(facts.agentId) },
	source: { type: 'text', description: 'genesys-cloud, nice-cxone…', read: (facts) => text(facts.source) },
};

export const FIELD_NAMES: readonly string[] = Object.keys(FIELDS);

export type CompareOperator = '>=' | '>' | '<=' | '<' | '==' | '!=';

export type Operand =
	| { kind: 'field'; name: string; position: number }
	| { kind: 'number'; value: number; position: number }
	| { kind: 'text'; value: string; position: number }
	| { kind: 'boolean'; value: boolean; position: number }
	| { kind: 'list'; items: Array<string | number>; itemType: 'text' | 'number'; position: number };

export type ConditionNode =
	| { kind: 'and' | 'or'; operands: ConditionNode[] }
	| { kind: 'not'; operand: ConditionNode }
	| { kind: 'compare'; operator: CompareOperator; left: Operand; right: Operand }
	| { kind: 'in'; left: Operand; right: Operand }
	| { kind: 'contains'; left: Operand; right: Operand }
	| { kind: 'truth'; operand: Operand };

export interface Condition {
	text: string;
	ast: ConditionNode;
	/** Fields the condition reads, in order of appearance. */
	fields: string[];
}

/** A condition that cannot be parsed. `position` is the 0-based offset into the text, `column` is 1-based. */
export class ConditionSyntaxError extends Error {
	readonly column: number;

	constructor(
		readonly reason: string,
		readonly position: number,
		readonly expected: string,
		readonly found: string,
	) {
		super(`at column ${position + 1}: ${reason}`);
		this.name = 'ConditionSyntaxError';
		this.column = position + 1;
	}
}

type TokenType = 'number' | 'text' | 'word' | 'operator' | 'punct' | 'end';

interface Token {
	type: TokenType;
	/** Keywords are lower-cased; field names keep their spelling. */
	value: string;
	raw: string;
	position: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'contains', 'true', 'false']);
const COMPARE_OPERATORS = new Set(['>=', '>', '<=', '<', '==', '!=']);
const MAX_CONDITION_LENGTH = 2000;
const MAX_DEPTH = 32;

function describe(token: Token): string {
	if (token.type === 'end') return 'the end of the condition';
	return `'${token.raw}'`;
}

export function tokenize(source: string): Token[] {
	const tokens: Token[] = [];
	let at = 0;
	const fail = (reason: string, expected: string, found: string, position = at): never => {
		throw new ConditionSyntaxError(reason, position, expected, found);
	};
	while (at < source.length) {
		const char = source[at];
		if (/\s/.test(char)) {
			at++;
			continue;
		}
		const start = at;
		const two = source.slice(at, at + 2);
		if (COMPARE_OPERATORS.has(two)) {
			tokens.push({ type: 'operator', value: two, raw: two, position: start });
			at += 2;
		} else if (char === '>' || char === '<') {
			tokens.push({ type: 'operator', value: char, raw: char, position: start });
			at++;
		} else if (two === '&&' || two === '||') {
			const word = two === '&&' ? 'and' : 'or';
			fail(`expected '${word}' but found '${two}' (write the word ${word})`, `'${word}'`, `'${two}'`);
		} else if (char === '=') {
			fail(`expected '==' but found '=' (compare with ==)`, "'=='", "'='");
		} else if (char === '!') {
			fail(`expected '!=' or 'not' but found '!'`, "'!=' or 'not'", "'!'");
		} else if ('()[],'.includes(char)) {
			tokens.push({ type: 'punct', value: char, raw: char, position: start });
			at++;
		} else if (/[0-9]/.test(char) || (char === '-' && /[0-9]/.test(source[at + 1] ?? ''))) {
			const match = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(at))!;
			at += match[0].length;
			if (/[A-Za-z_.]/.test(source[at] ?? '')) {
				fail(`expected a number but found '${match[0]}${source[at]}'`, 'a number', `'${match[0]}${source[at]}'`, start);
			}
			tokens.push({ type: 'number', value: match[0], raw: match[0], position: start });
		} else if (char === "'" || char === '"') {
			let value = '';
			at++;
			for (;;) {
				if (at >= source.length) {
					fail(`expected the closing ${char} of the text that starts here but found the end of the condition`, char, 'the end of the condition', start);
				}
				const next = source[at];
				if (next === '\\' && at + 1 < source.length) {
					value += source[at + 1];
					at += 2;
				} else if (next === char) {
					at++;
					break;
				} else {
					value += next;
					at++;
				}
			}
			tokens.push({ type: 'text', value, raw: source.slice(start, at), position: start });
		} else if (/[A-Za-z_]/.test(char)) {
			const match = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(source.slice(at))!;
			at += match[0].length;
			const lower = match[0].toLowerCase();
			tokens.push({ type: 'word', value: KEYWORDS.has(lower) ? lower : match[0], raw: match[0], position: start });
		} else {
			fail(`unexpected character '${char}'`, 'a field, a value, an operator or a parenthesis', `'${char}'`);
		}
	}
	tokens.push({ type: 'end', value: '', raw: '', position: source.length });
	return tokens;
}

class Parser {
	private index = 0;
	private depth = 0;
	readonly fields: string[] = [];

	constructor(private readonly tokens: Token[]) {}

	parse(): ConditionNode {
		if (this.peek().type === 'end') {
			this.fail('expected a condition but found nothing', 'a condition');
		}
		const node = this.parseOr();
		if (this.peek().type !== 'end') {
			this.fail(`expected 'and', 'or' or the end of the condition but found ${describe(this.peek())}`, "'and', 'or' or the end");
		}
		return node;
	}

	private peek(offset = 0): Token {
		return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
	}

	private next(): Token {
		const token = this.peek();
		if (token.type !== 'end') this.index++;
		return token;
	}

	private isWord(value: string, offset = 0): boolean {
		const token = this.peek(offset);
		return token.type === 'word' && token.value === value;
	}

	private isPunct(value: string): boolean {
		const token = this.peek();
		return token.type === 'punct' && token.value === value;
	}

	private fail(reason: string, expected: string, token = this.peek()): never {
		throw new ConditionSyntaxError(reason, token.position, expected, describe(token));
	}

	private parseOr(): ConditionNode {
		const operands = [this.parseAnd()];
		while (this.isWord('or')) {
			this.next();
			operands.push(this.parseAnd());
		}
		return operands.length === 1 ? operands[0] : { kind: 'or', operands };
	}

	private parseAnd(): ConditionNode {
		const operands = [this.parseUnary()];
		while (this.isWord('and')) {
			this.next();
			operands.push(this.parseUnary());
		}
		return operands.length === 1 ? operands[0] : { kind: 'and', operands };
	}

	private parseUnary(): ConditionNode {
		if (++this.depth > MAX_DEPTH) this.fail(`conditions may nest at most ${MAX_DEPTH} levels deep`, 'a simpler condition');
		try {
			if (this.isWord('not')) {
				this.next();
				return { kind: 'not', operand: this.parseUnary() };
			}
			if (this.isPunct('(')) {
				const open = this.next();
				const inner = this.parseOr();
				if (!this.isPunct(')')) {
					this.fail(
						`expected ')' to close the '(' at column ${open.position + 1} but found ${describe(this.peek())}`,
						"')'",
					);
				}
				this.next();
				return inner;
			}
			return this.parseComparison();
		} finally {
			this.depth--;
		}
	}

	private parseComparison(): ConditionNode {
		const left = this.parseOperand();
		const token = this.peek();
		if (token.type === 'operator') {
			this.next();
			const right = this.parseOperand(`after '${token.value}'`);
			const node: ConditionNode = { kind: 'compare', operator: token.value as CompareOperator, left, right };
			this.check(node, token);
			return node;
		}
		if (this.isWord('in') || (this.isWord('not') && this.isWord('in', 1))) {
			const negated = this.isWord('not');
			if (negated) this.next();
			const inToken = this.next();
			const right = this.parseOperand("after 'in'");
			const node: ConditionNode = { kind: 'in', left, right };
			this.check(node, inToken);
			return negated ? { kind: 'not', operand: node } : node;
		}
		if (this.isWord('contains')) {
			const containsToken = this.next();
			const right = this.parseOperand("after 'contains'");
			const node: ConditionNode = { kind: 'contains', left, right };
			this.check(node, containsToken);
			return node;
		}
		if (typeOf(left) === 'boolean') return { kind: 'truth', operand: left };
		this.fail(
			`expected an operator (>=, >, <=, <, ==, !=, in, contains) after ${operandText(left)} but found ${describe(token)}`,
			'an operator',
		);
	}

	private parseOperand(context = ''): Operand {
		const token = this.peek();
		const where = context ? ` ${context}` : '';
		if (token.type === 'number') {
			this.next();
			return { kind: 'number', value: Number(token.value), position: token.position };
		}
		if (token.type === 'text') {
			this.next();
			return { kind: 'text', value: token.value, position: token.position };
		}
		if (token.type === 'punct' && token.value === '[') return this.parseList();
		if (token.type === 'word') {
			if (token.value === 'true' || token.value === 'false') {
				this.next();
				return { kind: 'boolean', value: token.value === 'true', position: token.position };
			}
			if (KEYWORDS.has(token.value)) {
				this.fail(`expected a field or a value${where} but found the keyword ${describe(token)}`, 'a field or a value');
			}
			const name = token.value.toLowerCase();
			if (!FIELDS[name]) {
				this.fail(`unknown field ${describe(token)}; expected one of ${FIELD_NAMES.join(', ')}`, `one of ${FIELD_NAMES.join(', ')}`);
			}
			this.next();
			if (!this.fields.includes(name)) this.fields.push(name);
			return { kind: 'field', name, position: token.position };
		}
		this.fail(
			`expected a field, a number, a quoted text or a [list]${where} but found ${describe(token)}`,
			'a field, a number, a quoted text or a [list]',
		);
	}

	private parseList(): Operand {
		const open = this.next();
		const items: Array<string | number> = [];
		let itemType: 'text' | 'number' | undefined;
		for (;;) {
			const token = this.peek();
			if (token.type !== 'text' && token.type !== 'number') {
				this.fail(`expected a quoted text or a number in the list but found ${describe(token)}`, 'a quoted text or a number');
			}
			const type = token.type === 'text' ? 'text' : 'number';
			if (itemType && type !== itemType) {
				this.fail(`a list holds either texts or numbers, but ${describe(token)} mixes them`, `a ${itemType}`);
			}
			itemType = type;
			this.next();
			items.push(type === 'text' ? token.value : Number(token.value));
			if (this.isPunct(',')) {
				this.next();
				continue;
			}
			if (this.isPunct(']')) {
				this.next();
				break;
			}
			this.fail(`expected ',' or ']' in the list that starts at column ${open.position + 1} but found ${describe(this.peek())}`, "',' or ']'");
		}
		return { kind: 'list', items, itemType: itemType!, position: open.position };
	}

	/** Type-checks a comparison where it was written, so a rule is rejected when saved, not when an item arrives. */
	private check(node: Extract<ConditionNode, { left: Operand }>, operatorToken: Token): void {
		const left = typeOf(node.left);
		const right = typeOf(node.right);
		const textual = (type: ValueType) => type === 'text' || type === 'list';
		const reject = (reason: string, expected: string, at: Token | Operand = operatorToken): never => {
			throw new ConditionSyntaxError(reason, at.position, expected, 'raw' in at ? describe(at) : operandText(at));
		};
		const shown = (operand: Operand) => `${operandText(operand)} (${TYPE_NAMES[typeOf(operand)]})`;
		if (node.kind === 'compare') {
			const operator = node.operator;
			if (operator !== '==' && operator !== '!=') {
				if (left !== 'number' || right !== 'number') {
					const culprit = left !== 'number' ? node.left : node.right;
					reject(`'${operator}' compares numbers, but ${shown(culprit)} is not a number`, 'a number', culprit);
				}
				return;
			}
			const ok =
				(left === 'number' && right === 'number') ||
				(left === 'boolean' && right === 'boolean') ||
				(textual(left) && textual(right) && !(left === 'list' && right === 'list'));
			if (!ok) {
				const hint = left === 'list' && right === 'list' ? "; use 'in' or 'contains' for lists" : '';
				reject(`'${operator}' cannot compare ${shown(node.left)} with ${shown(node.right)}${hint}`, `a value of the same type as ${operandText(node.left)}`, node.right);
			}
			if (node.right.kind === 'list' || node.left.kind === 'list') {
				reject(`'${operator}' compares single values; use 'in' to test against a [list]`, "'in'");
			}
			return;
		}
		if (node.kind === 'in') {
			if (right !== 'list' && right !== 'numberList') {
				reject(`'in' needs a [list] or a list field on its right, but ${shown(node.right)} is not one`, 'a [list] or a list field', node.right);
			}
			const fits = right === 'numberList' ? left === 'number' : textual(left);
			if (!fits) {
				reject(`'in' cannot look for ${shown(node.left)} in ${shown(node.right)}`, `a ${right === 'numberList' ? 'number' : 'text'}`, node.left);
			}
			return;
		}
		if (!textual(left)) {
			reject(`'contains' looks inside a text or a list, but ${shown(node.left)} is neither`, 'a text or a list field', node.left);
		}
		if (right !== 'text') reject(`'contains' needs a text on its right, but ${shown(node.right)} is not one`, 'a quoted text', node.right);
	}
}

const TYPE_NAMES: Record<ValueType, string> = {
	number: 'a number',
	boolean: 'true/false',
	text: 'a text',
	list: 'a list of texts',
	numberList: 'a list of numbers',
};

function typeOf(operand: Operand): ValueType {
	switch (operand.kind) {
		case 'field':
			return FIELDS[operand.name].type;
		case 'number':
			return 'number';
		case 'text':
			return 'text';
		case 'boolean':
			return 'boolean';
		case 'list':
			return operand.itemType === 'number' ? 'numberList' : 'list';
	}
}

function operandText(operand: Operand): string {
	switch (operand.kind) {
		case 'field':
			return operand.name;
		case 'text':
			return `'${operand.value}'`;
		case 'list':
			return '[list]';
		default:
			return String(operand.value);
	}
}

/** Parses and type-checks a condition. Throws ConditionSyntaxError with the position and what was expected. */
export function parseCondition(source: string): Condition {
	if (typeof source !== 'string') {
		throw new ConditionSyntaxError('expected the condition to be a text', 0, 'a text', typeof source);
	}
	if (source.length > MAX_CONDITION_LENGTH) {
		throw new ConditionSyntaxError(`a condition may be at most ${MAX_CONDITION_LENGTH} characters long`, MAX_CONDITION_LENGTH, 'a shorter condition', 'more text');
	}
	const parser = new Parser(tokenize(source));
	const ast = parser.parse();
	return { text: source, ast, fields: parser.fields };
}

type Truth = boolean | undefined;

const normalize = (value: string) => value.trim().toLowerCase();

function valueOf(operand: Operand, facts: RuleFacts): Runtime {
	switch (operand.kind) {
		case 'field': {
			const value = FIELDS[operand.name].read(facts);
			if (Array.isArray(value)) return value.map((aliases) => aliases.map(normalize));
			return value;
		}
		case 'text':
			return [[normalize(operand.value)]];
		case 'list':
			return operand.itemType === 'number' ? (operand.items as number[]).map((item) => [String(item)]) : (operand.items as string[]).map((item) => [normalize(item)]);
		default:
			return operand.value;
	}
}

/** Any element of `left` shares an alias with any element of `right`. */
function overlaps(left: string[][], right: string[][]): boolean {
	const wanted = new Set(right.flat());
	return left.some((aliases) => aliases.some((alias) => wanted.has(alias)));
}

function evaluateNode(node: ConditionNode, facts: RuleFacts): Truth {
	switch (node.kind) {
		case 'and': {
			let result: Truth = true;
			for (const operand of node.operands) {
				const value = evaluateNode(operand, facts);
				if (value === false) return false;
				if (value === undefined) result = undefined;
			}
			return result;
		}
		case 'or': {
			let result: Truth = false;
			for (const operand of node.operands) {
				const value = evaluateNode(operand, facts);
				if (value === true) return true;
				if (value === undefined) result = undefined;
			}
			return result;
		}
		case 'not': {
			const value = evaluateNode(node.operand, facts);
			return value === undefined ? undefined : !value;
		}
		case 'truth': {
			const value = valueOf(node.operand, facts);
			return value === undefined ? undefined : Boolean(value);
		}
		case 'compare': {
			const left = valueOf(node.left, facts);
			const right = valueOf(node.right, facts);
			if (left === undefined || right === undefined) return undefined;
			if (Array.isArray(left) && Array.isArray(right)) {
				const equal = overlaps(left, right);
				return node.operator === '==' ? equal : !equal;
			}
			const [a, b] = [left as number | boolean, right as number | boolean];
			switch (node.operator) {
				case '>=':
					return a >= b;
				case '>':
					return a > b;
				case '<=':
					return a <= b;
				case '<':
					return a < b;
				case '==':
					return a === b;
				case '!=':
					return a !== b;
			}
			return undefined;
		}
		case 'in': {
			const left = valueOf(node.left, facts);
			const right = valueOf(node.right, facts) as string[][] | undefined;
			if (left === undefined || right === undefined) return undefined;
			const needle = typeof left === 'number' ? [[String(left)]] : (left as string[][]);
			return overlaps(needle, right);
		}
		case 'contains': {
			const left = valueOf(node.left, facts) as string[][] | undefined;
			const right = valueOf(node.right, facts) as string[][] | undefined;
			if (left === undefined || right === undefined) return undefined;
			const needle = right[0][0];
			// A text field contains a part of its text; a list contains a whole element.
			if (typeOf(node.left) === 'text') {
				return left.some((aliases) => aliases.some((alias) => alias.includes(needle)));
			}
			return left.some((aliases) => aliases.includes(needle));
		}
	}
}

/** True only when the condition definitely holds for these facts (unknown counts as not matching). */
export function evaluateCondition(condition: Condition | ConditionNode, facts: RuleFacts): boolean {
	const ast = 'ast' in condition ? condition.ast : condition;
	return evaluateNode(ast, facts) === true;
}

/** The three-valued result, for explaining why a rule did not match: undefined means a value was missing. */
export function evaluateConditionTruth(condition: Condition, facts: RuleFacts): boolean | undefined {
	return evaluateNode(condition.ast, facts);
}
