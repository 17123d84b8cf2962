/**
 * Uses as a server reports them (GET /works/<id>/uses, /creators/<key>/uses, SSE `use` events): a
 * proof bundle beside labels the bundle does not cover (`useIndex`, `position`, `model`, `via`,
 * `verdict`). A monitor shows a use only as its bundle proves it — log index, item position, the
 * item's work, the record's model and author — and only if the proven item names one of the
 * watcher's works; a label that contradicts the proof, or an item that is someone else's, is a
 * server fault, never a use. Browser-safe: nothing from `node:`.
 */
import { LedgerError } from '../errors.js';
import { defaultHasher, verifyInclusion } from '../merkle/index.js';
import type { Checkpoint, Verifier } from '../note/index.js';
import { fromBase64, fromHex, parseRecord } from '../records/index.js';
import { hammingDistance64 } from '../works/similarity.js';
import { DEFAULT_MAX_DISTANCE } from '../works/thresholds.js';
import { BundleError, verifyBundle } from './bundle.js';

export type GetJson = <T>(path: string) => Promise<T>;

export interface ModelName {
  builder: string;
  name: string;
  version: string;
}

/** Which identifiers of a proven item are the watcher's: exactly, or as a near copy. */
export interface WorkMatch {
  /** The item's identifier that matched. */
  work: string;
  /** A near copy: the watcher's identifier it is near to, the work that identifier belongs to, and the distance computed here. */
  near?: { of: string; id: string; distance: number };
  /** The consent grant (log index) proven to make the work the creator's. */
  grant?: number;
}

/** Whose works a monitor follows. */
export interface WorkOwner {
  /** The match for a proven item's identifiers (`hint`, the id the server looked it up under, first), or undefined if none is the watcher's. */
  match(ids: readonly string[], at: Checkpoint, hint?: string): Promise<WorkMatch | undefined>;
  /** In words, for faults: "the works of ed25519:…", "the watched works". */
  readonly description: string;
}

export interface ProvenUse extends WorkMatch {
  /** `<index>.<position>`, as SSE ids are. */
  id: string;
  index: number;
  position: number;
  /** Every identifier the proven item names. */
  itemIds: string[];
  /** The training-use record's model; `builder` is the record's (signature-checked) author. */
  model: ModelName;
  checkpoint: Checkpoint;
}

/** What the server says beside the proof and the proof does not cover: shown as its claim, if at all. */
export interface ServerClaims {
  verdict?: { verdict: string; reason?: string; distance?: number; consentIndex?: number; compromisedKey?: CompromisedKey };
  /** The model the server says inherits the use through lineage (`via`), and the lineage record's index. */
  derived?: { model: ModelName; lineageIndex: number };
}

/** A use report the proof contradicts, or whose item is not the watcher's: the server's fault. */
export class UseFault extends LedgerError {}

const formatModel = (m: ModelName) => `${m.name}@${m.version} by ${m.builder}`;

function asModel(v: unknown): ModelName | undefined {
  const m = v as Partial<ModelName> | null | undefined;
  return m && typeof m === 'object' && typeof m.builder === 'string' && typeof m.name === 'string' && typeof m.version === 'string' ? { builder: m.builder, name: m.name, version: m.version } : undefined;
}

const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** The `<useIndex>.<position>` a report claims, as the SSE id would spell it. */
export function claimedUseId(report: unknown): string | undefined {
  const r = report as { useIndex?: unknown; position?: unknown } | null;
  return r && typeof r === 'object' && isIndex(r.useIndex) && isIndex(r.position) ? `${r.useIndex}.${r.position}` : undefined;
}

/**
 * Verifies a use report: the bundle (spec/bundles.md, every step), then that the report's labels
 * agree with what it proves — index and position (and `eventId`, the SSE id it came with), the
 * model and builder (for an inherited use, `via.model`: the derived model itself is the server's
 * claim) — and that the proven item is `owner`'s. Throws UseFault otherwise.
 */
