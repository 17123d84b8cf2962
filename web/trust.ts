/**
 * The log key (and witness keys) the user pinned, and everything checked against them in this
 * browser: use reports (the client library's verifyUseReport: the bundle's checkpoint signature,
 * log inclusion, record signature, manifest inclusion, and that the labels shown agree with the
 * proof and the item is the user's), checkpoints, each also checked for consistency with the
 * largest checkpoint this browser has seen (so a log showing this page a forked history is
 * caught), and witness cosignatures.
 */
import { type ProvenUse, type ServerClaims, type WorkOwner, verifyTlogProof, verifyUseReport } from '../src/client/index.js';
import { verifyConsistency, verifyInclusion, defaultHasher } from '../src/merkle/index.js';
import { type Checkpoint, type Verifier, cosignatureVerifier, openCheckpoint, parseNote, parseVerifierKey } from '../src/note/index.js';
import { fromBase64, parseRecord, toHex } from '../src/records/index.js';
import { api } from './api.js';

const VKEY_ITEM = 'pvl.vkey';
const WITNESSES_ITEM = 'pvl.witness-keys';
const SEEN_ITEM = 'pvl.seen-checkpoint';

export type Outcome = { ok: true } | { ok: false; reason: string };

/** A use as its proof shows it, with what the server says beside it; or why it is a server fault. */
export type UseOutcome = { ok: true; use: ProvenUse; claims: ServerClaims } | { ok: false; reason: string };

type Witness = ReturnType<typeof cosignatureVerifier>;

export interface CheckpointView {
  verified: boolean;
  reason: string;
  consistent: boolean | undefined;
  origin: string;
  size: number;
  rootHash: string;
  /** Witnesses whose cosignature verified against a key the user configured. */
  cosigners: Array<{ name: string; time: string }>;
  /** Other signature lines: unknown keys, or a configured key's name with a signature that does not verify. */
  unverifiedCosignatures: number;
}

export class TrustedLog {
  vkey: string | undefined;
  verifier: Verifier | undefined;
  witnessKeys: string[] = [];
  private witnesses: Witness[] = [];

  constructor(private readonly storage: Storage) {
    const saved = storage.getItem(VKEY_ITEM);
    if (saved) this.pin(saved);
    const witnesses = storage.getItem(WITNESSES_ITEM);
    if (witnesses) this.setWitnesses(witnesses);
  }

  /** Witness cosigner keys (one per line): only their cosignatures are shown as witnesses. Throws on a bad key, keeping the old ones. */
  setWitnesses(text: string): void {
    const keys = text.split('\n').map((l) => l.trim()).filter(Boolean);
    this.witnesses = keys.map((k) => cosignatureVerifier(k));
    this.witnessKeys = keys;
    this.storage.setItem(WITNESSES_ITEM, keys.join('\n'));
  }

  pin(vkey: string): void {
    const verifier = parseVerifierKey(vkey);
    if (this.vkey !== undefined && this.vkey !== vkey) this.storage.removeItem(SEEN_ITEM);
    this.verifier = verifier;
    this.vkey = vkey;
    this.storage.setItem(VKEY_ITEM, vkey);
  }

  /** verifyUseReport against the pinned key (the item must be `owner`'s; `eventId`, the SSE id, that of the proven use), then consistency with what this browser saw. */
  async verifyUse(report: unknown, owner: WorkOwner, eventId?: string): Promise<UseOutcome> {
    if (!this.verifier) return { ok: false, reason: 'no log key pinned' };
    try {
      const { use, claims } = await verifyUseReport(report, this.verifier, owner, eventId ? { eventId } : {});
      await this.observe(use.checkpoint);
      return { ok: true, use, claims };
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
    const view: CheckpointView = { verified: false, reason: 'no log key pinned', consistent: undefined, origin: '', size: 0, rootHash: '', cosigners: [], unverifiedCosignatures: 0 };
    const { text, signatures } = parseNote(note);
    const message = new TextEncoder().encode(text);
    const sameKey = (v: Verifier, s: { name: string; keyId: Uint8Array }) => v.name === s.name && toHex(v.keyId) === toHex(s.keyId);
    // A line is a witness only if its cosignature verifies under a key the user configured: any
    // server can append lines that merely look like one.
    for (const s of signatures) {
      if (this.verifier && sameKey(this.verifier, s)) continue;
      const witness = this.witnesses.find((w) => sameKey(w, s));
      if (witness?.verify(message, s.signature)) view.cosigners.push({ name: s.name, time: new Date(witness.timestampOf(s) * 1000).toISOString().replace('.000Z', 'Z') });
      else view.unverifiedCosignatures++;
    }
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
