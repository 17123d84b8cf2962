import { LedgerError } from '../errors.js';

/**
 * A refusal by a witness, or by the protocol parser, with the HTTP status C2SP tlog-witness
 * assigns to it. Browser-safe: the client throws it too.
 *
 * Codes:
 * - `malformed-request`   400: the add-checkpoint body or its checkpoint cannot be parsed
 * - `bad-old-size`        400: old size above the checkpoint size, or a proof sent with old size 0
 * - `unknown-log`         404: no trusted key for the checkpoint's origin
 * - `untrusted-signature` 403: no valid signature by a trusted key of that origin
 * - `size-conflict`       409: old size is not the latest cosigned size (WitnessConflictError)
 * - `root-conflict`       409: same size as the latest cosigned checkpoint, different root hash
 * - `bad-proof`           422: the consistency proof does not verify
 * - `bad-log-time`        422: the checkpoint's time line is ahead of the witness's clock, before
 *                         the time it last cosigned for the log, too old for a tree that grew,
 *                         malformed, or missing where the log published one before (spec/witness.md)
 */
export class WitnessError extends LedgerError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    field?: string,
  ) {
    super(code, message, field);
  }
}

/** 409: the witness's latest cosigned size is not the one the client sent; retry from `latestSize`. */
export class WitnessConflictError extends WitnessError {
  constructor(
    readonly latestSize: number,
    code = 'size-conflict',
    message = `the witness's latest cosigned size is ${latestSize}`,
  ) {
    super(409, code, message, 'old');
  }
}
