/**
 * Signed notes, keys, checkpoints and witness cosignatures (C2SP signed-note, tlog-checkpoint,
 * tlog-cosignature). Browser-safe; byte formats in spec/notes.md. The server's faster
 * node:crypto signer and verifier are in src/platform/node-signer.ts.
 */
export { NoteError } from './errors.js';
export {
  KEY_TYPE_ED25519,
  KEY_TYPE_COSIGNATURE,
  keyId,
  isValidKeyName,
  type Ed25519Verify,
  nobleEd25519Verify,
  type Verifier,
  parseVerifierKey,
  formatVerifierKey,
  type PrivateKey,
  parsePrivateKey,
  formatPrivateKey,
  generatePrivateKey,
  verifierKeyOf,
  type Signer,
  nobleSigner,
  ed25519PublicKey,
} from './keys.js';
export { type NoteSignature, signNote, parseNote, openNote } from './note.js';
export { type Checkpoint, formatCheckpoint, parseCheckpoint, signCheckpoint, openCheckpoint } from './checkpoint.js';
export { LOG_TIME_KEYWORD, formatLogTimeLine, checkpointLogTime } from './log-time.js';
export { cosignatureVerifier, cosignCheckpoint, formatCosignerVerifierKey } from './cosignature.js';
export { type TrustPolicy, type PolicyWitness, parsePolicy, simplePolicy, quorumMet, openCheckpointWithPolicy } from './policy.js';
