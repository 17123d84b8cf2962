/**
 * The log side of witnessing (spec/witness.md, "Publishing witnessed checkpoints"): after the log
 * signs a checkpoint, ask every configured witness to cosign it, and publish only the newest
 * checkpoint that carries at least `quorum` valid cosignatures.
 *
 * Witnessing runs beside the log: integration never waits for it. Each witness has its own queue
 * of one checkpoint (the newest it has not been asked about) and its exchange for a checkpoint is
 * bounded by one deadline (`timeoutMs`, shared by the 409 retry), so a slow witness delays only
 * itself; a checkpoint is published as soon as the quorum of witnesses has cosigned it.
 */
import { LedgerError } from '../errors.js';
import type { Log, SignedCheckpoint } from '../log/index.js';
import { type Ed25519Verify, nobleEd25519Verify, openCheckpointWithPolicy, simplePolicy } from '../note/index.js';
import { requestCosignature } from './client.js';
import { WitnessConflictError } from './errors.js';

export interface WitnessConfig {
  /** Local label (metrics, logs). */
  name: string;
  /** The witness's cosigner verifier key (type 0x04). */
  vkey: string;
  /** The witness's submission prefix, e.g. http://127.0.0.1:9000/. */
  url: string;
}

export interface WitnessStatus {
  name: string;
  up: boolean;
  cosignedSize: number;
}

export interface PublisherOptions {
  log: Log;
  /** The log's verifier key (cosignatures are checked on a note that must verify under it). */
  logVkey: string;
  witnesses: WitnessConfig[];
  quorum: number;
  timeoutMs: number;
  verify?: Ed25519Verify;
  /** Injected in tests; defaults to the HTTP client. */
  request?: typeof requestCosignature;
  /** Reports witness failures (default: nothing). */
  warn?: (message: string) => void;
}

interface WitnessState extends WitnessStatus {
  config: WitnessConfig;
  /** The size we believe the witness last cosigned (0 = unknown, per C2SP: start from 0). */
  lastSize: number;
  /** Checks one cosignature line of this witness on a checkpoint note. */
  valid(note: string, line: string): boolean;
  /** The newest checkpoint this witness has not been asked about yet. */
  pending: SignedCheckpoint | undefined;
  running: Promise<void> | undefined;
  /** Code of the last failure warned about: a dead witness is reported once, not every round. */
  lastProblem: string | undefined;
}