export async function verifyUseReport(report: unknown, verifier: Verifier, owner: WorkOwner, opts: { eventId?: string } = {}): Promise<{ use: ProvenUse; claims: ServerClaims }> {
  const r = report as { useIndex?: unknown; position?: unknown; model?: unknown; via?: unknown; verdict?: unknown; bundle?: unknown } | null;
  const claimedId = claimedUseId(r);
  const label = `use ${claimedId ?? opts.eventId ?? '(no id)'}`;
  const fault = (message: string) => new UseFault('server-fault', `${label}: ${message}`);
  if (!r || typeof r !== 'object') throw fault('the report is not a JSON object');
  let verified;
  try {
    verified = verifyBundle(r.bundle, verifier, { position: claimedId === undefined ? undefined : (r.position as number) });
  } catch (e) {
    if (e instanceof BundleError) throw fault(`its proof bundle does not verify (${e.message})`);
    throw e;
  }
  const v = verified.value;
  const id = `${v.index}.${v.position}`;
  if (claimedId !== id) throw fault(`the server says use ${claimedId ?? '(none)'}, but its bundle proves log index ${v.index} item ${v.position}`);
  if (opts.eventId !== undefined && opts.eventId.trim() !== id) throw fault(`the event id ${JSON.stringify(opts.eventId)} is not the proven use ${id}`);
  const model: ModelName = { builder: v.author, name: v.record.model.name, version: v.record.model.version };
  const via = r.via as { lineageIndex?: unknown; model?: unknown } | null | undefined;
  const shown = asModel(via ? via.model : r.model);
  if (!shown) throw fault('the report names no model');
  if (shown.builder !== model.builder || shown.name !== model.name || shown.version !== model.version) {
    throw fault(`the server says ${formatModel(shown)}, but the proven record is ${formatModel(model)}`);
  }
  const itemIds = [...(v.item.work as readonly string[])];
  const match = await owner.match(itemIds, verified.checkpoint, v.work);
  if (!match) throw fault(`the proven item (${itemIds.join(' ')}) is none of ${owner.description}`);
  return { use: { id, index: v.index, position: v.position, itemIds, model, checkpoint: verified.checkpoint, ...match }, claims: serverClaims(r.verdict, via, r.model) };
}

/** The use was declared by a builder key while it was compromised (spec/policy.md §2, Key lifecycle). */
export interface CompromisedKey {
  key: string;
  since: number;
  recordIndex: number;
}

function asCompromisedKey(v: unknown): CompromisedKey | undefined {
  const c = v as Partial<CompromisedKey> | null | undefined;
  return c && typeof c === 'object' && typeof c.key === 'string' && isIndex(c.since) && isIndex(c.recordIndex) ? { key: c.key, since: c.since, recordIndex: c.recordIndex } : undefined;
}

/** The server's labels kept for display, as plain typed values (anything else is dropped). */
function serverClaims(verdict: unknown, via: { lineageIndex?: unknown } | null | undefined, model: unknown): ServerClaims {
  const claims: ServerClaims = {};
  const v = verdict as { verdict?: unknown; reason?: unknown; distance?: unknown; consentIndex?: unknown; compromisedKey?: unknown } | null | undefined;
  if (v && typeof v === 'object' && typeof v.verdict === 'string') {
    const compromisedKey = asCompromisedKey(v.compromisedKey);
    claims.verdict = {
      verdict: v.verdict,
      ...(typeof v.reason === 'string' ? { reason: v.reason } : {}),
      ...(isIndex(v.distance) ? { distance: v.distance } : {}),
      ...(isIndex(v.consentIndex) ? { consentIndex: v.consentIndex } : {}),
      ...(compromisedKey ? { compromisedKey } : {}),
    };
  }
  const derived = via ? asModel(model) : undefined;
  if (via && derived && isIndex(via.lineageIndex)) claims.derived = { model: derived, lineageIndex: via.lineageIndex };
  return claims;
}

// ---- whose works ---------------------------------------------------------------------------

