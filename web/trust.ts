/**
 * The log key the user pinned, and everything checked against it in this browser: proof bundles
 * (the client library's verifyBundle: checkpoint signature, log inclusion, record signature,
 * manifest inclusion) and checkpoints, each also checked for consistency with the largest
 * checkpoint this browser has seen (so a log showing this page a forked history is caught).
 */
import { type VerifiedUse, verifyBundle, verifyTlogProof } from '../src/client/index.js';
import { verifyConsistency, verifyInclusion, defaultHasher } from '../src/merkle/index.js';
import { type Checkpoint, type Verifier, openCheckpoint, parseNote, parseVerifierKey } from '../src/note/index.js';
import { fromBase64, parseRecord, toHex } from '../src/records/index.js';
import { api } from './api.js';

const VKEY_ITEM = 'pvl.vkey';
const SEEN_ITEM = 'pvl.seen-checkpoint';

export type Outcome = { ok: true } | { ok: false; reason: string };

/**
 * What the page shows next to a bundle, as the server told it: the proven record must say the
 * same, or the server's labels (which work, which model, which builder) are not to be believed.
 */
export interface UseClaims {
  /** The identifier the use was looked up under: the proven item must name it. */
  work?: string;
  /** The model and builder shown, when the use is direct (not inherited through lineage). */
  model?: { builder: string; name: string; version: string };
}

/** Why the proven use contradicts the claims shown, or undefined if it agrees. */
export function contradiction(use: VerifiedUse, claims: UseClaims): string | undefined {
  if (claims.work !== undefined && !(use.item.work as string[]).includes(claims.work)) return `the proven item does not name ${claims.work}`;
  const m = claims.model;
  if (m && (use.author !== m.builder || use.record.model.name !== m.name || use.record.model.version !== m.version)) {
    return `the proven record is ${use.record.model.name}@${use.record.model.version} by ${use.author}, not ${m.name}@${m.version} by ${m.builder}`;
  }
  return undefined;
}

export interface CheckpointView {
  verified: boolean;
  reason: string;
  consistent: boolean | undefined;
  origin: string;
  size: number;
  rootHash: string;
  cosigners: Array<{ name: string; time: string }>;
}

export class TrustedLog {
  vkey: string | undefined;
  verifier: Verifier | undefined;

  constructor(private readonly storage: Storage) {
    const saved = storage.getItem(VKEY_ITEM);
    if (saved) this.pin(saved);
  }

  pin(vkey: string): void {
    const verifier = parseVerifierKey(vkey);
    if (this.vkey !== undefined && this.vkey !== vkey) this.storage.removeItem(SEEN_ITEM);
    this.verifier = verifier;
    this.vkey = vkey;
    this.storage.setItem(VKEY_ITEM, vkey);
  }

