/**
 * Crash safety, the way trusted logs prove it: a real server under concurrent signed submissions
 * and manifest uploads is killed with SIGKILL at random moments and restarted. After every
 * restart, every acknowledged record must be at its acknowledged index, every checkpoint ever
 * served must be consistent with the current one (consistency proofs), and the tiles and entry
 * bundles must hash to the current checkpoint's root.
 *
 * Every other manifest is claimed by a training-use record right after its upload; the server
 * removes unclaimed ones one second after they were stored, so removals (and the deletion of
 * their data) are under way when the kills come. Every manifest whose claim was acknowledged
 * must be there after every restart; unclaimed ones may have gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { TILE_WIDTH, equalHashes, formatTilePath, rootOf, verifyConsistency } from '../src/merkle/index.js';
import { type Checkpoint, type Verifier, openCheckpoint, parseVerifierKey } from '../src/note/index.js';
import { nodeHasher } from '../src/platform/node-hasher.js';
import { decodeBundle } from '../src/log/index.js';
import { ManifestBuilder, signRecord, toHex } from '../src/records/index.js';
import { nodeEd25519Verify } from '../src/platform/node-signer.js';
import { type Author, grantEntry, makeAuthors, workOf } from './_records.js';
import { SERVER_NODE_FLAGS, cliPath, freePort } from './_server-process.js';


export interface CrashReport {
  kills: number;
  acknowledged: number;
  manifests: number;
  /** Manifests whose claiming training-use record was acknowledged. */
  claimed: number;
  lost: number;
  inconsistent: number;
  checkpoints_seen: number;
}

export interface CrashOptions {
  kills: number;
  /** Concurrent submitting clients. */
  clients?: number;
  /** Progress lines (one per restart). */
  log?: (line: string) => void;
  /** How long the server keeps an unclaimed manifest (`--manifest-claim-within`), in seconds; default 1. */
  claimWithinS?: number;
}

class ServerProcess {
  child: ChildProcess | undefined;
  output = '';

  constructor(
    private readonly dataDir: string,
    readonly port: number,
    private readonly extraFlags: string[] = [],
  ) {}

