/**
 * The witness itself (C2SP tlog-witness v1.0.0 add-checkpoint, spec/witness.md): checks a
 * submitted checkpoint against the trusted log keys and the latest checkpoint it cosigned for that
 * origin, and cosigns it (C2SP tlog-cosignature v1.0.1) only if it extends that one. Knows no HTTP.
 */
import { type Hasher, MerkleError, equalHashes, verifyConsistency } from '../merkle/index.js';
import {
  type Checkpoint,
  type PrivateKey,
  type Verifier,
  LOG_TIME_KEYWORD,
  NoteError,
  checkpointLogTime,
  cosignCheckpoint,
  formatCosignerVerifierKey,
  openNote,
  parseCheckpoint,
  parseNote,
  signNote,
} from '../note/index.js';
import { WitnessConflictError, WitnessError } from './errors.js';
import { KeyedMutex } from './mutex.js';
import { type AddCheckpointRequest, parseAddCheckpointRequest } from './protocol.js';
import type { LatestCheckpoint, WitnessState } from './state.js';

export interface WitnessOptions {
  /** The witness's signing key; its name is the witness name. */
  key: PrivateKey;
  /** Trusted log keys by origin (a log may have several). */
  logs: Map<string, Verifier[]>;
  state: WitnessState;
  hasher: Hasher;
  /** Raw Ed25519 signing of the cosigned message; default noble over the key's seed. */
  sign?: (msg: Uint8Array) => Uint8Array;
  /** POSIX seconds; default the wall clock. */
  now?: () => number;
  /** How far a checkpoint's time line may be ahead of the witness's clock, in seconds (default 300). */
  maxClockSkewSeconds?: number;
  /** How old the time line of a checkpoint that grew may be, in seconds (default 600). */
  maxTimeAgeSeconds?: number;
}

export const DEFAULT_WITNESS_CLOCK_SKEW_S = 300;
export const DEFAULT_WITNESS_TIME_AGE_S = 600;

export interface CosignResult {
  checkpoint: Checkpoint;
  /** This witness's cosignature line(s), each ending in '\n': the 200 response body. */
  cosignatures: string[];
}

export class Witness {
  private readonly mutex = new KeyedMutex();
  private readonly now: () => number;

  constructor(private readonly opts: WitnessOptions) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The witness's cosigner verifier key (type 0x04). */
  get verifierKey(): string {
    return formatCosignerVerifierKey(this.opts.key.name, this.opts.key.publicKey);
  }

  get name(): string {
    return this.opts.key.name;
  }

  get origins(): string[] {
    return [...this.opts.logs.keys()];
  }

  /** Handles an add-checkpoint body; throws WitnessError with the status to answer. */
  async addCheckpoint(body: Uint8Array | string): Promise<CosignResult> {
    const req = parseAddCheckpointRequest(body);
    const { checkpoint, text, logSignatures } = this.openTrusted(req.checkpointNote);
    if (req.oldSize > checkpoint.size) {
      throw new WitnessError(400, 'bad-old-size', `old size ${req.oldSize} is above the checkpoint size ${checkpoint.size}`, 'old');
    }
    // Check-and-store under the origin's lock: no other request for this log can interleave.
    return this.mutex.run(checkpoint.origin, async () => {
      const latest = await this.opts.state.latest(checkpoint.origin);
      this.checkExtends(latest, req, checkpoint);
      const cosignedAt = this.now();
      this.checkTime(latest, checkpoint, cosignedAt);
      const line = cosignCheckpoint(text, this.opts.key, cosignedAt, this.opts.sign);
      const note = signNote(text, [], [...logSignatures, line]);
      await this.opts.state.commit({ origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, note, cosignedAt });
      return { checkpoint, cosignatures: [line] };
    });
  }

  /** The latest cosigned checkpoint of an origin (monitoring endpoint), if any. */
  latest(origin: string): Promise<LatestCheckpoint | undefined> {
    return this.opts.state.latest(origin);
  }

