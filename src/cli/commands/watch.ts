/**
 * `pvl watch`: follows uses of a creator's works (or of given works), verifying each proof
 * bundle and each new checkpoint's consistency with the last trusted one. SSE with a polling
 * fallback; a state file makes restarts neither miss nor repeat a use.
 *
 * What is reported comes from the proofs alone (src/client/use-report.ts): a server's answer
 * that its own bundle contradicts, or whose proven item is not the watcher's, is a server fault
 * line, never a use, and never moves `lastEventId`.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { CreatorWorks, LedgerClient, UseFault, WatchedWorks, claimedUseId, makeEvidence, provesConsistency, verifyUseReport, type IdentityFinding, type ProvenUse, type ServerClaims, type SignedCheckpoint, type WorkOwner } from '../../client/index.js';
import { LedgerError } from '../../errors.js';
import { fromBase64, isKeyRef, isWorkId } from '../../records/index.js';
import { readKeyFile, readVerifierKey } from '../keys.js';
import { colour, UsageError } from '../output.js';
import { eventIdAfter, loadState, saveState, type WatchState } from '../watch-state.js';
import { addTrustOptions, detectSplitViews, loadTrust, saveEvidence, type SplitViewCheck } from '../evidence.js';
import { EvidenceChecker, type IdentityTrustPolicy } from '../../identity/index.js';
import { consentBy, describeFinding, loadIdentityTrust } from '../identity-trust.js';

interface WatchOpts {
  server: string;
  vkey: string;
  creator?: string;
  work?: string[];
  state?: string;
  exec?: string;
  webhook?: string;
  once?: boolean;
  interval: number;
  json?: boolean;
  witness?: string[];
  quorum?: string;
  policy?: string;
  evidenceDir: string;
  /** The identity trust policy file: say who is behind each consent. */
  trust?: string;
}

/** A use as the server sent it: nothing here is believed until verifyUseReport has checked it. */
interface Use {
  useIndex: number;
  position: number;
  model: { builder: string; name: string; version: string };
  verdict: { verdict: string; reason: string; distance?: number };
  bundle: unknown;
}

class Watcher {
  private trusted: SignedCheckpoint | null = null;
  /** Faults already printed this run: every poll reads the same answers again. */
  private readonly faultsSeen = new Set<string>();

  constructor(
    private readonly client: LedgerClient,
    private readonly opts: WatchOpts,
    private readonly state: WatchState,
    private readonly owner: WorkOwner,
    private readonly vkey: string,
    private readonly identities?: { policy: IdentityTrustPolicy; checker: EvidenceChecker },
  ) {
    if (state.checkpoint) this.trusted = client.openCheckpoint(state.checkpoint);
  }

  /** With --trust: who is behind the grant the server says decided (grant and use proven here, evidence fetched here). */
  private async consentBehind(u: ProvenUse, claims: ServerClaims): Promise<IdentityFinding | undefined> {
    const grant = claims.verdict?.consentIndex;
    if (!this.identities || grant === undefined) return undefined;
    return consentBy(this.client, u.checkpoint, grant, u.itemIds, u.index, this.identities.policy, this.identities.checker);
  }

  get faults(): number {
    return this.faultsSeen.size;
  }

  /** The log's head (`GET /checkpoint`): it must extend the trusted checkpoint; a smaller one is a rollback. */
  async trust(next: SignedCheckpoint): Promise<void> {
    await this.extend(next, `log ${this.opts.server}`, true);
  }