/** Match threshold of a 64-bit perceptual scheme (spec/works.md), or undefined for exact-only schemes. */
function threshold(id: string): number | undefined {
  const scheme = id.slice(0, id.indexOf(':'));
  return scheme === 'phash' || scheme === 'tcode' ? DEFAULT_MAX_DISTANCE[scheme] : undefined;
}

/** Hamming distance of two perceptual identifiers of one 64-bit scheme, else undefined. */
export function perceptualDistance(a: string, b: string): number | undefined {
  const colon = a.indexOf(':');
  if (threshold(a) === undefined || a.slice(0, colon + 1) !== b.slice(0, colon + 1)) return undefined;
  const [x, y] = [fromHex(a.slice(colon + 1)), fromHex(b.slice(colon + 1))];
  if (!x || !y || x.length !== 8 || y.length !== 8) return undefined;
  const big = (bytes: Uint8Array) => bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return hammingDistance64(big(x), big(y));
}

const hintFirst = (ids: readonly string[], hint?: string) => (hint !== undefined && ids.includes(hint) ? [hint, ...ids.filter((i) => i !== hint)] : [...ids]);

/** The nearest pair (item id, candidate) within the scheme's threshold. */
function nearest(ids: readonly string[], candidates: Array<{ id: string; of: string }>): WorkMatch | undefined {
  let best: WorkMatch | undefined;
  for (const id of ids) {
    for (const c of candidates) {
      const d = perceptualDistance(id, c.id);
      if (d === undefined || d > threshold(id)! || (best && d >= best.near!.distance)) continue;
      best = { work: id, near: { of: c.of, id: c.id, distance: d } };
    }
  }
  return best;
}

/**
 * Works given by their identifiers (`pvl watch --work`, the files on the creator's page): one
 * group of identifiers per work, its first `sha256:` id (else its first id) naming it.
 */
export class WatchedWorks implements WorkOwner {
  readonly description: string;
  private readonly ids = new Set<string>();
  private readonly perceptual: Array<{ id: string; of: string }> = [];

  constructor(groups: ReadonlyArray<readonly string[]>) {
    for (const group of groups) {
      const of = group.find((i) => i.startsWith('sha256:')) ?? group[0];
      for (const id of group) {
        this.ids.add(id);
        if (threshold(id) !== undefined) this.perceptual.push({ id, of });
      }
    }
    this.description = groups.length === 1 ? `the watched work ${groups[0][0]}` : 'the watched works';
  }

  async match(ids: readonly string[], _at: Checkpoint, hint?: string): Promise<WorkMatch | undefined> {
    const exact = hintFirst(ids, hint).find((id) => this.ids.has(id));
    return exact !== undefined ? { work: exact } : nearest(ids, this.perceptual);
  }
}

const MAX_CONSENT_PAGES = 20;

interface ProvenGrant {
  index: number;
  /** The grant's identifiers of the one work naming the looked-up id. */
  group: string[];
}

/**
 * A creator's works, proven from the log: an identifier is the creator's when a consent grant
 * signed by the creator's key names it, the grant's entry proven included in a verified
 * checkpoint. Near copies: the server's similarity index proposes candidates
 * (GET /works/similar), each distance is recomputed here and the candidate's grant proven.
 * (Grants signed by earlier keys of a rotated identity are not followed.)
 */
export class CreatorWorks implements WorkOwner {
  readonly description: string;
  /** Proven grants by identifier; misses are asked again (the creator may grant later). */
  private readonly proven = new Map<string, ProvenGrant>();

  constructor(
    readonly creator: string,
    private readonly getJson: GetJson,
  ) {
    this.description = `the works of ${creator}`;
  }