  /** verifyBundle against the pinned key, then the claims shown beside it, then consistency with what this browser saw. */
  async verifyBundle(bundle: unknown, claims: UseClaims = {}): Promise<Outcome> {
    if (!this.verifier) return { ok: false, reason: 'no log key pinned' };
    try {
      const verified = verifyBundle(bundle, this.verifier);
      const problem = contradiction(verified.value, claims);
      if (problem) return { ok: false, reason: problem };
      await this.observe(verified.checkpoint);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /**
   * Checks a consent grant the server listed: the current checkpoint against the pinned key, the
   * entry's inclusion in it, its signature, and that it is a grant by `author` naming `work`.
   * (Its status — active, revoked — is the server's reading of later entries, not proven here.)
   */
  async verifyConsent(index: number, claims: { work: string; author: string }): Promise<Outcome> {
    if (!this.verifier) return { ok: false, reason: 'no log key pinned' };
    try {
      const { checkpoint } = openCheckpoint(await api.text('/checkpoint'), this.verifier);
      const { entry } = await api.json<{ entry: string }>(`/entries/${index}`);
      const { proof } = await api.json<{ proof: string[] }>(`/proof/inclusion?index=${index}&size=${checkpoint.size}`);
      const bytes = fromBase64(entry);
      if (!bytes) throw new Error(`entry ${index} is not base64`);
      verifyInclusion(defaultHasher, index, checkpoint.size, defaultHasher.hashLeaf(bytes), proof.map((p) => fromBase64(p)!), checkpoint.rootHash);
      const { payload } = parseRecord(bytes);
      if (payload.type !== 'consent-grant') return { ok: false, reason: `entry ${index} is a ${payload.type} record, not a consent grant` };
      if (payload.author !== claims.author) return { ok: false, reason: `grant ${index} is signed by ${payload.author}, not ${claims.author}` };
      if (!(payload.works.flat() as string[]).includes(claims.work)) return { ok: false, reason: `grant ${index} does not name ${claims.work}` };
      await this.observe(checkpoint);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /**
   * Checks the answer to a submission made from this browser: the tlog-proof must prove the entry
   * we signed (its leaf hash computed here) at the index the server names, in a checkpoint
   * signed by the pinned key. Throws otherwise.
   */
  async checkSubmission(entry: Uint8Array, answer: { index: number; proof?: string }): Promise<Checkpoint> {
    if (!this.verifier) throw new Error('pin the log key first: the answer cannot be checked');
    if (!answer.proof) throw new Error('the server sent no inclusion proof for the record');
    const { index, checkpoint } = verifyTlogProof(answer.proof, defaultHasher.hashLeaf(entry), this.verifier);
    if (index !== answer.index) throw new Error(`the proof is for entry ${index}, not ${answer.index}`);
    await this.observe(checkpoint);
    return checkpoint;
  }

  async latestCheckpoint(): Promise<CheckpointView> {
    const note = await api.text('/checkpoint');
    const view: CheckpointView = { verified: false, reason: 'no log key pinned', consistent: undefined, origin: '', size: 0, rootHash: '', cosigners: [] };
    const lines = parseNote(note).signatures;
    view.cosigners = lines.filter((s) => !this.verifier || s.name !== this.verifier.name).map((s) => ({ name: s.name, time: cosignatureTime(s.signature) }));
    if (!this.verifier) return view;
    try {
      const { checkpoint } = openCheckpoint(note, this.verifier);
      Object.assign(view, { verified: true, reason: '', origin: checkpoint.origin, size: checkpoint.size, rootHash: toHex(checkpoint.rootHash) });
      try {
        await this.observe(checkpoint);
        view.consistent = true;
      } catch {
        view.consistent = false;
      }
    } catch (err) {
      view.reason = (err as Error).message;
    }
    return view;
  }

  /**
   * Checks `checkpoint` against the largest one seen before with a consistency proof, and keeps
   * the larger. Throws if they are inconsistent: evidence of a split view.
   */
  private async observe(checkpoint: Checkpoint): Promise<void> {
    const seen = this.seen();
    if (seen && seen.size !== checkpoint.size && seen.size > 0 && checkpoint.size > 0) {
      const [small, large] = seen.size < checkpoint.size ? [seen, checkpoint] : [checkpoint, seen];
      const { proof } = await api.json<{ proof: string[] }>(`/proof/consistency?from=${small.size}&to=${large.size}`);
      verifyConsistency(defaultHasher, small.size, large.size, proof.map((p) => fromBase64(p)!), small.rootHash, large.rootHash);
    } else if (seen && seen.size === checkpoint.size && toHex(seen.rootHash) !== toHex(checkpoint.rootHash)) {
      throw new Error(`two different trees of size ${seen.size}: the log shows a forked history`);
    }
    if (!seen || checkpoint.size > seen.size) this.storage.setItem(SEEN_ITEM, JSON.stringify({ size: checkpoint.size, root: toHex(checkpoint.rootHash) }));
  }

  private seen(): { size: number; rootHash: Uint8Array } | undefined {
    const raw = this.storage.getItem(SEEN_ITEM);
    if (!raw) return undefined;
    const { size, root } = JSON.parse(raw) as { size: number; root: string };
    return { size, rootHash: Uint8Array.from(root.match(/../g)!.map((h) => parseInt(h, 16))) };
  }
}

/** A cosignature line's timestamp (C2SP tlog-cosignature: 8 bytes after the key ID), for display. */
function cosignatureTime(signature: Uint8Array): string {
  if (signature.length !== 72) return 'unknown';
  const seconds = Number(new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0));
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