  /**
   * Proves `next` and the trusted checkpoint are views of one append-only log (RFC 9162
   * consistency proof from the server, either direction). Only the log's head (`head`) becomes
   * trusted, and one below the trusted size is a rollback even when consistent: a bundle may
   * carry a newer checkpoint than the head (one not yet witnessed), never an older head. Either
   * failure saves both signed notes as evidence and throws; the state file keeps the trusted one.
   */
  private async extend(next: SignedCheckpoint, source: string, head: boolean): Promise<void> {
    const trusted = this.trusted;
    if (!trusted) {
      if (head) this.adopt(next);
      return;
    }
    const [small, large] = next.checkpoint.size < trusted.checkpoint.size ? [next, trusted] : [trusted, next];
    const proof = small.checkpoint.size === large.checkpoint.size || small.checkpoint.size === 0 ? [] : await this.consistencyProof(small.checkpoint.size, large.checkpoint.size);
    const consistent = provesConsistency(small.checkpoint, large.checkpoint, proof);
    const rollback = head && next.checkpoint.size < trusted.checkpoint.size;
    if (consistent && !rollback) {
      if (head && next.checkpoint.size > trusted.checkpoint.size) this.adopt(next);
      return;
    }
    const saved = { ...trusted, source: this.opts.state ? `saved ${this.opts.state}` : 'trusted earlier in this run' };
    const seen = { ...next, source };
    const [a, b] = next === small ? [seen, saved] : [saved, seen];
    const evidence = makeEvidence(this.vkey, a, b, proof);
    const [path] = await saveEvidence(this.opts.evidenceDir, [consistent ? { ...evidence, kind: 'rollback' } : evidence]);
    const sizes = `${source} has size ${next.checkpoint.size}, the trusted checkpoint (${saved.source}) size ${trusted.checkpoint.size}`;
    if (consistent) throw new LedgerError('rollback', `rollback: ${sizes}: the log went back; both checkpoints saved to ${path}`);
    throw new LedgerError('split-view', `split view: ${sizes} and no valid consistency proof joins them [${evidence.kind}]; both checkpoints saved to ${path}`);
  }

  private adopt(next: SignedCheckpoint): void {
    this.trusted = next;
    this.state.checkpoint = next.note;
  }

  /** The server's proof, or undefined if it gives none (that is the log's fault); unreachable still throws. */
  private async consistencyProof(from: number, to: number): Promise<Uint8Array[] | undefined> {
    let answer: { proof?: unknown };
    try {
      answer = await this.client.getJson<{ proof?: unknown }>(`/proof/consistency?from=${from}&to=${to}`);
    } catch (e) {
      if ((e as { code?: string }).code === 'unreachable') throw e;
      return undefined;
    }
    const hashes = Array.isArray(answer.proof) ? answer.proof.map((h) => (typeof h === 'string' ? fromBase64(h) : undefined)) : [undefined];
    return hashes.every((h) => h?.length === 32) ? (hashes as Uint8Array[]) : undefined;
  }

  /**
   * A bundle's checkpoint must be consistent with the trusted one. Under a witness policy it
   * (log-signed only) must also be covered by a witnessed head. False: not witnessed yet, report
   * it later.
   */
  private async trustBundleCheckpoint(note: string): Promise<boolean> {
    if (!this.client.policy) {
      await this.extend(this.client.openCheckpoint(note), 'a proof bundle', false);
      return true;
    }
    const bundle = this.client.openLogSigned(note);
    if (!this.trusted || bundle.checkpoint.size > this.trusted.checkpoint.size) await this.trust(await this.client.checkpoint());
    if (bundle.checkpoint.size > this.trusted!.checkpoint.size) return false;
    await this.extend(bundle, 'a proof bundle', false);
    return true;
  }

