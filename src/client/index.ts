/**
 * Verifying client of the ledger (spec/api.md, spec/bundles.md). Browser-safe: global fetch only.
 */
export { LedgerClient, ClientError, fetchVerifierKey, type ClientOptions, type SignedCheckpoint, type VerifiedEntry } from './client.js';
export { verifyBundle, parseBundle, verifyEntryInclusion, BundleError, PROOF_BUNDLE_TYPE, type ProofBundle, type Verified, type VerifiedUse } from './bundle.js';
export { parseTlogProof, verifyTlogProof, TLOG_PROOF_HEADER, type TlogProof } from './tlog-proof.js';
export { trustPolicyFrom, type TrustInputs } from './policy.js';
export { EVIDENCE_TYPE, checkEvidence, makeEvidence, provesConsistency, EvidenceError, type SplitViewEvidence, type SeenCheckpoint, type EvidenceVerdict, type EvidenceKind } from './evidence.js';
export { verifyUseReport, claimedUseId, perceptualDistance, CreatorWorks, WatchedWorks, UseFault, type GetJson, type ModelName, type ProvenUse, type ServerClaims, type WorkMatch, type WorkOwner } from './use-report.js';
export { whoIsBehind, type IdentityFinding, type UseMoment } from './identity-check.js';
