import type { GenesysClient } from '../ccaas/genesys/client';
import { finalVisibility, isQuarantined, staleFinal, staleRetraction } from './assetRules';
import { REST_STATUS } from './rest';
import type {
	AssetSnapshot,
	AssigneeRef,
	AssignmentRequest,
	AssignResult,
	FinalAsset,
	LmsAdapter,
	PlaceholderAsset,
	PushResult,
	RecordingRef,
	TargetAssignment,
} from './types';

/**
 * Genesys Cloud Learning target (reference/lms-apis.md §5): a recording is a learning module whose `externalId`
 * is the recording's stateKey, with one `Url` inform step pointing at the player (or media) URL.
 *
 *   POST /api/v2/learning/modules  {name, description, completionTimeInDays, informSteps, externalId, excludedFromCatalog}
 *   POST /api/v2/learning/modules/{id}/publish  {termsAndConditionsAccepted}
 *   GET  /api/v2/learning/modules?externalIds=  (one id per query)      PUT /api/v2/learning/modules/{id} + publish
 *   POST /api/v2/learning/assignments  {moduleId, userId, recommendedCompletionDate}
 *   GET  /api/v2/learning/assignments?userId=&moduleId=&interval=  (interval = due dates, ≤ 1 year, end exclusive)
 */

const MODULES = '/api/v2/learning/modules';
const ASSIGNMENTS = '/api/v2/learning/assignments';
const DAY_MS = 86_400_000;
/** The assignment query accepts at most one year; a second less keeps clear of an inclusive/exclusive edge. */
const MAX_INTERVAL_MS = 365 * DAY_MS - 1000;
const MARKER = '[cx-training] ';

export interface GenesysInformStep {
	type: 'Url' | 'Content' | 'GenesysBuiltInCourse' | 'RichText' | 'Scorm';
	name?: string;
	value?: string;
	order: number;
	displayName?: string;
	description?: string;
}

export interface GenesysLearningModule {
	id: string;
	name: string;
	description?: string;
	version?: number;
	externalId?: string;
	isPublished?: boolean;
	isArchived?: boolean;
	completionTimeInDays?: number;
	informSteps?: GenesysInformStep[];
	excludedFromCatalog?: boolean;
	dateCreated?: string;
	selfUri?: string;
}

export type GenesysAssignmentState = 'Assigned' | 'InProgress' | 'Completed' | 'Deleted' | 'NotCompleted' | 'InvalidSchedule' | string;

export interface GenesysLearningAssignment {
	id: string;
	state: GenesysAssignmentState;
	isOverdue?: boolean;
	dateRecommendedForCompletion?: string;
	dateCreated?: string;
	dateCompleted?: string;
	module?: { id: string; name?: string };
	user?: { id: string };
	version?: number;
}

interface Listing<T> {
	entities?: T[];
	pageNumber?: number;
	pageCount?: number;
	nextUri?: string;
}

/** What the package keeps about the asset in the module (Genesys modules have no custom fields): the last line of the description. */
export interface ModuleMarker {
	stage: 'placeholder' | 'final' | 'quarantined';
	status: string;
	visibility: 'private' | 'public';
	revision?: string;
	evaluationId?: string;
	score?: number;
	category?: string;
	assetType?: string;
}

export interface GenesysLearningOptions {
	/** Required by Genesys on every module (default 7). */
	completionTimeInDays?: number;
	/** Sent with every publish (default true); which terms Genesys asks to accept there is not documented in §5. */
	termsAndConditionsAccepted?: boolean;
	/** A completed module may be assigned again (default false). */
	reassignCompleted?: boolean;
	/**
	 * With an assignment, also assign an External module whose Url step opens this address (the learning asset the
	 * evaluation is about, e.g. the recording's player page). Found again by its externalId, so a retry adds nothing.
	 */
	assetLinkUrl?: string;
	target?: string;
}

/** Genesys assignment states in the interface's words. */
export function mapGenesysAssignmentState(state: string | undefined): TargetAssignment['state'] {
	switch (state) {
		case 'Assigned':
		case 'InvalidSchedule': // assigned, only its calendar slot failed
			return 'assigned';
		case 'InProgress':
			return 'started';
		case 'Completed':
			return 'completed';
		default:
			// NotCompleted (past due, not finished), Deleted, OutdatedSdkVersion and anything newer.
			return 'unknown';
	}
}

