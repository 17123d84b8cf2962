import { LedgerError } from '../errors.js';

/** A proof, hash or tile path that does not check out. */
export class MerkleError extends LedgerError {}
