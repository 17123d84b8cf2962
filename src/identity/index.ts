/**
 * Identities a verifier can check without trusting the operator (spec/policy.md, "Trust
 * policy"): the trust policy file, and domain and profile evidence fetched by the verifier.
 * Browser-safe: nothing from `node:`.
 */
export { type IdentityTrustPolicy, TrustPolicyError, parseTrustPolicy, attesterKeys } from './trust-policy.js';
export { type EvidenceKind, type EvidenceResult, type EvidenceOptions, EvidenceChecker, WELL_KNOWN_PATH, PROFILE_META_NAME, wellKnownUrl, linksBackTo } from './evidence.js';
export { type CreatorClaims, type IdentityEvidenceReport, CreatorDirectory, gatherEvidence, trustViewOf, addEvidence } from './identities.js';