export function parseMarker(description: string | undefined): ModuleMarker | undefined {
	const line = (description ?? '').split('\n').reverse().find((candidate) => candidate.startsWith(MARKER));
	if (!line) return undefined;
	try {
		const parsed = JSON.parse(line.slice(MARKER.length)) as ModuleMarker;
		return parsed && typeof parsed === 'object' && typeof parsed.stage === 'string' ? parsed : undefined;
	} catch {
		return undefined;
	}
}

function describe(asset: PlaceholderAsset, marker: ModuleMarker): string {
	const lines = [asset.description];
	const facts: string[] = [];
	if (marker.score !== undefined) facts.push(`Score: ${marker.score}/100`);
	if (marker.category) facts.push(`Category: ${marker.category}`);
	if (asset.tags.length) facts.push(`Tags: ${asset.tags.join(', ')}`);
	if (facts.length) lines.push(facts.join(' · '));
	const compact = Object.fromEntries(Object.entries(marker).filter(([, value]) => value !== undefined));
	lines.push(`${MARKER}${JSON.stringify(compact)}`);
	return lines.filter(Boolean).join('\n');
}

function earliest<T extends { id: string; dateCreated?: string }>(items: T[]): T {
	return [...items].sort((a, b) => (a.dateCreated ?? '').localeCompare(b.dateCreated ?? '') || a.id.localeCompare(b.id))[0];
}

