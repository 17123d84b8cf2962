/**
 * RFC 9457 problem documents: every error the server answers is one (spec/api.md, Conventions).
 */
import { isLedgerError } from '../errors.js';
import { StoreUnavailableError } from '../store/index.js';

export const PROBLEM_TYPE_BASE = 'https://provenance-ledger.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
}

/** An error that already knows its HTTP status; thrown by handlers, answered by onError. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(field ? `${field}: ${detail}` : detail);
    this.name = 'HttpProblem';
  }
}

export function problemBody(status: number, code: string, detail: string, field?: string): Problem {
  const p: Problem = { type: PROBLEM_TYPE_BASE + code, title: TITLES[status] ?? 'Error', status, detail, code };
  if (field !== undefined && field !== '') p.field = field;
  return p;
}

export function problemResponse(status: number, code: string, detail: string, field?: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail, field)), {
    status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers },
  });
}

/** Ledger error codes that are not plain bad input. */
const CONFLICT_CODES = new Set(['conflict', 'manifest-conflict']);
const NOT_FOUND_CODES = new Set(['not-found', 'unknown-manifest', 'unknown-record', 'unknown-work']);
const UNAVAILABLE_CODES = new Set(['store-unavailable', 'closed']);

/** The status of a thrown error: LedgerError → 4xx (503 for the store), anything else → 500. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpProblem) return err.status;
  if (err instanceof StoreUnavailableError) return 503;
  if (isLedgerError(err)) {
    if (UNAVAILABLE_CODES.has(err.code)) return 503;
    if (CONFLICT_CODES.has(err.code)) return 409;
    if (NOT_FOUND_CODES.has(err.code)) return 404;
    return 400;
  }
  return 500;
}

/** Turns any thrown error into a problem response. */
export function problemFromError(err: unknown): Response {
  if (err instanceof HttpProblem) return problemResponse(err.status, err.code, err.detail, err.field, err.headers);
  const status = statusOf(err);
  if (isLedgerError(err)) {
    // LedgerError's message is already "<field>: <reason>" when it has a field.
    return problemResponse(status, err.code, err.message, err.field);
  }
  return problemResponse(500, 'internal', 'internal server error');
}
