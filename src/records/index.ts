/**
 * Records: the JSON payloads in DSSE envelopes that make up the log, their validation, and
 * manifests (spec/records.md). Browser-safe: nothing from `node:`.
 */
export { RecordError, type RecordErrorCode } from './errors.js';
export { type KeyRef, formatKeyRef, parseKeyRef, isKeyRef } from './keys.js';
export { type WorkId, type WorkIdScheme, WORK_ID_SIZES, isWorkId, parseWorkId, formatWorkId, workIdOfBytes, workIdScheme } from './works.js';
export { type RecordTime, isRecordTime, recordTimeSeconds, formatRecordTime } from './time.js';
export { type ModelId, type ModelRef, formatModelId, parseModelId } from './models.js';
export {
  type RecordType,
  type RecordPayload,
  type CreatorRecord,
  type ConsentGrantRecord,
  type ConsentRevocationRecord,
  type TrainingUseRecord,
  type ModelLineageRecord,
  type ModelRetirementRecord,
  type ClockRecord,
  type AttestationRecord,
  type AttestationRevocationRecord,
  type AttestationRole,
  ATTESTATION_ROLES,
  type DelegationRecord,
  type DelegationRevocationRecord,
  type DelegationRole,
  type DelegationPower,
  type DisputeRulingRecord,
  DELEGATION_ROLES,
  DELEGATION_POWERS,
  type UseItem,
  type ConsentRef,
  type RecordRef,
  type UseCategory,
  type TrainingPurpose,
  RECORD_TYPES,
  USE_CATEGORIES,
  TRAINING_PURPOSES,
  MAX_INLINE_ITEMS,
  payloadSchema,
  useItemSchema,
} from './schema.js';
export { validatePayload } from './validate.js';
export { MAX_JSON_DEPTH, jsonDeeperThan } from './json-depth.js';
export { type Envelope, RECORD_PAYLOAD_TYPE, MAX_ENTRY_SIZE, canonicalEntry, encodeEntry, preAuthEncoding } from './envelope.js';
export { type ParsedRecord, type ParseOptions, type SignatureCheck, parseRecord, decodeRecord, failedSignature, signRecord, signKeyRotation, keyRotationMessage } from './record.js';
export {
  type ManifestSummary,
  type ManifestEntry,
  type ManifestOptions,
  MANIFEST_HEADER_SIZE,
  MANIFEST_ITEM_SIZE,
  manifestHasher,
  encodeManifestItem,
  decodeManifestItem,
  encodeManifestHeader,
  manifestLeafHash,
  manifestItemsRoot,
  manifestSubtreeRoots,
  writeManifest,
  ManifestBuilder,
  ManifestParser,
  readManifest,
  checkManifest,
  verifyManifestItem,
  manifestTree,
} from './manifest.js';
export { shortInputHasher } from './short-input-hasher.js';
export { EMAIL_COMMITMENT_PREFIX, emailCommitment, isEmailSalt, nextKeyCommitment, normalizeEmail } from './commitments.js';
export { toHex, fromHex, toBase64, fromBase64 } from './encoding.js';
