import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

import { BodyTooLargeError, closeServer, listen, pathMatcher, readBody, sendEmpty, sendJson, streamBody } from './httpUtil';
import { syntheticMediaStream } from './syntheticMedia';

/**
 * NICE CXone simulator (reference/ccaas-apis.md §2 and §6): OpenID discovery, cxone-configuration, both token
 * endpoints, Media Playback (contacts, segments; both response casings; 150 requests / 5 min answered with 429),
 * Data Extraction jobs (RUNNING then SUCCEEDED, result links valid 30 s, one call per 30 s answered with 403) and
 * expiring signed media URLs. Timings are options so tests can shorten them.
 */
export interface NiceSimulatorOptions {
	host?: string;
	port?: number;
	tenantId?: string;
	area?: string;
	clientId?: string;
	clientSecret?: string;
	accessKeyId?: string;
	accessKeySecret?: string;
	tokenTtlSec?: number;
	/** Lifetime of fileToPlayUrl; undocumented ([I] short), 300 s here. */
	mediaUrlTtlSec?: number;
	/** Lifetime of a job's result URL: 30 s per the Data Extraction help page. */
	resultUrlTtlSec?: number;
	/** Data Extraction: one call per this many ms per tenant (30 s), else 403. */
	extractionIntervalMs?: number;
	/** GETs of a job answered RUNNING before SUCCEEDED. */
	jobPollsToSucceed?: number;
	/** Media Playback quota per window (150 per 5 minutes), else 429. */
	playbackLimit?: number;
	playbackWindowMs?: number;
	/** Response casing of the Media Playback API: working code reads camelCase, the help page shows PascalCase. */
	playbackCasing?: 'camel' | 'pascal';
	/** Name the simulator serves Q&A rows under (the real entity name is not confirmed). */
	questionsEntityName?: string;
	/** `title` ("Workflow ID") as the tap's column conversion suggests, or `camel` (the tap's schema names). */
	csvHeaders?: 'title' | 'camel';
}

export interface SimNiceRecording {
	segmentId: string;
	mediaType?: 'voice-and-screen' | 'voice-only';
	filePath?: string;
	sizeBytes?: number;
	seed?: string;
	contentType?: string;
	direction?: string;
}

export interface SimNiceContact {
	/** ACD contact id (`acd-call-id`, QM's acdId). */
	acdContactId: string;
	contactId?: string;
	agent: { id: string; name?: string };
	startTime?: string;
	endTime?: string;
	recordings: SimNiceRecording[];
}

/** One state change of a QM workflow: becomes one qm-workflows row. */
export interface SimWorkflowState {
	workflowState: string;
	workflowStatus?: string;
	lastUpdated: string;
	scorePercentage?: number;
	score?: number;
	submissionDate?: string;
	failedCriticalQuestion?: boolean;
	disputeResolverComments?: string;
}

export interface SimQuestion {
	sectionId: string;
	sectionTitle: string;
	questionId: string;
	questionTitle: string;
	actualScore: number;
	maxScore: number;
	critical?: boolean;
	failedCritical?: boolean;
}

export interface SimNiceEvaluation {
	workflowId: string;
	acdId: string;
	segmentId?: string;
	agentId: string;
	agentFirstName?: string;
	agentLastName?: string;
	formName?: string;
	planName?: string;
	type?: string;
	teamId?: string;
	teamName?: string;
	interactionType?: string;
	maximumPossibleScore?: number;
	history: SimWorkflowState[];
	questions?: SimQuestion[];
}

export interface NiceFault {
	path: string | RegExp;
	method?: string;
	count?: number;
	status: number;
	body?: unknown;
}

export interface NiceSimulatorStats {
	discoveryRequests: number;
	configurationRequests: number;
	oauthTokenRequests: number;
	accessKeyTokenRequests: number;
	tokensIssued: number;
	playbackRequests: number;
	playback429: number;
	extractionCalls: number;
	throttled403: number;
	jobsCreated: number;
	jobGets: number;
	resultDownloads: number;
	resultExpired403: number;
	mediaRequests: number;
	mediaExpired403: number;
	mediaBytesServed: number;
	/** Job bodies as posted. */
	jobBodies: Array<Record<string, unknown>>;
	byPath: Record<string, number>;
}