/** Whole seconds: Genesys truncates interval milliseconds. */
function isoSeconds(ms: number): string {
	return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class GenesysLearningAdapter implements LmsAdapter {
	readonly target: string;

	constructor(
		private readonly client: GenesysClient,
		private readonly options: GenesysLearningOptions = {},
	) {
		this.target = options.target ?? 'genesys-learning';
	}

	// ---- modules -------------------------------------------------------------------------------------------

	/** `GET /modules?externalIds=` takes a single id; duplicates (a create race) resolve to the earliest module. */
	async findModules(externalId: string, signal?: AbortSignal): Promise<GenesysLearningModule[]> {
		const found: GenesysLearningModule[] = [];
		for (let pageNumber = 1; pageNumber <= 20; pageNumber++) {
			const { body } = await this.client.api<Listing<GenesysLearningModule>>({
				method: 'GET',
				path: MODULES,
				query: { externalIds: externalId, pageSize: 100, pageNumber },
				signal,
			});
			found.push(...(body?.entities ?? []).filter((module) => module.externalId === externalId));
			if (!body?.nextUri && (body?.pageCount ?? 1) <= pageNumber) break;
		}
		return found;
	}

	private async findModule(externalId: string, signal?: AbortSignal): Promise<GenesysLearningModule | undefined> {
		const modules = await this.findModules(externalId, signal);
		return modules.length ? earliest(modules) : undefined;
	}

	private moduleBody(asset: PlaceholderAsset, marker: ModuleMarker): Record<string, unknown> {
		const url = asset.moreInfoUrl ?? asset.mediaLink?.url;
		return {
			// The name length limit is not documented in §5; long titles are cut at 200 characters.
			name: asset.title.length > 200 ? `${asset.title.slice(0, 199)}…` : asset.title,
			description: describe(asset, marker),
			completionTimeInDays: this.options.completionTimeInDays ?? 7,
			informSteps: url ? [{ type: 'Url', name: asset.title.slice(0, 200), value: url, order: 0 }] : [],
			externalId: asset.ref.stateKey,
			// A private asset is published (so it can be assigned) but kept out of the learners' catalog.
			excludedFromCatalog: marker.visibility !== 'public',
		};
	}

	private async publish(moduleId: string, signal?: AbortSignal): Promise<void> {
		await this.client.api({
			method: 'POST',
			path: `${MODULES}/${encodeURIComponent(moduleId)}/publish`,
			body: { termsAndConditionsAccepted: this.options.termsAndConditionsAccepted ?? true },
			signal,
		});
	}

	/**
	 * Creates and publishes a module. Whether Genesys refuses a second module with the same externalId is not
	 * documented: a 409 reads the existing one, and when duplicates do appear the earliest wins and ours is deleted.
	 */
	private async createModule(asset: PlaceholderAsset, marker: ModuleMarker, signal?: AbortSignal): Promise<{ module: GenesysLearningModule; created: boolean }> {
		return await this.createModuleOnce(asset.ref.stateKey, this.moduleBody(asset, marker), signal);
	}

	private async createModuleOnce(externalId: string, moduleBody: Record<string, unknown>, signal?: AbortSignal): Promise<{ module: GenesysLearningModule; created: boolean }> {
		const response = await this.client.api<GenesysLearningModule>({
			method: 'POST',
			path: MODULES,
			body: moduleBody,
			acceptStatus: [409],
			signal,
		});
		if (response.status === 409) {
			const existing = await this.findModule(externalId, signal);
			if (!existing) throw new Error(`Genesys Cloud reported a conflict for learning module ${externalId} but none can be found`);
			return { module: existing, created: false };
		}
		const mine = response.body;
		const all = await this.findModules(externalId, signal);
		const winner = all.length ? earliest(all) : mine;
		if (winner.id !== mine.id) {
			await this.client.api({ method: 'DELETE', path: `${MODULES}/${encodeURIComponent(mine.id)}`, acceptStatus: [404], responseType: 'none', signal });
			return { module: winner, created: false };
		}
		await this.publish(mine.id, signal);
		return { module: { ...mine, isPublished: true }, created: true };
	}

	private async updateModule(module: GenesysLearningModule, asset: PlaceholderAsset, marker: ModuleMarker, signal?: AbortSignal): Promise<GenesysLearningModule> {
		const { body } = await this.client.api<GenesysLearningModule>({
			method: 'PUT',
			path: `${MODULES}/${encodeURIComponent(module.id)}`,
			body: this.moduleBody(asset, marker),
			signal,
		});
		await this.publish(module.id, signal);
		return { ...module, ...body, isPublished: true };
	}

	private markerOf(module: GenesysLearningModule): ModuleMarker {
		return (
			parseMarker(module.description) ?? {
				stage: 'placeholder',
				status: REST_STATUS.placeholder,
				visibility: module.excludedFromCatalog === false ? 'public' : 'private',
			}
		);
	}

	private result(module: GenesysLearningModule, marker: ModuleMarker, created: boolean, details: Record<string, unknown> = {}): PushResult {
		return {
			target: this.target,
			assetId: module.id,
			statementIds: [],
			created,
			stage: marker.stage,
			details: { status: marker.status, visibility: marker.visibility, revision: marker.revision, moduleVersion: module.version, ...details },
		};
	}

	async pushPlaceholder(asset: PlaceholderAsset, signal?: AbortSignal): Promise<PushResult> {
		const existing = await this.findModule(asset.ref.stateKey, signal);
		if (existing) {
			// A retry changes nothing (and never downgrades); it only finishes a publish an earlier attempt missed.
			if (existing.isPublished === false) await this.publish(existing.id, signal);
			return this.result(existing, this.markerOf(existing), false, { existing: true });
		}
		const quarantined = isQuarantined(asset.ref);
		const marker: ModuleMarker = {
			stage: quarantined ? 'quarantined' : 'placeholder',
			status: quarantined ? REST_STATUS.quarantined : REST_STATUS.placeholder,
			visibility: 'private',
		};
		const { module, created } = await this.createModule(asset, marker, signal);
		return this.result(module, created ? marker : this.markerOf(module), created, created ? {} : { existing: true, conflict: true });
	}

	async pushFinal(asset: FinalAsset, signal?: AbortSignal): Promise<PushResult> {
		const quarantined = isQuarantined(asset.ref);
		const marker: ModuleMarker = {
			stage: quarantined ? 'quarantined' : 'final',
			status: quarantined ? REST_STATUS.quarantined : REST_STATUS.final,
			visibility: finalVisibility(asset),
			revision: asset.revision,
			evaluationId: asset.evaluation.id,
			score: asset.evaluation.totalScore,
			category: asset.category,
			assetType: asset.assetType,
		};
		let current = await this.findModule(asset.ref.stateKey, signal);
		if (!current) {
			const { module, created } = await this.createModule(asset, marker, signal);
			if (created) return this.result(module, marker, true);
			current = module;
		}
		const stored = this.markerOf(current);
		if (staleFinal(stored, asset.revision)) {
			if (current.isPublished === false) await this.publish(current.id, signal);
			return this.result(current, stored, false, { stale: true, storedRevision: stored.revision });
		}
		const updated = await this.updateModule(current, asset, marker, signal);
		return this.result(updated, marker, false, { updated: true, previousRevision: stored.revision });
	}

	async retractEvaluation(asset: PlaceholderAsset, evaluationId: string, revision: string, signal?: AbortSignal): Promise<PushResult> {
		const marker: ModuleMarker = {
			stage: 'placeholder',
			status: REST_STATUS.retracted,
			visibility: 'private',
			revision,
			evaluationId,
		};
		let current = await this.findModule(asset.ref.stateKey, signal);
		if (!current) {
			// Retracted before the asset existed: a private, unscored module holds the retraction's revision.
			const { module, created } = await this.createModule(asset, marker, signal);
			if (created) return this.result(module, marker, true, { retracted: true });
			current = module;
		}
		const stored = this.markerOf(current);
		// Same rule as every target: an older retraction never undoes a newer evaluation; one at the same
		// revision still applies to a published asset (a deletion may not get a new change time).
		const stale = staleRetraction(stored, evaluationId, revision);
		if (stale === 'other_evaluation') return this.result(current, stored, false, { stale: true, otherEvaluation: true });
		if (stale) return this.result(current, stored, false, { stale: true, storedRevision: stored.revision });
		const updated = await this.updateModule(current, asset, marker, signal);
		return this.result(updated, marker, false, { retracted: true, updated: true });
	}

	async findAsset(ref: RecordingRef, signal?: AbortSignal): Promise<AssetSnapshot | undefined> {
		const module = await this.findModule(ref.stateKey, signal);
		if (!module) return undefined;
		const marker = this.markerOf(module);
		return {
			assetId: module.id,
			stage: marker.stage,
			revision: marker.revision,
			evaluationId: marker.evaluationId,
			visibility: module.excludedFromCatalog === false && marker.visibility === 'public' ? 'public' : 'private',
			statementIds: [],
		};
	}

	// ---- assignments ---------------------------------------------------------------------------------------

	private async queryAssignments(query: Record<string, string>, signal?: AbortSignal): Promise<GenesysLearningAssignment[]> {
		const all: GenesysLearningAssignment[] = [];
		for (let pageNumber = 1; pageNumber <= 50; pageNumber++) {
			const { body } = await this.client.api<Listing<GenesysLearningAssignment>>({
				method: 'GET',
				path: ASSIGNMENTS,
				query: { ...query, pageSize: 100, pageNumber },
				signal,
			});
			all.push(...(body?.entities ?? []));
			if (!body?.nextUri && (body?.pageCount ?? 1) <= pageNumber) break;
		}
		return all.filter((assignment) => assignment.state !== 'Deleted');
	}

	/** The user's assignments of one module whose due date falls in the year around `dueAt` (the query allows one year). */
	private async assignmentsOf(userId: string, moduleId: string, dueAt: string, signal?: AbortSignal): Promise<GenesysLearningAssignment[]> {
		const now = Date.now();
		const due = Date.parse(dueAt);
		const ahead = Math.min(MAX_INTERVAL_MS - 30 * DAY_MS, Math.max(60 * DAY_MS, (Number.isNaN(due) ? now : due) - now + DAY_MS));
		const interval = `${isoSeconds(now + ahead - MAX_INTERVAL_MS)}/${isoSeconds(now + ahead)}`;
		return (await this.queryAssignments({ userId, moduleId, interval }, signal)).filter(
			(assignment) => !assignment.module?.id || assignment.module.id === moduleId,
		);
	}

	/**
	 * Genesys takes no client-supplied idempotency key for assignments, so the retry-safe path is: look up the
	 * user's assignments of this module first and only create when none is open, under way or (unless allowed)
	 * completed. Genesys never unassigns a started module, and neither do we.
	 */
	async assign(request: AssignmentRequest, signal?: AbortSignal): Promise<AssignResult> {
		const main = await this.assignOnce(request.agent.id, request.moduleId, request.dueAt, signal);
		const details: Record<string, unknown> = main.existing ? { existing: true, ...(main.conflict ? { conflict: true } : { reason: main.reason }) } : {};
		if (this.options.assetLinkUrl) Object.assign(details, await this.assignAssetLink(request, this.options.assetLinkUrl, signal));
		return this.assignResult(main.assignment, request, !main.existing, details);
	}

	/** Look first, create only when nothing open, under way or (unless allowed) completed exists, then look again. */
	private async assignOnce(
		userId: string,
		moduleId: string,
		dueAt: string,
		signal?: AbortSignal,
	): Promise<{ assignment: GenesysLearningAssignment; existing: boolean; conflict?: boolean; reason?: string }> {
		const blocking = (assignments: GenesysLearningAssignment[]) =>
			assignments.filter((assignment) => {
				const state = mapGenesysAssignmentState(assignment.state);
				return state === 'assigned' || state === 'started' || (state === 'completed' && !this.options.reassignCompleted);
			});
		const before = blocking(await this.assignmentsOf(userId, moduleId, dueAt, signal));
		if (before.length) {
			const existing = earliest(before);
			return { assignment: existing, existing: true, reason: `module_${mapGenesysAssignmentState(existing.state)}` };
		}
		const { body: created } = await this.client.api<GenesysLearningAssignment>({
			method: 'POST',
			path: ASSIGNMENTS,
			body: { moduleId, userId, recommendedCompletionDate: dueAt },
			signal,
		});
		// Two workers that both looked before either created leave two assignments: the earliest stays and the
		// later one (ours, still untouched) is removed.
		const after = blocking(await this.assignmentsOf(userId, moduleId, dueAt, signal));
		const winner = after.length ? earliest([...after.filter((a) => a.id !== created.id), created]) : created;
		if (winner.id !== created.id) {
			await this.client.api({ method: 'DELETE', path: `${ASSIGNMENTS}/${encodeURIComponent(created.id)}`, acceptStatus: [400, 404], responseType: 'none', signal });
			return { assignment: winner, existing: true, conflict: true };
		}
		return { assignment: created, existing: false };
	}

	/**
	 * The External module that opens the learning asset, created once per asset (externalId) and assigned with the
	 * same recommended completion date. Whether Genesys lets an API client create modules of type External (rather
	 * than only its own integrations) is not documented in §5; the simulator accepts it.
	 */
	private async assignAssetLink(request: AssignmentRequest, url: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
		if (!/^https?:\/\/[^\s]+$/i.test(url)) {
			throw new Error(`Link Asset URL must be an http(s) address; got ${JSON.stringify(url.slice(0, 100))}`);
		}
		const subject = request.assetId ?? `${request.conversationId}:${request.agent.id}`;
		const externalId = `cx-asset-link:${subject}`;
		let module = await this.findModule(externalId, signal);
		if (!module) {
			const title = `Review: your contact ${request.conversationId}`;
			({ module } = await this.createModuleOnce(
				externalId,
				{
					name: title.length > 200 ? `${title.slice(0, 199)}…` : title,
					description: `The recording this assignment is about (evaluation ${request.evaluationId}).`,
					type: 'External',
					completionTimeInDays: this.options.completionTimeInDays ?? 7,
					informSteps: [{ type: 'Url', name: 'Open the Recording', value: url, order: 0 }],
					externalId,
					excludedFromCatalog: true,
				},
				signal,
			));
		}
		if (!module.isPublished) await this.publish(module.id, signal);
		const linked = await this.assignOnce(request.agent.id, module.id, request.dueAt, signal);
		return { assetLinked: true, assetModuleId: module.id, assetAssignmentId: linked.assignment.id, assetAssignmentCreated: !linked.existing };
	}

	private assignResult(assignment: GenesysLearningAssignment, request: AssignmentRequest, created: boolean, details: Record<string, unknown>): AssignResult {
		return {
			target: this.target,
			// Genesys ids the assignment itself; our deterministic id cannot be stored with it.
			assignmentId: assignment.id,
			created,
			state: mapGenesysAssignmentState(assignment.state),
			details: {
				requestedAssignmentId: request.assignmentId,
				genesysState: assignment.state,
				moduleId: assignment.module?.id ?? request.moduleId,
				dateRecommendedForCompletion: assignment.dateRecommendedForCompletion,
				...(request.assetId && !this.options.assetLinkUrl ? { assetLinked: false } : {}),
				...details,
			},
		};
	}

	/**
	 * The agent's assignments created since an instant. `interval` filters by due date, so the query asks for due
	 * dates in the year from `since` (an assignment is due after it was made) and creation dates are checked here.
	 */
	async listAssignments(agent: AssigneeRef, sinceIso: string, signal?: AbortSignal): Promise<TargetAssignment[]> {
		const since = Date.parse(sinceIso);
		if (Number.isNaN(since)) throw new Error(`listAssignments: "${sinceIso}" is not an ISO-8601 instant`);
		const interval = `${isoSeconds(since)}/${isoSeconds(since + MAX_INTERVAL_MS)}`;
		return (await this.queryAssignments({ userId: agent.id, interval }, signal))
			.filter((assignment) => !assignment.user?.id || assignment.user.id === agent.id)
			.filter((assignment) => !assignment.dateCreated || Date.parse(assignment.dateCreated) >= since)
			.map((assignment) => ({
				assignmentId: assignment.id,
				moduleId: assignment.module?.id ?? '',
				assignedAt: assignment.dateCreated ?? '',
				state: mapGenesysAssignmentState(assignment.state),
				dueDate: assignment.dateRecommendedForCompletion,
			}));
	}
}