  /** Parses the note (400), finds the origin's keys (404) and requires a valid signature by one (403). */
  private openTrusted(noteText: string): { checkpoint: Checkpoint; text: string; logSignatures: string[] } {
    let checkpoint: Checkpoint;
    let text: string;
    try {
      text = parseNote(noteText).text;
      checkpoint = parseCheckpoint(text);
    } catch (e) {
      if (e instanceof NoteError) throw new WitnessError(400, 'malformed-request', e.message, 'checkpoint');
      throw e;
    }
    const keys = this.opts.logs.get(checkpoint.origin);
    if (!keys) throw new WitnessError(404, 'unknown-log', `no trusted key for origin ${JSON.stringify(checkpoint.origin)}`, 'checkpoint.origin');
    try {
      const { verified } = openNote(noteText, keys);
      return { checkpoint, text, logSignatures: verified.map((s) => s.line) };
    } catch (e) {
      if (e instanceof NoteError) throw new WitnessError(403, 'untrusted-signature', e.message, 'checkpoint.signatures');
      throw e;
    }
  }

  /**
   * The checkpoint's time line (spec/witness.md "Time"), when it has one or the last checkpoint
   * cosigned for the log had one: not ahead of this witness's clock by more than the skew, not
   * before the time last cosigned, and for a tree that grew, not older than the maximum age.
   */
  private checkTime(latest: LatestCheckpoint | undefined, next: Checkpoint, now: number): void {
    const time = this.logTimeOf(next, 'checkpoint');
    const previous = latest && this.logTimeOf(parseCheckpoint(parseNote(latest.note).text), 'the checkpoint cosigned before');
    const refuse = (message: string) => new WitnessError(422, 'bad-log-time', message, 'checkpoint.extensions');
    if (!time) {
      if (previous) throw refuse(`the checkpoint has no ${LOG_TIME_KEYWORD} line, but the one cosigned at size ${latest!.size} had one (${previous.time})`);
      return;
    }
    const skew = this.opts.maxClockSkewSeconds ?? DEFAULT_WITNESS_CLOCK_SKEW_S;
    const witnessTime = new Date(now * 1000).toISOString().replace('.000Z', 'Z');
    if (time.seconds > now + skew) throw refuse(`the checkpoint's time ${time.time} is ${time.seconds - now} s ahead of this witness's clock (${witnessTime}); at most ${skew} s is allowed`);
    if (previous && time.seconds < previous.seconds) throw refuse(`the checkpoint's time ${time.time} is before ${previous.time}, the time of the checkpoint cosigned at size ${latest!.size}: a log's time never goes back`);
    const maxAge = this.opts.maxTimeAgeSeconds ?? DEFAULT_WITNESS_TIME_AGE_S;
    const grew = next.size > (latest?.size ?? 0);
    if (grew && time.seconds < now - maxAge) throw refuse(`the checkpoint grew to ${next.size} but its time ${time.time} is ${now - time.seconds} s behind this witness's clock (${witnessTime}); at most ${maxAge} s is allowed`);
  }

  private logTimeOf(checkpoint: Checkpoint, what: string): { time: string; seconds: number } | undefined {
    try {
      return checkpointLogTime(checkpoint);
    } catch (e) {
      if (e instanceof NoteError) throw new WitnessError(422, 'bad-log-time', `${what}: ${e.message}`, 'checkpoint.extensions');
      throw e;
    }
  }

  /** 409 unless old = latest size; 422 unless the proof leads from the latest root; 409 on a same-size fork. */
  private checkExtends(latest: LatestCheckpoint | undefined, req: AddCheckpointRequest, next: Checkpoint): void {
    const latestSize = latest?.size ?? 0;
    if (req.oldSize !== latestSize) throw new WitnessConflictError(latestSize);
    if (!latest) return;
    if (latest.size === next.size) {
      if (!equalHashes(latest.rootHash, next.rootHash)) {
        throw new WitnessConflictError(latestSize, 'root-conflict', `a different root hash was cosigned at size ${latestSize}`);
      }
      if (req.proof.length > 0) throw new WitnessError(422, 'bad-proof', 'equal sizes need an empty proof', 'proof');
      return;
    }
    // Every tree extends the empty tree; RFC 6962 has no proof from size 0.
    if (latest.size === 0) return;
    try {
      verifyConsistency(this.opts.hasher, latest.size, next.size, req.proof, latest.rootHash, next.rootHash);
    } catch (e) {
      if (e instanceof MerkleError) throw new WitnessError(422, 'bad-proof', `consistency proof from ${latest.size} to ${next.size} does not verify: ${e.message}`, 'proof');
      throw e;
    }
  }
}