export interface NiceSimulator {
	readonly baseUrl: string;
	/** Auth base URL (discovery documents, token endpoints): the same server. */
	readonly authBaseUrl: string;
	readonly port: number;
	readonly tenantId: string;
	readonly clientId: string;
	readonly clientSecret: string;
	readonly accessKeyId: string;
	readonly accessKeySecret: string;
	readonly stats: NiceSimulatorStats;
	seedContact(contact: SimNiceContact): void;
	seedEvaluation(evaluation: SimNiceEvaluation): void;
	setFault(fault: NiceFault): void;
	/** Moves the simulator clock (tokens, signed URLs, quotas); the extraction throttle uses it too. */
	advanceTime(ms: number): void;
	/** The next `count` fileToPlayUrls are already expired when handed out (a download started too late). */
	issueExpiredMediaUrls(count: number): void;
	/** The next `count` result URLs are already expired when handed out (the 30 s passed before the download). */
	issueExpiredResultUrls(count: number): void;
	/** Makes the next job end in this state instead of SUCCEEDED. */
	failNextJob(status: 'FAILED' | 'CANCELLED' | 'EXPIRED'): void;
	resetStats(): void;
	close(): Promise<void>;
}

const WORKFLOW_COLUMNS: Array<[string, string]> = [
	['workflowId', 'Workflow ID'],
	['type', 'Type'],
	['workflowStatus', 'Workflow Status'],
	['workflowState', 'Workflow State'],
	['evaluationFlowTrigger', 'Evaluation Flow Trigger'],
	['planName', 'Plan Name'],
	['formName', 'Form Name'],
	['formVersion', 'Form Version'],
	['startDate', 'Start Date'],
	['submissionDate', 'Submission Date'],
	['lastUpdated', 'Last Updated'],
	['score', 'Score'],
	['scorePercentage', 'Score Percentage'],
	['maximumPossibleScore', 'Maximum Possible Score'],
	['failedCriticalQuestion', 'Failed Critical Question'],
	['agentId', 'Agent ID'],
	['firstnameAgent', 'Firstname Agent'],
	['lastnameAgent', 'Lastname Agent'],
	['firstnameEva', 'Firstname Eva'],
	['lastnameEva', 'Lastname Eva'],
	['teamId', 'Team ID'],
	['teamName', 'Team Name'],
	['segmentId', 'Segment ID'],
	['acdId', 'ACD ID'],
	['interactionType', 'Interaction Type'],
	['interactionStartDate', 'Interaction Start Date'],
	['interactionEndDate', 'Interaction End Date'],
	['interactionDirection', 'Interaction Direction'],
	['userReviewComments', 'User Review Comments'],
	['disputeResolverComments', 'Dispute Resolver Comments'],
];

const QUESTION_COLUMNS: Array<[string, string]> = [
	['formId', 'Form ID'],
	['formName', 'Form Name'],
	['formVersion', 'Form Version'],
	['sectionId', 'Section ID'],
	['sectionTitle', 'Section Title'],
	['sectionScore%', 'Section Score %'],
	['questionId', 'Question ID'],
	['questionTitle', 'Question Title'],
	['questionNumber', 'Question Number'],
	['questionType', 'Question Type'],
	['answer', 'Answer'],
	['actualScore', 'Actual Score'],
	['maxScore', 'Max Score'],
	['evaluationScore%', 'Evaluation Score %'],
	['critical', 'Critical'],
	['failedCriticalQuestion', 'Failed Critical Question'],
	['mandatory', 'Mandatory'],
	['scorable', 'Scorable'],
	['agentId', 'Agent ID'],
	['segmentId', 'Segment ID'],
	['workflowinstanceId', 'Workflowinstance ID'],
	['evaluationSubmissionDate', 'Evaluation Submission Date'],
];

