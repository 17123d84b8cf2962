import { LedgerError } from '../errors.js';

/** Storage refused a write or an open (disk full, permissions, another process holds the lock). */
export class StoreUnavailableError extends LedgerError {
  constructor(message: string, cause?: unknown) {
    super('store-unavailable', message);
    this.cause = cause;
  }
}