  async match(ids: readonly string[], at: Checkpoint, hint?: string): Promise<WorkMatch | undefined> {
    for (const id of hintFirst(ids, hint)) {
      const grant = await this.grantNaming(id, at);
      if (grant) return { work: id, grant: grant.index };
    }
    let best: WorkMatch | undefined;
    for (const id of ids.filter((i) => threshold(i) !== undefined)) {
      const answer = await this.getJson<{ matches?: Array<{ id?: unknown }> }>(`/works/similar?id=${encodeURIComponent(id)}&max=${threshold(id)}`).catch(unlessRefused);
      const candidates = (answer?.matches ?? [])
        .map((m) => (typeof m.id === 'string' ? { id: m.id, distance: perceptualDistance(id, m.id) } : undefined))
        .filter((c): c is { id: string; distance: number } => c?.distance !== undefined && c.distance <= threshold(id)!)
        .sort((a, b) => a.distance - b.distance);
      for (const c of candidates) {
        if (best && c.distance >= best.near!.distance) break;
        const grant = await this.grantNaming(c.id, at);
        if (!grant) continue;
        best = { work: id, near: { of: grant.group.find((i) => i.startsWith('sha256:')) ?? c.id, id: c.id, distance: c.distance }, grant: grant.index };
        break;
      }
    }
    return best;
  }

  /** A grant by the creator naming `id`, included in `at`; the server's list only proposes candidates. */
  private async grantNaming(id: string, at: Checkpoint): Promise<ProvenGrant | undefined> {
    const known = this.proven.get(id);
    if (known && known.index < at.size) return known;
    // Pages of the grants naming the work (spec/api.md), bounded: a list without end cannot stall a monitor.
    for (let page = 0, after: string | null = null; page < MAX_CONSENT_PAGES; page++) {
      const path: string = `/works/${encodeURIComponent(id)}/consents?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const answer: { consents?: Array<{ index?: unknown; author?: unknown }>; next?: unknown } | undefined = await this.getJson<{ consents?: Array<{ index?: unknown; author?: unknown }>; next?: unknown }>(path).catch(unlessRefused);
      for (const c of answer?.consents ?? []) {
        if (c.author !== this.creator || !isIndex(c.index) || c.index >= at.size) continue;
        const grant = await this.proveGrant(c.index, id, at);
        if (grant) {
          for (const other of grant.group) this.proven.set(other, grant);
          return grant;
        }
      }
      if (typeof answer?.next !== 'string') break;
      after = answer.next;
    }
    return undefined;
  }

  /** Undefined when the server's answer does not prove the grant; a failed request throws (retried, not judged). */
  private async proveGrant(index: number, id: string, at: Checkpoint): Promise<ProvenGrant | undefined> {
    const [got, inclusion] = await Promise.all([this.getJson<{ entry?: unknown }>(`/entries/${index}`), this.getJson<{ proof?: unknown }>(`/proof/inclusion?index=${index}&size=${at.size}`)]);
    try {
      const bytes = typeof got.entry === 'string' ? fromBase64(got.entry) : undefined;
      const hashes = Array.isArray(inclusion.proof) ? inclusion.proof.map((p) => (typeof p === 'string' ? fromBase64(p) : undefined)) : [undefined];
      if (!bytes || hashes.some((h) => !h || h.length !== 32)) return undefined;
      verifyInclusion(defaultHasher, index, at.size, defaultHasher.hashLeaf(bytes), hashes as Uint8Array[], at.rootHash);
      const { payload, author } = parseRecord(bytes);
      if (payload.type !== 'consent-grant' || author !== this.creator) return undefined;
      const group = payload.works.find((w) => (w as readonly string[]).includes(id));
      return group ? { index, group: [...group] } : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * A 4xx answer (say, no similarity index: 404 not-supported) proposes nothing; anything else — an
 * unreachable server, a 5xx — is thrown, so that a monitor retries instead of calling the use a fault.
 */
function unlessRefused(e: unknown): undefined {
  const status = (e as { status?: unknown }).status ?? Number(/^http-(\d+)$/.exec(String((e as { code?: unknown }).code))?.[1]);
  if (typeof status === 'number' && status >= 400 && status < 500) return undefined;
  throw e;
}
