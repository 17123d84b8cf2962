/**
 * The ledger: the personality on top of the generic log. It admits records, keeps the query
 * index (derived from the log, rebuildable), stores manifests, judges uses with the consent
 * policy, and builds proof bundles. The HTTP server is a thin layer over this interface.
 *
 * Shapes of JSON answers are those of spec/api.md and spec/bundles.md.
 */
import type { Log, SignedCheckpoint } from '../log/index.js';
import type { KeyRef } from '../records/index.js';
import type { IdentityClaim } from './identities.js';

export interface SubmitResult {
  index: number;
  leafHash: string; // hex
  duplicate: boolean;
}

export interface ManifestInfo {
  root: string; // hex
  count: number;
  useIndexes: number[];
  /** When the manifest is removed unless a training use claims it first (ISO 8601); null once claimed. */
  expires: string | null;
}

export interface ManifestItemProof {
  root: string;
  count: number;
  position: number;
  item: string; // base64 item bytes
  decoded: Record<string, unknown>;
  proof: string[]; // base64 hashes
}

/** A proof bundle (spec/bundles.md). */
export interface ProofBundle {
  type: 'pvl.proof-bundle/v1';
  origin: string;
  checkpoint: string;
  log: { index: number; entry: string; inclusionProof: string[] };
  manifest: Omit<ManifestItemProof, 'decoded'> | null;
  work: string;
  verdict: Verdict;
}

export interface Verdict {
  verdict: string;
  consentIndex?: number;
  reason: string;
  distance?: number;
  /** The deciding grant was made on the creator's behalf by an agent or rights holder (spec/policy.md §2, Delegation). */
  grantedBy?: { agent: string; role: 'agent' | 'rights-holder'; delegationIndex: number };
  /** The use was declared by a builder key while it was compromised (spec/policy.md §2, Key lifecycle). */
  compromisedKey?: { key: string; since: number; recordIndex: number };
  /** The use's logged time, which validity windows were judged by (spec/policy.md "The clock"); absent: its claimed time (no clock record before it). */
  loggedAt?: string;
}

export interface UseReport {
  useIndex: number;
  position: number;
  model: { builder: string; name: string; version: string };
  via: null | { lineageIndex: number; model: { builder: string; name: string; version: string } };
  item: Record<string, unknown>;
  verdict: Verdict;
  bundle: ProofBundle;
}

/** A grant naming a work that other identities already claimed (spec/api.md, Notifications, `claim`). */
export interface ClaimNotice {
  /** The log index of the new grant. */
  grantIndex: number;
  /** The work's sha256 identifier. */
  work: string;
  /** The identity the new grant claims the work for, and the key that signed it. */
  claimant: string;
  author: string;
  /** The identities whose earlier claims on the work are in force: they are the ones told. */
  claimedBy: string[];
}

/** A position in use lists: item `position` of the training use at log index `useIndex` (also the SSE event id). */
export interface UseCursor {
  useIndex: number;
  position: number;
}

export type { ConsentPage, CreatorUsePage, PageRequest, UsePage } from './queries.js';
import type { ConsentPage, CreatorUsePage, PageRequest, UsePage } from './queries.js';

/** The ledger's background work: integration rounds (checkpoints) and indexing (queries, policy). */
export const BACKGROUND_WORK = ['integration', 'indexing', 'manifest-sweep', 'stats'] as const;
export type BackgroundWork = (typeof BACKGROUND_WORK)[number];

/** A run of background work that failed (a full or unwritable store, say); it is retried. */
export interface BackgroundFailure {
  work: BackgroundWork;
  /** Why the latest run failed. */
  message: string;
  /** When the failures began (ISO 8601). */
  since: string;
}

export interface Ledger {
  readonly log: Log;
  /** Validates every envelope (all-or-nothing), then appends. Throws LedgerError (400-class) on bad input. */
  submit(envelopes: Uint8Array[]): Promise<SubmitResult[]>;
  /** Resolves once `index` is in a published checkpoint. */
  waitForCheckpoint(index: number): Promise<SignedCheckpoint>;
  /**
   * Streams a manifest upload; checks it against the expected root/count; stores it only if it
   * all checks out. `client` (opaque; the server passes the peer's address) names whose quota of
   * unclaimed bytes it counts against; `expires` is when it is removed unless claimed (null: claimed).
   */
  putManifest(body: AsyncIterable<Uint8Array>, expected: { root: string; count: number }, client?: string): Promise<{ root: string; count: number; created: boolean; expires: string | null }>;
  getManifest(root: string): Promise<ManifestInfo | undefined>;
  manifestItem(root: string, position: number): Promise<ManifestItemProof | undefined>;
  /** A stored manifest in its byte format (header, then the items in 64 KiB-ish pieces), or undefined if it is not stored. */
  manifestBytes(root: string): Promise<{ count: number; bytes: AsyncIterable<Uint8Array> } | undefined>;
  /** One page of the uses of a work, in log order (spec/api.md, Pagination). */
  usesOfWork(workId: string, page?: PageRequest<UseCursor>): Promise<UsePage>;
  /** One page of the grants naming a work, in log order; the cursor is a grant index. */
  consentsOfWork(workId: string, page?: PageRequest<number>): Promise<ConsentPage>;
  /** One page of the uses of a creator's works (the first MAX_CREATOR_WORKS) and of near copies of them. */
  usesOfCreator(creatorKey: string, page?: PageRequest<UseCursor>): Promise<CreatorUsePage>;
  model(builder: string, name: string, version: string): Promise<unknown | undefined>;
  /** GET /identities/<key>: what the log holds about who is behind the key, or undefined if nothing. Optional: added by the ledger. */
  identity?(key: KeyRef): Promise<IdentityClaim | undefined>;
  /** One page of the uses of the creator's works (or of the given works) after `after`, in log order. */
  usesSince(filter: { creator?: string; works?: string[] }, after: UseCursor | null, limit?: number): Promise<UsePage>;
  /** Called with each new use (after indexing a round whose checkpoint is published). */
  onUse(listener: (use: UseReport, claimants: string[]) => void): () => void;
  /**
   * Called when a newly indexed grant names a work another identity claims (spec/api.md, `claim`
   * events). Optional: added by the ledger.
   */
  onClaim?(listener: (claim: ClaimNotice) => void): () => void;
  /** Index position: entries [0, indexed) are in the query index. */
  readonly indexedSize: number;
  /** Background work (integration rounds, indexing) whose latest run failed; empty when all is well. Optional: added by the ledger. */
  readonly failing?: BackgroundFailure[];
  /** Clears the query index and rebuilds it from the log (pvl reindex). Optional: added by the ledger. */
  reindex?(): Promise<void>;
  /** GET /works/similar: works within `max` (default: the scheme's threshold) of a perceptual identifier. Optional: added by the ledger. */
  similarWorks?(id: string, max?: number): Promise<import('./similar.js').SimilarWork[]>;
  /** Records by type, verdict totals and tree-size history (GET /stats). */
  stats?(): Promise<import('./stats.js').LedgerStats>;
  close(): Promise<void>;
}