function emptyStats(): NiceSimulatorStats {
	return {
		discoveryRequests: 0,
		configurationRequests: 0,
		oauthTokenRequests: 0,
		accessKeyTokenRequests: 0,
		tokensIssued: 0,
		playbackRequests: 0,
		playback429: 0,
		extractionCalls: 0,
		throttled403: 0,
		jobsCreated: 0,
		jobGets: 0,
		resultDownloads: 0,
		resultExpired403: 0,
		mediaRequests: 0,
		mediaExpired403: 0,
		mediaBytesServed: 0,
		jobBodies: [],
		byPath: {},
	};
}

function csvCell(value: unknown): string {
	const text = value === undefined || value === null ? '' : String(value);
	return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function s3Denied(message: string): string {
	return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
}

function base64url(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export async function startNiceCxoneSimulator(options: NiceSimulatorOptions = {}): Promise<NiceSimulator> {
	const host = options.host ?? '127.0.0.1';
	const tenantId = options.tenantId ?? randomUUID();
	const area = options.area ?? 'na1';
	const clientId = options.clientId ?? 'sim-nice-app@example.com';
	const clientSecret = options.clientSecret ?? 'sim-nice-app-secret';
	const accessKeyId = options.accessKeyId ?? 'SIMACCESSKEYID000000000000000000000000000';
	const accessKeySecret = options.accessKeySecret ?? 'sim-access-key-secret';
	const tokenTtlSec = options.tokenTtlSec ?? 3600;
	const mediaUrlTtlSec = options.mediaUrlTtlSec ?? 300;
	const resultUrlTtlSec = options.resultUrlTtlSec ?? 30;
	const extractionIntervalMs = options.extractionIntervalMs ?? 30_000;
	const jobPollsToSucceed = options.jobPollsToSucceed ?? 2;
	const playbackLimit = options.playbackLimit ?? 150;
	const playbackWindowMs = options.playbackWindowMs ?? 300_000;
	const casing = options.playbackCasing ?? 'camel';
	const questionsEntityName = options.questionsEntityName ?? 'qm-questions-answers';
	const headerStyle = options.csvHeaders ?? 'title';
	const signingKey = randomBytes(32);

	let clockOffsetMs = 0;
	const now = () => Date.now() + clockOffsetMs;
	let stats = emptyStats();
	const tokens = new Map<string, number>();
	const contacts = new Map<string, SimNiceContact>();
	const evaluations: SimNiceEvaluation[] = [];
	const jobs = new Map<string, { id: string; entityName: string; version: string; startDate: string; endDate: string; polls: number; endState?: string; createdAt: number }>();
	let nextJobEnd: string | undefined;
	let expiredMediaUrls = 0;
	let expiredResultUrls = 0;
	let lastExtractionAt = -Infinity;
	let playbackWindowStart = 0;
	let playbackCount = 0;
	let faults: Array<NiceFault & { remaining: number; matches: (path: string) => boolean }> = [];
	let baseUrl = '';

	function sign(path: string, ttlSec: number): string {
		const expires = String(now() + ttlSec * 1000);
		const signature = createHmac('sha256', signingKey).update(`${path}\n${expires}`).digest('hex');
		return `${baseUrl}${path}?X-Sim-Expires=${expires}&X-Sim-Signature=${signature}`;
	}

	/** undefined when valid; else the S3-style refusal. */
	function checkSignature(url: URL): string | undefined {
		const expires = url.searchParams.get('X-Sim-Expires') ?? '';
		const given = Buffer.from(url.searchParams.get('X-Sim-Signature') ?? '');
		const expected = Buffer.from(createHmac('sha256', signingKey).update(`${url.pathname}\n${expires}`).digest('hex'));
		if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'Access Denied';
		if (now() > Number(expires)) return 'Request has expired';
		return undefined;
	}

	function bearerValid(req: IncomingMessage): boolean {
		const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		const expiresAt = match ? tokens.get(match[1]) : undefined;
		return expiresAt !== undefined && expiresAt > now();
	}

	function issueToken(): string {
		const token = randomBytes(32).toString('base64url');
		tokens.set(token, now() + tokenTtlSec * 1000);
		stats.tokensIssued += 1;
		return token;
	}

	async function handleOAuthToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
		stats.oauthTokenRequests += 1;
		const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
		const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
		const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : '';
		const at = decoded.indexOf(':');
		if (decoded.slice(0, at) !== clientId || decoded.slice(at + 1) !== clientSecret) {
			return sendJson(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
		}
		if (form.get('grant_type') !== 'password') return sendJson(res, 400, { error: 'unsupported_grant_type' });
		if (form.get('username') !== accessKeyId || form.get('password') !== accessKeySecret) {
			return sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid access key' });
		}
		const iat = Math.floor(now() / 1000);
		const idToken = [base64url({ alg: 'HS256', typ: 'JWT' }), base64url({ iss: baseUrl, sub: `user:${accessKeyId.slice(0, 8)}`, aud: clientId, tenantId, iat, exp: iat + tokenTtlSec })];
		const signature = createHmac('sha256', signingKey).update(idToken.join('.')).digest('base64url');
		sendJson(res, 200, {
			access_token: issueToken(),
			token_type: 'Bearer',
			expires_in: tokenTtlSec,
			refresh_token: randomBytes(16).toString('hex'),
			id_token: `${idToken.join('.')}.${signature}`,
			issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
		});
	}

	async function handleAccessKeyToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
		stats.accessKeyTokenRequests += 1;
		let body: { accessKeyId?: string; accessKeySecret?: string };
		try {
			body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8') || '{}');
		} catch {
			return sendJson(res, 400, { error: 'invalid_request', error_description: 'Body is not JSON' });
		}
		if (body.accessKeyId !== accessKeyId || body.accessKeySecret !== accessKeySecret) {
			return sendJson(res, 401, { error: 'invalid_grant', error_description: 'Invalid access key id or secret' });
		}
		sendJson(res, 200, {
			access_token: issueToken(),
			token_type: 'Bearer',
			expires_in: tokenTtlSec,
			refresh_token: randomBytes(16).toString('hex'),
			scope: 'RealTimeApi AdminApi ReportingApi',
			resource_server_base_uri: `${baseUrl}/inContactAPI/`,
			refresh_token_server_uri: `${baseUrl}/public/user/refresh`,
		});
	}

	function interactionJson(contact: SimNiceContact, recording: SimNiceRecording): Record<string, unknown> {
		const startTime = contact.startTime ?? new Date(now() - 10 * 60_000).toISOString();
		const endTime = contact.endTime ?? new Date(Date.parse(startTime) + 5 * 60_000).toISOString();
		const mediaType = recording.mediaType ?? 'voice-and-screen';
		const expired = expiredMediaUrls > 0;
		if (expired) expiredMediaUrls -= 1;
		const fileToPlayUrl = sign(`/signed/media/${encodeURIComponent(contact.acdContactId)}/${encodeURIComponent(recording.segmentId)}.mp4`, expired ? -1 : mediaUrlTtlSec);
		const participant = { participantType: 'AGENT', participantId: contact.agent.id, agentName: contact.agent.name ?? contact.agent.id };
		const segment = { segmentId: recording.segmentId, directionType: recording.direction ?? 'Inbound' };
		if (casing === 'pascal') {
			return {
				Interaction: {
					MediaType: mediaType,
					CallTaggingList: [],
					Data: {
						StartTime: startTime,
						EndTime: endTime,
						FileToPlayUrl: fileToPlayUrl,
						ParticipantDataList: [{ ParticipantType: 'AGENT', ParticipantId: participant.participantId, AgentName: participant.agentName }],
						SegmentsDataList: [{ SegmentId: segment.segmentId, DirectionType: segment.directionType }],
					},
				},
			};
		}
		return {
			mediaType,
			callTaggingList: [],
			data: { startTime, endTime, fileToPlayUrl, participantDataList: [participant], segmentsDataList: [segment], sentiments: [], categoryMatchesList: [] },
		};
	}

	function playbackBody(contact: SimNiceContact, recordings: SimNiceRecording[]): unknown {
		const interactions = recordings.map((recording) => interactionJson(contact, recording));
		const contactId = contact.contactId ?? contact.acdContactId;
		return casing === 'pascal'
			? { value: { ContactId: contactId, AcdContactId: contact.acdContactId, Interactions: interactions } }
			: { contactId, acdcontactId: contact.acdContactId, interactions };
	}

	function handlePlayback(res: ServerResponse, url: URL, segments: string[]): void {
		stats.playbackRequests += 1;
		if (now() - playbackWindowStart >= playbackWindowMs) {
			playbackWindowStart = now();
			playbackCount = 0;
		}
		playbackCount += 1;
		if (playbackCount > playbackLimit) {
			stats.playback429 += 1;
			const retryAfter = Math.max(1, Math.ceil((playbackWindowStart + playbackWindowMs - now()) / 1000));
			return sendJson(res, 429, { message: `Rate limit of ${playbackLimit} requests per ${playbackWindowMs / 1000} s exceeded` }, { 'Retry-After': String(retryAfter) });
		}
		const mediaType = url.searchParams.get('media-type') ?? 'all';
		const wanted = (recording: SimNiceRecording) => mediaType === 'all' || (recording.mediaType ?? 'voice-and-screen') === mediaType;
		if (segments[2] === 'contacts' && segments.length === 3) {
			const contact = contacts.get(url.searchParams.get('acd-call-id') ?? '');
			if (!contact) return sendJson(res, 404, { message: 'Interaction Not Found' });
			return sendJson(res, 200, playbackBody(contact, contact.recordings.filter(wanted)));
		}
		if (segments[2] === 'segments' && segments.length === 4) {
			for (const contact of contacts.values()) {
				const recording = contact.recordings.find((candidate) => candidate.segmentId === segments[3]);
				if (recording) return sendJson(res, 200, playbackBody(contact, [recording].filter(wanted)));
			}
			return sendJson(res, 404, { message: 'Interaction Not Found' });
		}
		sendJson(res, 404, { message: 'Not Found' });
	}

	function workflowRows(startDate: string, endDate: string): Array<Record<string, unknown>> {
		const rows: Array<Record<string, unknown>> = [];
		for (const evaluation of evaluations) {
			for (const state of evaluation.history) {
				const day = state.lastUpdated.slice(0, 10);
				if (day < startDate || day > endDate) continue;
				rows.push({
					workflowId: evaluation.workflowId,
					type: evaluation.type ?? 'Evaluation',
					workflowStatus: state.workflowStatus ?? (state.workflowState === 'Completed' ? 'Closed' : 'Active'),
					workflowState: state.workflowState,
					evaluationFlowTrigger: 'Manual',
					planName: evaluation.planName ?? 'Weekly QA',
					formName: evaluation.formName ?? 'Support QA',
					formVersion: '3',
					startDate: evaluation.history[0].lastUpdated,
					submissionDate: state.submissionDate ?? '',
					lastUpdated: state.lastUpdated,
					score: state.score ?? (state.scorePercentage !== undefined ? ((state.scorePercentage * (evaluation.maximumPossibleScore ?? 100)) / 100).toFixed(2) : ''),
					// Scores arrive as CSV strings.
					scorePercentage: state.scorePercentage !== undefined ? state.scorePercentage.toFixed(2) : '',
					maximumPossibleScore: evaluation.maximumPossibleScore ?? 100,
					failedCriticalQuestion: state.failedCriticalQuestion ? 'true' : 'false',
					agentId: evaluation.agentId,
					firstnameAgent: evaluation.agentFirstName ?? '',
					lastnameAgent: evaluation.agentLastName ?? '',
					firstnameEva: 'Quinn',
					lastnameEva: 'Evaluator',
					teamId: evaluation.teamId ?? 'team-1',
					teamName: evaluation.teamName ?? 'Support',
					segmentId: evaluation.segmentId ?? '',
					acdId: evaluation.acdId,
					interactionType: evaluation.interactionType ?? 'Voice',
					interactionStartDate: '',
					interactionEndDate: '',
					interactionDirection: 'Inbound',
					userReviewComments: '',
					disputeResolverComments: state.disputeResolverComments ?? '',
				});
			}
		}
		return rows;
	}

	function questionRows(startDate: string, endDate: string): Array<Record<string, unknown>> {
		const rows: Array<Record<string, unknown>> = [];
		for (const evaluation of evaluations) {
			const submitted = [...evaluation.history].reverse().find((state) => state.submissionDate);
			if (!submitted?.submissionDate || !evaluation.questions) continue;
			const day = submitted.lastUpdated.slice(0, 10);
			if (day < startDate || day > endDate) continue;
			const sectionTotals = new Map<string, { score: number; max: number }>();
			for (const question of evaluation.questions) {
				const total = sectionTotals.get(question.sectionId) ?? { score: 0, max: 0 };
				total.score += question.actualScore;
				total.max += question.maxScore;
				sectionTotals.set(question.sectionId, total);
			}
			evaluation.questions.forEach((question, index) => {
				const section = sectionTotals.get(question.sectionId)!;
				rows.push({
					formId: 'form-1',
					formName: evaluation.formName ?? 'Support QA',
					formVersion: '3',
					sectionId: question.sectionId,
					sectionTitle: question.sectionTitle,
					'sectionScore%': section.max > 0 ? ((section.score / section.max) * 100).toFixed(2) : '',
					questionId: question.questionId,
					questionTitle: question.questionTitle,
					questionNumber: index + 1,
					questionType: 'MultipleChoice',
					answer: question.actualScore === question.maxScore ? 'Yes' : 'No',
					actualScore: question.actualScore,
					maxScore: question.maxScore,
					'evaluationScore%': submitted.scorePercentage?.toFixed(2) ?? '',
					critical: question.critical ? 'true' : 'false',
					failedCriticalQuestion: question.failedCritical ? 'true' : 'false',
					mandatory: 'true',
					scorable: 'true',
					agentId: evaluation.agentId,
					segmentId: evaluation.segmentId ?? '',
					workflowinstanceId: evaluation.workflowId,
					evaluationSubmissionDate: submitted.submissionDate,
				});
			});
		}
		return rows;
	}

	function toCsv(columns: Array<[string, string]>, rows: Array<Record<string, unknown>>): string {
		const header = columns.map(([camel, title]) => csvCell(headerStyle === 'title' ? title : camel)).join(',');
		return [header, ...rows.map((row) => columns.map(([camel]) => csvCell(row[camel])).join(','))].join('\r\n') + '\r\n';
	}

	async function handleExtraction(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
		// One call per interval per tenant; NICE answers the excess with 403, not 429.
		if (now() - lastExtractionAt < extractionIntervalMs) {
			stats.throttled403 += 1;
			return sendJson(res, 403, { error: 'Forbidden', message: 'Too many requests: one Data Extraction call is allowed every 30 seconds' });
		}
		lastExtractionAt = now();
		stats.extractionCalls += 1;
		if (segments[2] !== 'jobs') return sendJson(res, 404, { message: 'Not Found' });
		if (req.method === 'POST' && segments.length === 3) {
			let body: Record<string, unknown>;
			try {
				body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
			} catch {
				return sendJson(res, 400, { message: 'Body is not JSON' });
			}
			stats.jobBodies.push(body);
			const { entityName, version, startDate, endDate } = body as Record<string, string>;
			if (entityName !== 'qm-workflows' && entityName !== questionsEntityName) return sendJson(res, 400, { message: `Unknown entity ${String(entityName)}` });
			if (!/^\d{4}-\d{2}-\d{2}$/.test(startDate ?? '') || !/^\d{4}-\d{2}-\d{2}$/.test(endDate ?? '') || endDate < startDate || !version) {
				return sendJson(res, 400, { message: 'startDate and endDate must be YYYY-MM-DD, endDate not before startDate, and version is required' });
			}
			const id = randomUUID();
			jobs.set(id, { id, entityName, version: String(version), startDate, endDate, polls: 0, endState: nextJobEnd, createdAt: now() });
			nextJobEnd = undefined;
			stats.jobsCreated += 1;
			// 202 with the job id as a JSON string.
			return sendJson(res, 202, id);
		}
		if (req.method === 'GET' && segments.length === 3) {
			return sendJson(res, 200, { jobs: [...jobs.values()].map((job) => ({ id: job.id, entityName: job.entityName, status: job.polls >= jobPollsToSucceed ? job.endState ?? 'SUCCEEDED' : 'RUNNING' })) });
		}
		const job = segments.length === 4 ? jobs.get(segments[3]) : undefined;
		if (req.method !== 'GET' || !job) return sendJson(res, 404, { message: 'Job not found' });
		stats.jobGets += 1;
		job.polls += 1;
		if (job.polls < jobPollsToSucceed) return sendJson(res, 200, { jobStatus: { id: job.id, status: 'RUNNING', result: {} } });
		if (job.endState) return sendJson(res, 200, { jobStatus: { id: job.id, status: job.endState, result: { errorMessage: `Job ${job.endState.toLowerCase()}` } } });
		const expired = expiredResultUrls > 0;
		if (expired) expiredResultUrls -= 1;
		sendJson(res, 200, { jobStatus: { id: job.id, status: 'SUCCEEDED', result: { url: sign(`/signed/results/${job.id}.csv`, expired ? -1 : resultUrlTtlSec) } } });
	}

	function handleSigned(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> | void {
		const isResult = url.pathname.startsWith('/signed/results/');
		if (isResult) stats.resultDownloads += 1;
		else stats.mediaRequests += 1;
		const refusal = checkSignature(url);
		if (refusal) {
			if (refusal === 'Request has expired') {
				if (isResult) stats.resultExpired403 += 1;
				else stats.mediaExpired403 += 1;
			}
			const body = s3Denied(refusal);
			res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)) });
			res.end(body);
			return;
		}
		const parts = url.pathname.split('/').map(decodeURIComponent);
		if (isResult) {
			const job = jobs.get(parts[3].replace(/\.csv$/, ''));
			if (!job) return sendJson(res, 404, { message: 'NoSuchKey' });
			const csv = job.entityName === 'qm-workflows' ? toCsv(WORKFLOW_COLUMNS, workflowRows(job.startDate, job.endDate)) : toCsv(QUESTION_COLUMNS, questionRows(job.startDate, job.endDate));
			const payload = Buffer.from(`\uFEFF${csv}`, 'utf8');
			res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Length': String(payload.length) });
			res.end(payload);
			return;
		}
		const contact = contacts.get(parts[3] ?? '');
		const recording = contact?.recordings.find((candidate) => `${candidate.segmentId}.mp4` === parts[4]);
		if (!contact || !recording) return sendJson(res, 404, { message: 'NoSuchKey' });
		const size = recording.filePath ? statSync(recording.filePath).size : recording.sizeBytes ?? 128 * 1024;
		const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
		const start = range ? Number(range[1]) : 0;
		if (start >= size && size > 0) {
			res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': '0' });
			res.end();
			return;
		}
		const end = size - 1;
		res.writeHead(range ? 206 : 200, {
			'Content-Type': recording.contentType ?? 'video/mp4',
			'Content-Length': String(size - start),
			'Accept-Ranges': 'bytes',
			...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
		});
		const source: Readable = recording.filePath ? createReadStream(recording.filePath, { start, end }) : syntheticMediaStream(size, { seed: recording.seed, start, end });
		return streamBody(res, source, (count) => {
			stats.mediaBytesServed += count;
		});
	}

	async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const readJson = async () => JSON.parse((await readBody(req)).toString('utf8') || '{}');
		if (req.method === 'GET' && url.pathname === '/__sim/stats') return sendJson(res, 200, stats);
		if (req.method === 'POST' && url.pathname === '/__sim/contacts') {
			seedContact((await readJson()) as SimNiceContact);
			return sendEmpty(res, 204);
		}
		if (req.method === 'POST' && url.pathname === '/__sim/evaluations') {
			seedEvaluation((await readJson()) as SimNiceEvaluation);
			return sendEmpty(res, 204);
		}
		if (req.method === 'POST' && url.pathname === '/__sim/advance') {
			clockOffsetMs += Number(((await readJson()) as { ms?: number }).ms) || 0;
			return sendEmpty(res, 204);
		}
		sendJson(res, 404, { message: 'unknown control endpoint' });
	}

	function seedContact(contact: SimNiceContact): void {
		if (!contact?.acdContactId) throw new Error('acdContactId is required');
		contacts.set(contact.acdContactId, { ...contact, recordings: [...(contact.recordings ?? [])] });
	}

	function seedEvaluation(evaluation: SimNiceEvaluation): void {
		if (!evaluation?.workflowId || !evaluation.history?.length) throw new Error('workflowId and at least one state change are required');
		evaluations.push(evaluation);
	}

	async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		const path = url.pathname;
		if (path.startsWith('/__sim/')) return handleControl(req, res, url);
		stats.byPath[`${method} ${path}`] = (stats.byPath[`${method} ${path}`] ?? 0) + 1;
		const fault = faults.find((candidate) => candidate.remaining > 0 && (!candidate.method || candidate.method.toUpperCase() === method) && candidate.matches(path));
		if (fault) {
			fault.remaining -= 1;
			faults = faults.filter((candidate) => candidate.remaining > 0);
			return sendJson(res, fault.status, fault.body ?? { message: `Simulated HTTP ${fault.status}` });
		}
		if (method === 'GET' && path === '/.well-known/openid-configuration') {
			stats.discoveryRequests += 1;
			return sendJson(res, 200, {
				issuer: baseUrl,
				authorization_endpoint: `${baseUrl}/auth/authorize`,
				token_endpoint: `${baseUrl}/auth/token`,
				jwks_uri: `${baseUrl}/auth/jwks`,
				grant_types_supported: ['authorization_code', 'password', 'refresh_token', 'client_credentials'],
			});
		}
		if (method === 'GET' && path === '/.well-known/cxone-configuration') {
			stats.configurationRequests += 1;
			if (url.searchParams.get('tenantId') !== tenantId) return sendJson(res, 404, { message: 'Tenant not found' });
			return sendJson(res, 200, { private_tenant: false, area, api_endpoint: baseUrl, ui_endpoint: baseUrl, auth_endpoint: baseUrl, tenantId });
		}
		if (method === 'POST' && path === '/auth/token') return handleOAuthToken(req, res);
		if (method === 'POST' && path === '/authentication/v1/token/access-key') return handleAccessKeyToken(req, res);
		if (path.startsWith('/signed/') && method === 'GET') return handleSigned(req, res, url);
		const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
		if (segments[0] === 'media-playback' || segments[0] === 'data-extraction') {
			if (!bearerValid(req)) return sendJson(res, 401, { error: 'invalid_token', message: 'Unauthorized' });
			if (segments[0] === 'media-playback' && segments[1] === 'v1' && method === 'GET') return handlePlayback(res, url, segments);
			if (segments[0] === 'data-extraction' && segments[1] === 'v1') return handleExtraction(req, res, segments);
		}
		sendJson(res, 404, { message: 'Not Found' });
	}

	const server = createServer((req, res) => {
		handle(req, res).catch((error: Error) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			sendJson(res, error instanceof BodyTooLargeError ? 413 : 500, { message: error.message });
		});
	});
	const port = await listen(server, host, options.port ?? 0);
	baseUrl = `http://${host}:${port}`;

	return {
		baseUrl,
		authBaseUrl: baseUrl,
		port,
		tenantId,
		clientId,
		clientSecret,
		accessKeyId,
		accessKeySecret,
		get stats() {
			return stats;
		},
		seedContact,
		seedEvaluation,
		setFault(fault: NiceFault) {
			faults.push({ ...fault, remaining: fault.count ?? 1, matches: pathMatcher(fault.path) });
		},
		advanceTime(ms: number) {
			clockOffsetMs += ms;
		},
		issueExpiredMediaUrls(count: number) {
			expiredMediaUrls += count;
		},
		issueExpiredResultUrls(count: number) {
			expiredResultUrls += count;
		},
		failNextJob(status) {
			nextJobEnd = status;
		},
		resetStats() {
			stats = emptyStats();
		},
		async close() {
			await closeServer(server);
		},
	};
}
