import { LedgerError } from '../errors.js';

/**
 * Anything wrong with a signed note, a key string, a checkpoint or a cosignature.
 *
 * Codes used by this module:
 * - `malformed-note`        bad note syntax (UTF-8, control characters, blank line, signature lines)
 * - `malformed-key`         bad key name, verifier key, private key, or a key object that does not add up
 * - `malformed-checkpoint`  note text that is not a C2SP checkpoint (or a Checkpoint that cannot be formatted)
 * - `malformed-cosignature` a cosignature payload or timestamp that cannot be used
 * - `bad-signature`         a signature by a known key failed to verify
 * - `no-verified-signature` no signature by a known (or the required) key
 * - `origin-mismatch`       the checkpoint's origin is not the expected one
 * - `ambiguous-key`         two different verifiers share a (name, key ID)
 */
export class NoteError extends LedgerError {}
