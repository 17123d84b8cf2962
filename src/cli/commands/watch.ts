/**
 * `pvl watch`: follows uses of a creator's works (or of given works), verifying each proof
 * bundle and each new checkpoint's consistency with the last trusted one. SSE with a polling
 * fallback; a state file makes restarts neither miss nor repeat a use.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { LedgerClient, type SignedCheckpoint } from '../../client/index.js';
import { isKeyRef } from '../../records/index.js';
import { readKeyFile, readVerifierKey } from '../keys.js';
import { colour, UsageError } from '../output.js';
import { eventIdAfter, loadState, saveState, type WatchState } from '../watch-state.js';
import { addTrustOptions, detectSplitViews, loadTrust, type SplitViewCheck } from '../evidence.js';

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
}

interface Use {
  useIndex: number;
  position: number;
  model: { builder: string; name: string; version: string };
  /** `distance` is set for near copies of the creator's works (spec/policy.md rule 1a). */
  verdict: { verdict: string; reason: string; distance?: number };
  bundle: unknown;
}

class Watcher {
  private trusted: SignedCheckpoint | null = null;

  constructor(
    private readonly client: LedgerClient,
    private readonly opts: WatchOpts,
    private readonly state: WatchState,
  ) {
    if (state.checkpoint) this.trusted = client.openCheckpoint(state.checkpoint);
  }

  /** Moves the trusted checkpoint forward, after proving consistency either way. */
  async trust(next: SignedCheckpoint): Promise<void> {
    if (!this.trusted) this.trusted = next;
    else if (next.checkpoint.size >= this.trusted.checkpoint.size) {
      await this.client.checkConsistency(this.trusted.checkpoint, next.checkpoint);
      this.trusted = next;
    } else await this.client.checkConsistency(next.checkpoint, this.trusted.checkpoint);
    this.state.checkpoint = this.trusted.note;
  }

  /**
   * Under a witness policy a bundle's checkpoint (log-signed only) is not trusted itself: it must
   * be proven consistent with the witnessed one. False: not witnessed yet, report it later.
   */
  private async trustBundleCheckpoint(note: string): Promise<boolean> {
    if (!this.client.policy) {
      await this.trust(this.client.openCheckpoint(note));
      return true;
    }
    const bundle = this.client.openLogSigned(note);
    if (!this.trusted || bundle.checkpoint.size > this.trusted.checkpoint.size) await this.trust(await this.client.checkpoint());
    if (bundle.checkpoint.size > this.trusted!.checkpoint.size) return false;
    await this.client.checkConsistency(bundle.checkpoint, this.trusted!.checkpoint);
    return true;
  }

  async report(use: Use): Promise<void> {
    const id = `${use.useIndex}.${use.position}`;
    if (!eventIdAfter(id, this.state.lastEventId)) return;
    const verified = this.client.verifyBundle(use.bundle);
    if (!(await this.trustBundleCheckpoint((use.bundle as { checkpoint: string }).checkpoint))) return;
    const near = use.verdict.distance !== undefined ? { distance: use.verdict.distance } : {};
    const line = { id, work: verified.value.work, model: `${use.model.name}@${use.model.version}`, builder: use.model.builder, verdict: use.verdict.verdict, reason: use.verdict.reason, ...near, proof: 'verified', treeSize: verified.checkpoint.size };
    if (this.opts.json) console.log(JSON.stringify(line));
    else console.log(`${colour.bold(line.verdict)} ${line.work}${near.distance !== undefined ? ` (near copy, distance ${near.distance})` : ''} used by ${line.model} (${line.builder}) at log index ${use.useIndex} item ${use.position} — proof verified at tree size ${line.treeSize}`);
    await this.notify(line);
    this.state.lastEventId = id;
    await saveState(this.opts.state, this.state);
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

async function pollOnce(client: LedgerClient, watcher: Watcher, paths: string[], views?: SplitViewCheck): Promise<void> {
  if (views) await detectSplitViews(client, views);
  await watcher.trust(await client.checkpoint());
  const uses: Use[] = [];
  for (const p of paths) uses.push(...(await client.getJson<{ uses: Use[] }>(p)).uses);
  uses.sort((a, b) => a.useIndex - b.useIndex || a.position - b.position);
  for (const u of uses) await watcher.report(u);
}

/** Reads an SSE stream, calling `onUse` for each `use` event; resolves when the stream ends. */
async function followEvents(client: LedgerClient, path: string, lastEventId: string | null, onUse: (u: Use) => Promise<void>): Promise<void> {
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
      const data = fields.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (event === 'use' && data) await onUse(JSON.parse(data) as Use);
    }
  }
}

export async function watch(opts: WatchOpts): Promise<void> {
  if (!opts.creator === !opts.work?.length) throw new UsageError('give exactly one of --creator KEYFILE|KEYREF or --work ID…');
  const trust = await loadTrust(opts);
  const client = new LedgerClient(opts.server, { verifier: await readVerifierKey(trust.vkey), policy: trust.policy });
  const creator = opts.creator ? (isKeyRef(opts.creator) ? opts.creator : (await readKeyFile(opts.creator)).keyRef) : undefined;
  const state = await loadState(opts.state);
  const watcher = new Watcher(client, opts, state);
  const paths = queryPaths(creator, opts.work ?? []);
  const saved = () => (state.checkpoint ? [{ source: `saved ${opts.state}`, note: state.checkpoint }] : []);
  const views = () => ({ server: opts.server, vkey: trust.vkey, witnessUrls: trust.witnessUrls, saved: saved(), evidenceDir: opts.evidenceDir, timeoutMs: 3000 });
  await pollOnce(client, watcher, paths.poll, views());
  await saveState(opts.state, state);
  if (opts.once) return;
  for (;;) {
    try {
      await followEvents(client, paths.events, state.lastEventId, (u) => watcher.report(u));
    } catch (e) {
      if ((e as { code?: string }).code && String((e as { code: string }).code).startsWith('bundle-')) throw e;
      process.stderr.write(`pvl: event stream failed (${(e as Error).message}); polling every ${opts.interval}s\n`);
    }
    await new Promise((r) => setTimeout(r, opts.interval * 1000));
    await pollOnce(client, watcher, paths.poll, views());
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
    .option('--evidence-dir <dir>', 'where split-view evidence files are written', '.');
  addTrustOptions(cmd).action(watch);
}
