import type {
	EvaluationEntityListing,
	EvaluationForm,
	EvaluationResponse,
	EvaluationUser,
} from '../../nodes/shared/ccaas/genesys/evaluations';
import type { SimApiExtensionFactory, SimApiRequest } from './genesysCloud';
import { sendJson } from './httpUtil';

/**
 * Genesys Cloud Quality for the simulator: single evaluations, the paged evaluation query and evaluation
 * forms, in the REST shapes (floats, UPPERCASE statuses). Plug in with
 * `startGenesysSimulator({ extensions: [quality.extension] })`.
 */
export interface QualitySimulatorStats {
	evaluationRequests: number;
	queryRequests: number;
	formRequests: number;
	notFound: number;
	badRequests: number;
}

/**
 * How listings mark further pages. Genesys documents that `total`/`pageCount` may be inaccurate and that
 * `nextUri` marks more pages; the other two styles check a client copes with either signal alone.
 */
export type QualityPagingStyle = 'full' | 'nextUriOnly' | 'pageCountOnly';

export interface QualitySimulator {
	extension: SimApiExtensionFactory;
	/** A REST-shaped evaluation; `conversation.id` is required, answers are kept as given. */
	seedEvaluation(evaluation: EvaluationResponse): void;
	seedForm(form: EvaluationForm): void;
	deleteEvaluation(evaluationId: string): void;
	setPagingStyle(style: QualityPagingStyle): void;
	/** Runs before each query page is computed, e.g. to create an evaluation mid-paging. */
	onQuery(hook: ((pageNumber: number) => void) | undefined): void;
	readonly stats: QualitySimulatorStats;
	resetStats(): void;
}

const QUERY_SUBJECTS = ['conversationId', 'agentUserId', 'evaluatorUserId', 'assigneeUserId'];
const MAX_PAGE_SIZE = 100;

function emptyStats(): QualitySimulatorStats {
	return { evaluationRequests: 0, queryRequests: 0, formRequests: 0, notFound: 0, badRequests: 0 };
}