  /** One use report (a poll's or an SSE event's, with its `id:`): verified, then reported, or a fault. */
  async report(use: Use | null, eventId?: string): Promise<void> {
    // A use the server labels as already reported is not looked at: it could as well have left
    // it out. A label past the last one must be proven before it can move lastEventId.
    const claimed = claimedUseId(use) ?? eventId?.trim();
    if (claimed !== undefined && /^\d+\.\d+$/.test(claimed) && !eventIdAfter(claimed, this.state.lastEventId)) return;
    let proven;
    try {
      proven = await verifyUseReport(use, this.client.verifier, this.owner, eventId === undefined ? {} : { eventId });
    } catch (e) {
      if (e instanceof UseFault) return this.fault(e.message);
      throw e;
    }
    const { use: u, claims } = proven;
    if (!eventIdAfter(u.id, this.state.lastEventId)) return;
    if (!(await this.trustBundleCheckpoint((use as { bundle: { checkpoint: string } }).bundle.checkpoint))) return;
    const consentBehind = await this.consentBehind(u, claims);
    const line = {
      id: u.id,
      index: u.index,
      position: u.position,
      work: u.work,
      ...(u.near ? { near: u.near } : {}),
      ...(u.grant !== undefined ? { grant: u.grant } : {}),
      model: `${u.model.name}@${u.model.version}`,
      builder: u.model.builder,
      proof: 'verified',
      treeSize: u.checkpoint.size,
      serverVerdict: claims.verdict ?? null,
      ...(consentBehind ? { consentBy: consentBehind } : {}),
      ...(claims.derived ? { serverDerived: { model: `${claims.derived.model.name}@${claims.derived.model.version}`, builder: claims.derived.model.builder, lineageIndex: claims.derived.lineageIndex } } : {}),
    };
    if (this.opts.json) console.log(JSON.stringify(line));
    else {
      const near = u.near ? ` (near copy of your ${u.near.of}: ${u.near.id} at distance ${u.near.distance}, computed here)` : '';
      const says = claims.verdict ? `${claims.verdict.verdict}${claims.verdict.reason ? ` (${claims.verdict.reason})` : ''}` : 'no verdict';
      const derived = line.serverDerived ? `; server says inherited by ${line.serverDerived.model} (lineage entry ${line.serverDerived.lineageIndex})` : '';
      const stolen = claims.verdict?.compromisedKey ? `; declared by a builder key reported stolen from index ${claims.verdict.compromisedKey.since} (record ${claims.verdict.compromisedKey.recordIndex})` : '';
      console.log(`${colour.bold(u.work)}${near} used by ${line.model} (${line.builder}) at log index ${u.index} item ${u.position} — proof verified at tree size ${line.treeSize}${colour.dim(`; server says: ${says}${derived}${stolen}`)}`);
      if (consentBehind && this.identities) console.log(`  consent by: ${describeFinding(this.identities.policy, consentBehind)}`);
    }
    await this.notify(line);
    this.state.lastEventId = u.id;
    await saveState(this.opts.state, this.state);
  }

  /**
   * A claim notice (spec/api.md, `claim` events): another identity's grant names a work of the
   * watcher's. The grant itself is checked against the log (inclusion in the trusted head, its
   * author, the work) before it is reported; who the server says it claims for is shown as said.
   */
  async claim(data: unknown): Promise<void> {
    const notice = asClaimNotice(data);
    if (!notice) return this.fault(`a claim event that is not a claim notice: ${JSON.stringify(data)?.slice(0, 200)}`);
    await this.trust(await this.client.checkpoint());
    const at = this.trusted!.checkpoint;
    let grant;
    try {
      grant = (await this.client.entry(notice.grantIndex, at)).value.record.payload;
    } catch (e) {
      if ((e as { code?: string }).code === 'unreachable') throw e;
      return this.fault(`claim event for grant ${notice.grantIndex}: ${(e as Error).message}`);
    }
    if (grant.type !== 'consent-grant' || grant.author !== notice.author || !grant.works.some((ids) => (ids as string[]).includes(notice.work))) {
      return this.fault(`claim event for grant ${notice.grantIndex}: log entry ${notice.grantIndex} is not a grant by ${notice.author} naming ${notice.work}`);
    }
    const onBehalf = grant.onBehalfOf !== undefined ? `, signed by ${grant.author} on its behalf` : '';
    if (this.opts.json) {
      console.log(JSON.stringify({ event: 'claim', grant: notice.grantIndex, work: notice.work, claimant: notice.claimant, author: grant.author, ...(grant.onBehalfOf ? { onBehalfOf: grant.onBehalfOf } : {}), proof: 'verified', treeSize: at.size }));
    } else {
      console.log(`your work ${colour.bold(notice.work)} is also claimed by ${notice.claimant} in grant ${notice.grantIndex}${onBehalf} — a use of it may be judged disputed${colour.dim(` (grant proven in the log at tree size ${at.size})`)}`);
    }
  }

