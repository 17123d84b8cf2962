/**
 * The one error type the project throws on bad input. Every parser and verifier raises a
 * LedgerError (or a subclass), so callers can tell "your input is wrong" (a 4xx, a CLI message)
 * from a bug (anything else).
 *
 * `code` is a stable machine-readable slug; `field` names the part of the input that was wrong,
 * when there is one (e.g. "payload.works[3]").
 */
export class LedgerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = new.target.name;
  }
}

export function isLedgerError(e: unknown): e is LedgerError {
  return e instanceof LedgerError;
}