  async start(): Promise<string> {
    this.output = '';
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, cliPath, 'serve', '--data', this.dataDir, '--port', String(this.port), ...this.extraFlags], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (/listening on/.test(this.output)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${this.output}`)));
    });
    return this.output;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}

interface Acked {
  index: number;
  leafHash: string;
}

export async function runCrashTest(opts: CrashOptions): Promise<CrashReport> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pvl-crash-'));
  const server = new ServerProcess(dataDir, await freePort(), ['--manifest-claim-within', String(opts.claimWithinS ?? 1)]);
  const base = `http://127.0.0.1:${server.port}`;
  const dispatcher = new Agent({ connections: 32, keepAliveTimeout: 1000 });
  const authors = makeAuthors(8);
  const acked = new Map<number, string>(); // index → leaf hash hex
  const manifests = new Map<string, number>(); // root → count
  const claimed = new Map<string, number>(); // root → count, of manifests whose claim was acknowledged
  const builder = makeAuthors(1, 'builder')[0];
  let uploads = 0;
  const served = new Map<string, Checkpoint>(); // "size root" → checkpoint
  const report: CrashReport = { kills: 0, acknowledged: 0, manifests: 0, claimed: 0, lost: 0, inconsistent: 0, checkpoints_seen: 0 };
  let verifier: Verifier | undefined;
  let nextRecord = 0;
  const retry: Uint8Array[][] = [];

  const http = async (method: string, path: string, body?: Uint8Array | string, type = 'application/json') => {
    const res = await request(`${base}${path}`, { method: method as 'GET', body, headers: body ? { 'content-type': type } : {}, dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const bytes = new Uint8Array(await res.body.arrayBuffer());
    return { status: res.statusCode, bytes, json: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown };
  };

  const submitter = async (stop: { now: boolean }) => {
    while (!stop.now) {
      const batch = retry.pop() ?? Array.from({ length: 1 + Math.floor(Math.random() * 20) }, () => grantEntry(authors, nextRecord++, `crash ${nextRecord}`));
      try {
        const body = `[${batch.map((e) => new TextDecoder().decode(e)).join(',')}]`;
        const res = await http('POST', '/records', body);
        if (res.status !== 200 && res.status !== 201) throw new Error(`POST /records answered ${res.status}: ${new TextDecoder().decode(res.bytes).slice(0, 200)}`);
        for (const r of (res.json() as { results: Acked[] }).results) {
          const before = acked.get(r.index);
          if (before !== undefined && before !== r.leafHash) report.inconsistent++;
          acked.set(r.index, r.leafHash);
        }
      } catch (err) {
        if (isConnectionError(err)) {
          retry.push(batch); // not acknowledged: send again later (a duplicate then answers 200)
          await sleep(20);
        } else throw err;
      }
    }
  };

  const uploader = async (stop: { now: boolean }) => {
    while (!stop.now) {
      const { bytes, root, count } = await buildManifest(200 + Math.floor(Math.random() * 2000));
      try {
        const res = await http('POST', `/manifests?root=${root}&count=${count}`, bytes, 'application/octet-stream');
        if (res.status !== 200 && res.status !== 201) throw new Error(`POST /manifests answered ${res.status}: ${new TextDecoder().decode(res.bytes).slice(0, 200)}`);
        manifests.set(root, count);
        if (uploads++ % 2 === 1) continue;
        const claim = await http('POST', '/records', new TextDecoder().decode(claimEntry(builder, root, count, uploads)));
        // Refused only if the manifest was removed first (a restart between upload and claim, past its time).
        if (claim.status === 400 && (claim.json() as { code: string }).code === 'manifest-missing') continue;
        if (claim.status !== 201) throw new Error(`POST /records (claim) answered ${claim.status}: ${new TextDecoder().decode(claim.bytes).slice(0, 200)}`);
        const ack = claim.json() as Acked;
        acked.set(ack.index, ack.leafHash);
        claimed.set(root, count);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        await sleep(20);
      }
    }
  };

  const watcher = async (stop: { now: boolean }) => {
    while (!stop.now) {
      try {
        const res = await http('GET', '/checkpoint');
        if (res.status === 200 && verifier) {
          const { checkpoint } = openCheckpoint(res.bytes, verifier);
          served.set(`${checkpoint.size} ${toHex(checkpoint.rootHash)}`, checkpoint);
        }
      } catch (err) {
        if (!isConnectionError(err)) throw err;
      }
      await sleep(25);
    }
  };

  try {
    const firstOutput = await server.start();
    const vkey = /verifier key: (\S+)/.exec(firstOutput)?.[1];
    if (!vkey) throw new Error(`the first start printed no verifier key:\n${firstOutput}`);
    verifier = parseVerifierKey(vkey);
    for (let k = 0; k < opts.kills; k++) {
      const stop = { now: false };
      const workers = [...Array.from({ length: opts.clients ?? 4 }, () => submitter(stop)), uploader(stop), watcher(stop)];
      await sleep(150 + Math.random() * 600);
      await server.kill('SIGKILL');
      report.kills++;
      stop.now = true;
      await Promise.all(workers);
      await server.start();
      const check = await verifyState();
      report.lost = Math.max(report.lost, check.lost);
      report.inconsistent += check.inconsistent;
      opts.log?.(`kill ${report.kills}: ${acked.size} acknowledged, ${manifests.size} manifests (${claimed.size} claimed), tree ${check.size}, ${check.lost} lost, ${check.inconsistent} inconsistent`);
    }
    await server.kill('SIGTERM');
    report.acknowledged = acked.size;
    report.manifests = manifests.size;
    report.claimed = claimed.size;
    report.checkpoints_seen = served.size;
    return report;
  } finally {
    await server.kill('SIGKILL');
    await dispatcher.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  /** Everything the issue asks after a restart, against the server just started. */
  async function verifyState(): Promise<{ size: number; lost: number; inconsistent: number }> {
    const needed = acked.size === 0 ? 0 : Math.max(...acked.keys()) + 1;
    let current: Checkpoint | undefined;
    // Generous: a loaded machine may take a while to restart and integrate what was acknowledged.
    for (let waited = 0; waited < 60_000; waited += 50) {
      const res = await http('GET', '/checkpoint');
      if (res.status === 200) {
        current = openCheckpoint(res.bytes, verifier!).checkpoint;
        if (current.size >= needed) break;
      }
      await sleep(50);
    }
    if (!current) throw new Error('no checkpoint after restart');
    const size = current.size;
    const leaves = await leafHashesOf(size);
    let lost = 0;
    let inconsistent = 0;
    for (const [index, leafHash] of acked) if (index >= size || toHex(leaves[index]) !== leafHash) lost++;
    for (const [root, count] of claimed) {
      const res = await http('GET', `/manifests/${root}`);
      if (res.status !== 200 || (res.json() as { count: number }).count !== count) lost++;
    }
    if (!equalHashes(rootOf(leaves, nodeHasher), current.rootHash)) inconsistent++;
    for (const old of served.values()) {
      if (old.size === 0) continue;
      if (old.size > size) {
        inconsistent++;
        continue;
      }
      if (old.size === size) {
        if (!equalHashes(old.rootHash, current.rootHash)) inconsistent++;
        continue;
      }
      const res = await http('GET', `/proof/consistency?from=${old.size}&to=${size}`);
      const proof = ((res.json() as { proof: string[] }).proof ?? []).map((b) => new Uint8Array(Buffer.from(b, 'base64')));
      try {
        verifyConsistency(nodeHasher, old.size, size, proof, old.rootHash, current.rootHash);
      } catch {
        inconsistent++;
      }
    }
    return { size, lost, inconsistent };
  }

  /** Leaf hashes from the entry bundles, each checked against the level-0 hash tile. */
  async function leafHashesOf(size: number): Promise<Uint8Array[]> {
    const leaves: Uint8Array[] = [];
    for (let n = 0; n * TILE_WIDTH < size; n++) {
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      const bundle = await http('GET', `/${formatTilePath({ level: 'entries', index: n, width })}`);
      const tile = await http('GET', `/${formatTilePath({ level: 0, index: n, width })}`);
      if (bundle.status !== 200 || tile.status !== 200) throw new Error(`tile ${n} answered ${bundle.status}/${tile.status}`);
      const hashes = decodeBundle(bundle.bytes).map((e) => nodeHasher.hashLeaf(e));
      if (hashes.length !== width) throw new Error(`entry bundle ${n} has ${hashes.length} entries, not ${width}`);
      hashes.forEach((h, i) => {
        if (!equalHashes(h, tile.bytes.subarray(32 * i, 32 * i + 32))) throw new Error(`tile 0/${n} hash ${i} does not match its entry`);
      });
      leaves.push(...hashes);
    }
    return leaves;
  }
}


/** A training-use record claiming the manifest `root`. */
function claimEntry(builder: Author, root: string, count: number, n: number): Uint8Array {
  const payload = { type: 'training-use', v: 1, author: builder.ref, time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), model: { name: 'crash', version: String(n) }, purpose: 'generative-training', commercial: false, manifest: { root, count } };
  return signRecord(payload as never, builder.signer, { verify: nodeEd25519Verify });
}

async function buildManifest(count: number): Promise<{ bytes: Uint8Array; root: string; count: number }> {
  const builder = new ManifestBuilder(count);
  const chunks: Uint8Array[] = [builder.header];
  const salt = randomBytes(8).toString('hex');
  for (let i = 0; i < count; i++) chunks.push(builder.add({ work: [workOf(`${salt} ${i}`)], consent: { none: true } } as never));
  const summary = builder.finish();
  return { bytes: Buffer.concat(chunks), root: toHex(summary.root), count: summary.count };
}


function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return /ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|UND_ERR_CLOSED|EPIPE|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT/.test(code) || /other side closed|socket/i.test(String((err as Error)?.message));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type { Author };
