import { DateTime } from 'luxon';

export interface DueDate {
	/** Calendar date in the agent's time zone (YYYY-MM-DD), always Monday to Friday. */
	date: string;
	/** End of that day in the agent's time zone, as an ISO instant with its offset. */
	dueAt: string;
	timeZone: string;
}

export interface DueDateOptions {
	/** Business days after today (today itself never counts); 0 means the next business day if today is a weekend. */
	businessDays: number;
	/** IANA zone of the agent, e.g. Europe/Berlin. */
	timeZone: string;
	/** Extra non-working days (YYYY-MM-DD in the agent's zone), e.g. public holidays. */
	holidays?: string[];
	/** The instant to count from; now by default. */
	from?: Date | string;
}

export class InvalidTimeZoneError extends Error {
	constructor(readonly timeZone: string) {
		super(`Unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as Europe/Berlin or America/Chicago`);
		this.name = 'InvalidTimeZoneError';
	}
}

function isWorkingDay(day: DateTime, holidays: Set<string>): boolean {
	// luxon: 6 = Saturday, 7 = Sunday.
	return day.weekday < 6 && !holidays.has(day.toISODate() ?? '');
}

/** A due date `businessDays` working days after `from`, counted in the agent's own time zone, never on a weekend. */
export function businessDueDate(options: DueDateOptions): DueDate {
	const zone = options.timeZone || 'UTC';
	const start = (options.from === undefined ? DateTime.now() : DateTime.fromJSDate(new Date(options.from))).setZone(zone);
	if (!start.isValid) throw new InvalidTimeZoneError(zone);
	if (!Number.isInteger(options.businessDays) || options.businessDays < 0 || options.businessDays > 365) {
		throw new RangeError(`Due in business days must be a whole number from 0 to 365; got ${options.businessDays}`);
	}
	const holidays = new Set(options.holidays ?? []);
	for (const holiday of holidays) {
		if (!DateTime.fromISO(holiday, { zone }).isValid) throw new RangeError(`Holiday ${JSON.stringify(holiday)} is not a date (YYYY-MM-DD)`);
	}
	let day = start.startOf('day');
	let remaining = options.businessDays;
	if (remaining === 0) {
		while (!isWorkingDay(day, holidays)) day = day.plus({ days: 1 });
	}
	while (remaining > 0) {
		day = day.plus({ days: 1 });
		if (isWorkingDay(day, holidays)) remaining--;
	}
	return { date: day.toISODate() as string, dueAt: endOfDayIso(day), timeZone: zone };
}

function endOfDayIso(day: DateTime): string {
	return day.endOf('day').set({ millisecond: 0 }).toISO({ suppressMilliseconds: true }) ?? '';
}

/** The last second of a calendar date (YYYY-MM-DD) in a time zone, as an ISO instant with its offset. */
export function endOfDay(date: string, zone: string): string {
	return endOfDayIso(DateTime.fromISO(date, { zone }));
}
