/**
 * The ledger personality (spec/api.md, spec/bundles.md, spec/storage.md "The ledger's key-value
 * space"): admission, the integration loop, the query index, manifests and proof bundles.
 */
export { type LedgerOptions, openLedger } from './ledger.js';
export { AdmissionError, LedgerInputError, ManifestConflictError, ManifestQuotaError } from './errors.js';
export { DEFAULT_MANIFEST_LIMITS, type ManifestLimits, manifestCharge } from './manifests.js';
export * from './types.js';
export type { LedgerStats } from './stats.js';
