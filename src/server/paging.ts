/**
 * Query parameters of the paginated lists (spec/api.md, "Pages"): `limit` (1 … PAGE_LIMIT.max,
 * default PAGE_LIMIT.default) and `after`, a cursor — `<useIndex>.<position>` for use lists (the
 * syntax of SSE event ids), a grant index for consents. Bad values are 400 `bad-parameter`
 * naming the parameter.
 */
import type { Context } from 'hono';
import { PAGE_LIMIT } from '../ledger/queries.js';
import type { UseCursor } from '../ledger/types.js';
import { HttpProblem } from './problem.js';

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const CURSOR = /^(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/;

const quoted = (value: string) => JSON.stringify(value.slice(0, 40));

/** `<useIndex>.<position>`, both decimal integers below 2^53; else 400 with `code`, naming `field`. */
export function parseUseCursor(text: string, field: string, code = 'bad-parameter'): UseCursor {
  const m = CURSOR.exec(text.trim());
  if (!m || !Number.isSafeInteger(Number(m[1])) || !Number.isSafeInteger(Number(m[2]))) {
    throw new HttpProblem(400, code, `must be <useIndex>.<position>, got ${quoted(text)}`, field);
  }
  return { useIndex: Number(m[1]), position: Number(m[2]) };
}

export function formatUseCursor(cursor: UseCursor | null): string | null {
  return cursor && `${cursor.useIndex}.${cursor.position}`;
}

function limitOf(c: Context): number {
  const text = c.req.query('limit');
  if (text === undefined) return PAGE_LIMIT.default;
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > PAGE_LIMIT.max) {
    throw new HttpProblem(400, 'bad-parameter', `must be a decimal integer from 1 to ${PAGE_LIMIT.max}, got ${quoted(text)}`, 'limit');
  }
  return n;
}

/** `?limit=&after=<useIndex>.<position>` of a use list. */
export function usePageParams(c: Context): { limit: number; after: UseCursor | null } {
  const after = c.req.query('after');
  return { limit: limitOf(c), after: after === undefined ? null : parseUseCursor(after, 'after') };
}

/** `?limit=&after=<grantIndex>` of a consent list. */
export function consentPageParams(c: Context): { limit: number; after: number | null } {
  const after = c.req.query('after');
  if (after !== undefined && (!DECIMAL.test(after) || !Number.isSafeInteger(Number(after)))) {
    throw new HttpProblem(400, 'bad-parameter', `must be a grant index (a decimal integer below 2^53), got ${quoted(after)}`, 'after');
  }
  return { limit: limitOf(c), after: after === undefined ? null : Number(after) };
}
