/** The answer to a manifest upload refused for its quota of unclaimed bytes (spec/api.md "Unclaimed manifests"). */
import { ManifestQuotaError } from '../ledger/errors.js';
import { HttpProblem } from './problem.js';

/** A quota refusal as its problem answer (with Retry-After when waiting can help); other errors as they are. */
export function quotaProblem(err: unknown): unknown {
  if (!(err instanceof ManifestQuotaError)) return err;
  const headers: Record<string, string> = {};
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  return new HttpProblem(err.status, err.code, err.field ? err.message.slice(err.field.length + 2) : err.message, err.field, headers);
}
