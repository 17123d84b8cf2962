import { LedgerError } from '../errors.js';

/** Bad input to the works module (undecodable file, wrong pixel count, bad code). */
export class WorkError extends LedgerError {}
