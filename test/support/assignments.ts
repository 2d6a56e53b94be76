import { VERB_ASSIGNED } from '../../nodes/shared/lms/xapiStatements';
import type { XapiLrsSimulator, XapiStatement } from '../simulators/xapiLrs';

/** The LRS's `assigned` statements about one agent that have not been voided. */
export function assignmentsOf(lrs: XapiLrsSimulator, agentId: string): XapiStatement[] {
	const voided = lrs.voidedStatementIds();
	return lrs
		.statements()
		.filter((statement) => (statement.verb as { id: string }).id === VERB_ASSIGNED.id && JSON.stringify(statement.actor).includes(`"${agentId}"`))
		.filter((statement) => !voided.includes(statement.id));
}