/** Checkpoints awaiting a quorum that are remembered (older ones can no longer be published). */
const MAX_COLLECTED = 64;

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export class WitnessPublisher {
  private readonly states: WitnessState[];
  private current: SignedCheckpoint | undefined;
  /** Cosignature lines collected per checkpoint size (by witness position), until published past. */
  private readonly collected = new Map<number, { signed: SignedCheckpoint; note: string; lines: Array<string | undefined> }>();
  private waiters: Array<{ index: number; resolve: (s: SignedCheckpoint) => void }> = [];
  private closed = false;
  private readonly request: typeof requestCosignature;

  constructor(private readonly opts: PublisherOptions) {
    if (!Number.isInteger(opts.quorum) || opts.quorum < 0 || opts.quorum > opts.witnesses.length) {
      throw new LedgerError('bad-quorum', `must be between 0 and the number of witnesses (${opts.witnesses.length}), got ${opts.quorum}`, 'witness-quorum');
    }
    const verify = opts.verify ?? nobleEd25519Verify;
    this.request = opts.request ?? requestCosignature;
    this.states = opts.witnesses.map((config) => {
      const policy = simplePolicy(opts.logVkey, [config.vkey], 1, verify);
      const valid = (note: string, line: string) => {
        try {
          openCheckpointWithPolicy(note + line, policy);
          return true;
        } catch {
          return false;
        }
      };
      return { config, name: config.name, up: false, cosignedSize: 0, lastSize: 0, valid, pending: undefined, running: undefined, lastProblem: undefined };
    });
  }

  /** Starts witnessing the log's current checkpoint and every later one. */
  start(): void {
    this.opts.log.onIntegrated((round) => this.submit(round.checkpoint));
    this.submit(this.opts.log.checkpoint);
  }

  /** The newest checkpoint with a quorum of cosignatures (cosignature lines appended), if any. */
  published(): SignedCheckpoint | undefined {
    return this.current;
  }

  status(): WitnessStatus[] {
    return this.states.map(({ name, up, cosignedSize }) => ({ name, up, cosignedSize }));
  }

  /**
   * Resolves with the first published checkpoint that contains entry `index`; rejects after
   * `maxWaitMs` (a quorum may be out of reach) with code `not-witnessed`.
   */
  waitFor(index: number, maxWaitMs: number): Promise<SignedCheckpoint> {
    if (this.current && index < this.current.checkpoint.size) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const waiter = {
        index,
        resolve: (s: SignedCheckpoint) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new LedgerError('not-witnessed', `no checkpoint containing entry ${index} reached the witness quorum within ${maxWaitMs} ms`));
      }, maxWaitMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits for the requests in flight; later checkpoints are no longer witnessed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.states) w.pending = undefined;
    await Promise.all(this.states.map((w) => w.running));
  }

  /**
   * Hands a checkpoint to every witness. Each witness works through its own queue of one (the
   * newest checkpoint it has not been asked about), so a slow witness holds up nobody else.
   */
  submit(signed: SignedCheckpoint): void {
    if (this.closed) return;
    const note = utf8.decode(signed.note);
    const size = signed.checkpoint.size;
    if (!this.collected.has(size)) this.collected.set(size, { signed, note, lines: [] });
    // Without a quorum nothing is published and nothing pruned: keep only the newest few.
    for (const old of this.collected.keys()) if (this.collected.size > MAX_COLLECTED) this.collected.delete(old);
    if (this.opts.quorum === 0) this.publish(size);
    for (const w of this.states) {
      if (!w.pending || size >= w.pending.checkpoint.size) w.pending = signed;
      w.running ??= this.drain(w).finally(() => (w.running = undefined));
    }
  }

  private async drain(w: WitnessState): Promise<void> {
    while (w.pending) {
      const signed = w.pending;
      w.pending = undefined;
      const size = signed.checkpoint.size;
      if (this.current && size < this.current.checkpoint.size) continue; // moot: a newer one is out
      const entry = this.collected.get(size);
      if (!entry) continue;
      const line = await this.cosign(w, signed, entry.note);
      if (line === undefined) continue;
      entry.lines[this.states.indexOf(w)] = line;
      if (entry.lines.filter((l) => l !== undefined).length >= this.opts.quorum) this.publish(size);
    }
  }

  /** Publishes the collected checkpoint of `size` (again, if a late cosignature arrived). */
  private publish(size: number): void {
    const entry = this.collected.get(size);
    if (!entry || (this.current && this.current.checkpoint.size > size)) return;
    // Witness order, not answer order, so the same set of cosignatures always gives the same bytes.
    const lines = entry.lines.filter((l): l is string => l !== undefined).join('');
    this.current = { checkpoint: entry.signed.checkpoint, note: encoder.encode(entry.note + lines) };
    for (const older of this.collected.keys()) if (older < size) this.collected.delete(older);
    const ready = this.waiters.filter((w) => w.index < size);
    this.waiters = this.waiters.filter((w) => w.index >= size);
    for (const w of ready) w.resolve(this.current);
  }

  /** Asks one witness, retrying once from the size a 409 reports; the valid line or undefined. */
  private async cosign(w: WitnessState, signed: SignedCheckpoint, note: string): Promise<string | undefined> {
    const deadline = Date.now() + this.opts.timeoutMs;
    const size = signed.checkpoint.size;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (w.lastSize > size) throw new LedgerError('witness-ahead', `witness ${w.name} has cosigned size ${w.lastSize}, beyond ${size}`);
        const proof = w.lastSize === 0 || w.lastSize === size ? [] : await this.opts.log.consistencyProof(w.lastSize, size);
        const remaining = Math.max(1, deadline - Date.now());
        const got = await this.request(w.config.url, { oldSize: w.lastSize, proof, checkpointNote: note }, remaining);
        w.up = true;
        const line = got.find((l) => w.valid(note, l));
        if (!line) throw new LedgerError('bad-cosignature', `witness ${w.name} returned no valid cosignature`);
        w.lastSize = size;
        w.cosignedSize = size;
        w.lastProblem = undefined;
        return line;
      } catch (e) {
        if (e instanceof WitnessConflictError && e.code === 'size-conflict' && attempt === 0) {
          w.up = true;
          w.lastSize = e.latestSize;
          continue;
        }
        // Up means "answered over HTTP": a refusal is an answer; a timeout or network error is not.
        const status = (e as { status?: number }).status;
        if (status !== undefined) w.up = status !== 0;
        const code = (e as { code?: string }).code ?? 'error';
        if (code !== w.lastProblem) this.opts.warn?.(`witness ${w.name}: ${(e as Error).message}`);
        w.lastProblem = code;
        return undefined;
      }
    }
    return undefined;
  }
}