export function createQualitySimulator(options: { pagingStyle?: QualityPagingStyle } = {}): QualitySimulator {
	const evaluations = new Map<string, EvaluationResponse>();
	const forms = new Map<string, EvaluationForm>();
	const stats = emptyStats();
	let pagingStyle: QualityPagingStyle = options.pagingStyle ?? 'full';
	let queryHook: ((pageNumber: number) => void) | undefined;

	function errorBody(request: SimApiRequest, status: number, code: string, message: string) {
		return { message, code, status, contextId: request.contextId, details: [], errors: [] };
	}

	function notFound(request: SimApiRequest): true {
		stats.notFound += 1;
		sendJson(request.res, 404, errorBody(request, 404, 'not.found', 'The requested resource was not found.'), request.headers);
		return true;
	}

	function badRequest(request: SimApiRequest, message: string): true {
		stats.badRequests += 1;
		sendJson(request.res, 400, errorBody(request, 400, 'bad.request', message), request.headers);
		return true;
	}

	/** Unexpanded users and forms are references: id and selfUri only. */
	function userRef(user: EvaluationUser | undefined): EvaluationUser | undefined {
		return user ? { id: user.id, selfUri: `/api/v2/users/${user.id}` } : undefined;
	}

	function formRef(evaluation: EvaluationResponse): EvaluationForm | undefined {
		const form = evaluation.evaluationForm;
		if (!form) return undefined;
		const name = form.name ?? forms.get(form.id)?.name;
		return { id: form.id, ...(name ? { name } : {}), selfUri: `/api/v2/quality/forms/evaluations/${form.id}` };
	}

	function present(evaluation: EvaluationResponse, expand: Set<string>, withAnswers: boolean): EvaluationResponse {
		const { answers, agent, evaluator, assignee, evaluationForm, ...rest } = evaluation;
		const cid = evaluation.conversation?.id ?? '';
		return dropUndefined({
			...rest,
			conversation: { id: cid, selfUri: `/api/v2/conversations/${cid}` },
			agent: expand.has('agent') ? agent : userRef(agent),
			evaluator: expand.has('evaluator') ? evaluator : userRef(evaluator),
			assignee: expand.has('assignee') ? assignee : userRef(assignee),
			evaluationForm:
				expand.has('evaluationForm') && evaluationForm
					? (forms.get(evaluationForm.id) ?? formRef(evaluation))
					: formRef(evaluation),
			answers: withAnswers ? answers : undefined,
			selfUri: `/api/v2/quality/conversations/${cid}/evaluations/${evaluation.id}`,
		}) as EvaluationResponse;
	}

	function listValues(url: URL, name: string): string[] {
		// Collection parameters arrive repeated (`a=1&a=2`) or comma-separated, depending on the client.
		return url.searchParams
			.getAll(name)
			.flatMap((value) => value.split(','))
			.map((value) => value.trim())
			.filter(Boolean);
	}

	function handleEvaluation(request: SimApiRequest, cid: string, eid: string): true {
		stats.evaluationRequests += 1;
		const evaluation = evaluations.get(eid);
		if (!evaluation || evaluation.conversation?.id !== cid) return notFound(request);
		const expand = new Set(listValues(request.url, 'expand'));
		sendJson(request.res, 200, present(evaluation, expand, true), request.headers);
		return true;
	}

	function handleQuery(request: SimApiRequest): true {
		stats.queryRequests += 1;
		const url = request.url;
		const q = (name: string) => url.searchParams.get(name) ?? undefined;
		if (!QUERY_SUBJECTS.some((name) => q(name))) {
			return badRequest(request, 'Query params must include one of conversationId, evaluatorUserId, agentUserId or assigneeUserId');
		}
		const pageSize = Number(q('pageSize') ?? 25);
		const pageNumber = Number(q('pageNumber') ?? 1);
		if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
			return badRequest(request, `pageSize must be between 1 and ${MAX_PAGE_SIZE}`);
		}
		if (!Number.isInteger(pageNumber) || pageNumber < 1) return badRequest(request, 'pageNumber must be 1 or more');
		queryHook?.(pageNumber);
		const states = new Set(listValues(url, 'evaluationState').map((state) => state.toUpperCase()));
		const startMs = q('startTime') ? Date.parse(q('startTime') as string) : undefined;
		const endMs = q('endTime') ? Date.parse(q('endTime') as string) : undefined;
		if (Number.isNaN(startMs) || Number.isNaN(endMs)) return badRequest(request, 'startTime and endTime must be ISO-8601 dates');
		const isReleased = q('isReleased');
		// "When querying by agentUserId (and not conversationId or evaluatorUserId), the results are sorted by
		// release date. Evaluations set to Never Release are omitted in this case." (QualityApi docs)
		const byAgentOnly = Boolean(q('agentUserId')) && !q('conversationId') && !q('evaluatorUserId');
		// Which date startTime/endTime filter on is not documented; the simulator uses assignedDate.
		const matching = [...evaluations.values()]
			.filter((evaluation) => !q('conversationId') || evaluation.conversation?.id === q('conversationId'))
			.filter((evaluation) => !q('agentUserId') || evaluation.agent?.id === q('agentUserId'))
			.filter((evaluation) => !q('evaluatorUserId') || evaluation.evaluator?.id === q('evaluatorUserId'))
			.filter((evaluation) => !q('assigneeUserId') || evaluation.assignee?.id === q('assigneeUserId'))
			.filter((evaluation) => states.size === 0 || states.has(String(evaluation.status).toUpperCase()))
			.filter((evaluation) => isReleased === undefined || released(evaluation) === (isReleased === 'true'))
			.filter((evaluation) => !byAgentOnly || !evaluation.neverRelease)
			.filter((evaluation) => {
				const at = Date.parse(evaluation.assignedDate ?? evaluation.createdDate ?? '');
				if (startMs !== undefined && !(at >= startMs)) return false;
				if (endMs !== undefined && !(at < endMs)) return false;
				return true;
			})
			.sort((a, b) => {
				const key = (evaluation: EvaluationResponse) =>
					(byAgentOnly ? evaluation.releaseDate : evaluation.assignedDate) ?? evaluation.createdDate ?? '';
				return key(a).localeCompare(key(b)) || a.id.localeCompare(b.id);
			});
		const withAnswers = q('expandAnswerTotalScores') === 'true';
		const expand = new Set(listValues(url, 'expand'));
		const total = matching.length;
		const pageCount = Math.ceil(total / pageSize);
		const entities = matching
			.slice((pageNumber - 1) * pageSize, pageNumber * pageSize)
			.map((evaluation) => present(evaluation, expand, withAnswers));
		const uri = (page: number) => {
			const params = new URLSearchParams(url.searchParams);
			params.set('pageNumber', String(page));
			params.set('pageSize', String(pageSize));
			return `/api/v2/quality/evaluations/query?${params.toString()}`;
		};
		const listing: EvaluationEntityListing = {
			entities,
			pageSize,
			pageNumber,
			...(pagingStyle === 'nextUriOnly' ? {} : { total, pageCount }),
			firstUri: uri(1),
			selfUri: uri(pageNumber),
			...(pagingStyle !== 'nextUriOnly' && pageCount > 0 ? { lastUri: uri(pageCount) } : {}),
			...(pagingStyle !== 'pageCountOnly' && pageNumber < pageCount ? { nextUri: uri(pageNumber + 1) } : {}),
			...(pageNumber > 1 ? { previousUri: uri(pageNumber - 1) } : {}),
		};
		sendJson(request.res, 200, listing, request.headers);
		return true;
	}

	function handleForm(request: SimApiRequest, formId: string): true {
		stats.formRequests += 1;
		const form = forms.get(formId);
		if (!form) return notFound(request);
		sendJson(request.res, 200, { ...form, selfUri: `/api/v2/quality/forms/evaluations/${form.id}` }, request.headers);
		return true;
	}

	const extension: SimApiExtensionFactory = () => async (request) => {
		const { segments } = request;
		if (request.req.method !== 'GET' || segments[0] !== 'quality') return false;
		if (segments.length === 5 && segments[1] === 'conversations' && segments[3] === 'evaluations') {
			return handleEvaluation(request, segments[2], segments[4]);
		}
		if (segments.length === 3 && segments[1] === 'evaluations' && segments[2] === 'query') return handleQuery(request);
		if (segments.length === 4 && segments[1] === 'forms' && segments[2] === 'evaluations') {
			return handleForm(request, segments[3]);
		}
		return false;
	};

	return {
		extension,
		seedEvaluation(evaluation) {
			if (!evaluation?.id) throw new Error('evaluation id is required');
			if (!evaluation.conversation?.id) throw new Error('evaluation conversation.id is required');
			evaluations.set(evaluation.id, structuredClone(evaluation));
		},
		deleteEvaluation(evaluationId) {
			evaluations.delete(evaluationId);
		},
		seedForm(form) {
			if (!form?.id) throw new Error('form id is required');
			forms.set(form.id, structuredClone(form));
		},
		setPagingStyle(style) {
			pagingStyle = style;
		},
		onQuery(hook) {
			queryHook = hook;
		},
		stats,
		resetStats() {
			Object.assign(stats, emptyStats());
		},
	};
}

function released(evaluation: EvaluationResponse): boolean {
	return Boolean(evaluation.releaseDate) && !evaluation.neverRelease;
}

function dropUndefined<T extends object>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
