/** Errors of the ledger personality: all LedgerErrors with a stable code and field. */
import { LedgerError } from '../errors.js';

/** Bad input to the ledger (HTTP 400): nothing was written. */
export class LedgerInputError extends LedgerError {}

/** A record that is well-formed but breaks a log-level rule (HTTP 400). */
export class AdmissionError extends LedgerInputError {}

/** A manifest upload that conflicts with what is stored (HTTP 409). */
export class ManifestConflictError extends LedgerError {}

/**
 * A manifest upload refused for the bytes it would add to unclaimed manifests (spec/api.md,
 * POST /manifests): 429 past the client's quota, 507 past the server's, 413 for a manifest
 * larger than a client's whole quota (it could never be stored). `retryAfterSeconds`: when the
 * oldest unclaimed manifest counted against that quota is due to be removed.
 */
export class ManifestQuotaError extends LedgerError {
  constructor(
    code: string,
    message: string,
    readonly status: 413 | 429 | 507,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, status === 413 ? 'count' : undefined);
  }
}