  private fault(message: string): void {
    if (this.faultsSeen.has(message)) return;
    this.faultsSeen.add(message);
    if (this.opts.json) console.log(JSON.stringify({ fault: message }));
    else console.log(`${colour.red('server fault')}: ${message} — not reported as a use`);
  }

  private async notify(line: object): Promise<void> {
    const body = JSON.stringify(line);
    if (this.opts.webhook) await fetch(this.opts.webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (this.opts.exec) {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(this.opts.exec!, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, PVL_USE: body } });
        child.stdin.end(body + '\n');
        child.on('error', reject);
        child.on('exit', () => resolve());
      });
    }
  }
}

function queryPaths(creator: string | undefined, works: string[]): { poll: string[]; events: string } {
  if (creator) return { poll: [`/creators/${creator}/uses`], events: `/events?creator=${creator}` };
  return { poll: works.map((w) => `/works/${w}/uses`), events: '/events?' + works.map((w) => `work=${encodeURIComponent(w)}`).join('&') };
}

/** Pages of one use list a poll reads (`next` after `next`); what lies beyond waits for the next poll. */
const MAX_POLL_PAGES = 50;

/**
 * A use list from `after` on (the state's last event id: the watcher reports nothing at or before
 * it anyway), following `next` for at most MAX_POLL_PAGES pages of 1,000.
 */
async function fetchUses(client: LedgerClient, path: string, after: string | null): Promise<Use[]> {
  const uses: Use[] = [];
  // A state file the server would refuse as a cursor is read from the start instead.
  for (let page = 0, cursor = after && /^(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})$/.test(after) ? after : null; page < MAX_POLL_PAGES; page++) {
    const answer = await client.getJson<{ uses: Use[]; next?: string | null }>(`${path}?limit=1000${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`);
    uses.push(...answer.uses);
    if (typeof answer.next !== 'string') break;
    cursor = answer.next;
  }
  return uses;
}

async function pollOnce(client: LedgerClient, watcher: Watcher, paths: string[], views?: SplitViewCheck, after: string | null = null): Promise<void> {
  if (views) await detectSplitViews(client, views);
  await watcher.trust(await client.checkpoint());
  const uses: Use[] = [];
  for (const p of paths) uses.push(...(await fetchUses(client, p, after)));
  uses.sort((a, b) => a.useIndex - b.useIndex || a.position - b.position);
  for (const u of uses) await watcher.report(u);
}

/** A `claim` event's data as the server sends it (spec/api.md, Notifications); undefined if it is not one. */
interface ClaimNotice {
  grantIndex: number;
  work: string;
  claimant: string;
  author: string;
}

function asClaimNotice(data: unknown): ClaimNotice | undefined {
  const n = data as Partial<ClaimNotice> | null;
  const ok = n !== null && typeof n === 'object' && Number.isSafeInteger(n.grantIndex) && n.grantIndex! >= 0 && typeof n.work === 'string' && isWorkId(n.work) && isKeyRef(n.claimant) && isKeyRef(n.author);
  return ok ? (n as ClaimNotice) : undefined;
}

/**
 * Reads an SSE stream, calling `onUse` for each `use` event and `onClaim` for each `claim` event;
 * resolves when the stream ends.
 */
async function followEvents(client: LedgerClient, path: string, lastEventId: string | null, onUse: (u: Use | null, id: string | undefined) => Promise<void>, onClaim: (data: unknown) => Promise<void>): Promise<void> {
  const res = await client.request(path, { headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } });
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = block.split('\n').filter((l) => !l.startsWith(':'));
      const event = fields.find((l) => l.startsWith('event:'))?.slice(6).trim();
      const id = fields.find((l) => l.startsWith('id:'))?.slice(3).trim();
      const data = fields.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (event === 'use' && data) await onUse(parseJson(data), id);
      if (event === 'claim' && data) await onClaim(parseJson(data));
    }
  }
}

