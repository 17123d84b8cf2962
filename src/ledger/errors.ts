/** Errors of the ledger personality: all LedgerErrors with a stable code and field. */
import { LedgerError } from '../errors.js';

/** Bad input to the ledger (HTTP 400): nothing was written. */
export class LedgerInputError extends LedgerError {}

/** A record that is well-formed but breaks a log-level rule (HTTP 400). */
export class AdmissionError extends LedgerInputError {}

/** A manifest upload that conflicts with what is stored (HTTP 409). */
export class ManifestConflictError extends LedgerError {}
