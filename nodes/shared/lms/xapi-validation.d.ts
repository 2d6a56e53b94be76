/** xapi-validation ships CommonJS without types: `default(statement)` returns the warnings (empty = valid). */
declare module 'xapi-validation' {
	const validateStatement: (statement: unknown) => Array<{ path?: string[]; message?: string; constructor: { name: string } }>;
	export default validateStatement;
}