function parseJson(text: string): Use | null {
  try {
    return JSON.parse(text) as Use;
  } catch {
    return null; // reported as a fault by verifyUseReport
  }
}

export async function watch(opts: WatchOpts): Promise<void> {
  if (!opts.creator === !opts.work?.length) throw new UsageError('give exactly one of --creator KEYFILE|KEYREF or --work ID…');
  for (const w of opts.work ?? []) if (!isWorkId(w)) throw new UsageError(`--work: not a work identifier: ${w}`);
  const trust = await loadTrust(opts);
  const client = new LedgerClient(opts.server, { verifier: await readVerifierKey(trust.vkey), policy: trust.policy });
  const creator = opts.creator ? (isKeyRef(opts.creator) ? opts.creator : (await readKeyFile(opts.creator)).keyRef) : undefined;
  const state = await loadState(opts.state);
  const owner: WorkOwner = creator ? new CreatorWorks(creator, (path) => client.getJson(path)) : new WatchedWorks((opts.work ?? []).map((w) => [w]));
  const identities = await loadIdentityTrust(opts.trust);
  const watcher = new Watcher(client, opts, state, owner, trust.vkey, identities && { policy: identities.policy, checker: new EvidenceChecker() });
  const paths = queryPaths(creator, opts.work ?? []);
  const saved = () => (state.checkpoint ? [{ source: `saved ${opts.state}`, note: state.checkpoint }] : []);
  const views = () => ({ server: opts.server, vkey: trust.vkey, witnessUrls: trust.witnessUrls, saved: saved(), evidenceDir: opts.evidenceDir, timeoutMs: 3000 });
  await pollOnce(client, watcher, paths.poll, views(), state.lastEventId);
  await saveState(opts.state, state);
  if (opts.once) {
    if (watcher.faults > 0) throw new LedgerError('server-fault', `${watcher.faults} server fault(s): answers their own proofs contradict, or uses of works not yours, were not reported as uses`);
    return;
  }
  for (;;) {
    try {
      await followEvents(client, paths.events, state.lastEventId, (u, id) => watcher.report(u, id), (claim) => watcher.claim(claim));
    } catch (e) {
      // What the log itself is caught doing ends the watch; a dropped connection does not.
      if (['rollback', 'split-view'].includes(String((e as { code?: string }).code))) throw e;
      process.stderr.write(`pvl: event stream failed (${(e as Error).message}); polling every ${opts.interval}s\n`);
    }
    await new Promise((r) => setTimeout(r, opts.interval * 1000));
    await pollOnce(client, watcher, paths.poll, views(), state.lastEventId);
  }
}

export function registerWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .description('report each new use of your works, with verified proofs')
    .requiredOption('--server <url>', 'ledger server URL')
    .requiredOption('--vkey <vkey>', 'log verifier key or file')
    .option('--creator <keyfile|keyref>', 'watch every work of this creator')
    .option('--work <ids...>', 'watch these works')
    .option('--state <file>', 'state file (last checkpoint and use) for restarts')
    .option('--exec <cmd>', 'run this shell command per use (JSON on stdin and in $PVL_USE)')
    .option('--webhook <url>', 'POST each use as JSON here')
    .option('--once', 'report uses since the state file and exit')
    .option('--interval <seconds>', 'polling interval when events are unavailable', (v) => Number(v), 10)
    .option('--json', 'one JSON object per use on stdout')
    .option('--evidence-dir <dir>', 'where split-view evidence files are written', '.')
    .option('--trust <file>', 'identity trust policy: say who is behind each consent (spec/policy.md)');
  addTrustOptions(cmd).action(watch);
}
