/**
 * Storage faults (issue 7 §2). A LogStore wrapper over the real LevelDB store refuses writes with
 * StoreUnavailableError while "full" — as LevelLogStore does when LevelDB reports ENOSPC/EROFS —
 * and the ledger and app run on it in process. While full: writes answer 503 store-unavailable
 * problems and leave no state behind (neither in the store nor in the ledger's memory: the next
 * index, the dedup filter and the consent policy are unchanged); reads keep answering. When space
 * returns, writes resume and every acknowledged record is at its acknowledged index, in a
 * checkpoint consistent with every checkpoint served before.
 *
 * Expectations are independent of the code under test: leaf hashes with node:crypto, proofs
 * checked with src/merkle against checkpoints opened with the log's verifier key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { type Hash, verifyConsistency, verifyInclusion } from '../../src/merkle/index.js';
import { formatPrivateKey, generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type UseItem, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { type KeyValueSpace, type LogStore, type StoredTile, LevelLogStore, StoreUnavailableError } from '../../src/store/index.js';
import { alice, bob, creator, grant, item, revocation, sha256Id, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { grantEntry, makeAuthors } from '../../bench/_records.js';

const ORIGIN = 'test.example/storage-faults';
const logKey = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(logKey);
const verifier = parseVerifierKey(vkey);

/** What the disk does: accept writes, refuse them all ("full"), or refuse only checkpoints. */
interface Disk {
  full: boolean;
  /** Refuse integration rounds (tiles + checkpoint) only: the disk filled after an append. */
  integrationFails: boolean;
  /** Writes still accepted before the disk is full (counts down; undefined = no limit). */
  writesLeft?: number;
  refused: number;
}

function refuse(disk: Disk, what: string): void {
  if (disk.writesLeft !== undefined) {
    if (disk.writesLeft === 0) disk.full = true;
    else disk.writesLeft--;
  }
  if (disk.full) {
    disk.refused++;
    const cause = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    throw new StoreUnavailableError(`cannot write ${what}: no space left on device (simulated)`, cause);
  }
}

/** The real store, with every write going through the simulated disk first. */
class FillableStore implements LogStore {
  constructor(
    readonly inner: LevelLogStore,
    readonly disk: Disk,
  ) {}
  sequencedSize() {
    return this.inner.sequencedSize();
  }
  async appendEntries(first: number, entries: Uint8Array[], leafHashes: Hash[], candidates: number[][]) {
    refuse(this.disk, 'entries');
    return this.inner.appendEntries(first, entries, leafHashes, candidates);
  }
  readEntries(first: number, count: number) {
    return this.inner.readEntries(first, count);
  }
  findLeafHashes(hashes: Hash[]) {
    return this.inner.findLeafHashes(hashes);
  }
  async writeIntegration(tiles: StoredTile[], checkpoint: Uint8Array) {
    if (this.disk.integrationFails) {
      this.disk.refused++;
      throw new StoreUnavailableError('cannot write checkpoint: no space left on device (simulated)');
    }
    refuse(this.disk, 'checkpoint');
    return this.inner.writeIntegration(tiles, checkpoint);
  }
  readTiles(coords: Array<{ level: number; index: number }>) {
    return this.inner.readTiles(coords);
  }
  readCheckpoint() {
    return this.inner.readCheckpoint();
  }
  space(name: string): KeyValueSpace {
    const space = this.inner.space(name);
    const disk = this.disk;
    return {
      get: (k) => space.get(k),
      getMany: (ks) => space.getMany(ks),
      range: (o) => space.range(o),
      async write(ops, opts) {
        refuse(disk, name);
        return space.write(ops, opts);
      },
      async clear(o) {
        refuse(disk, name);
        return space.clear(o);
      },
    };
  }
  diskUsage() {
    return this.inner.diskUsage();
  }
  memoryUse() {
    return this.inner.memoryUse();
  }
  close() {
    return this.inner.close();
  }
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup() {
  const { dir, cleanup } = await tempDir('pvl-faults-');
  const disk: Disk = { full: false, integrationFails: false, refused: 0 };
  const store = new FillableStore(await LevelLogStore.open(dir), disk);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const app = createApp({ ledger, log: ledger.log, vkey, keepaliveMs: 60_000 });
  cleanups.push(cleanup, () => ledger.close());
  return { app, ledger, store, disk };
}
type Setup = Awaited<ReturnType<typeof setup>>;

const sign = (payload: Parameters<typeof signRecord>[0], key: typeof alice) => signRecord(payload, key.signer, { verify });
const leafHash = (entry: Uint8Array) => new Uint8Array(createHash('sha256').update(Uint8Array.of(0)).update(entry).digest());
const post = (s: Setup, path: string, body: string | Uint8Array, type = 'application/json') =>
  s.app.request(path, { method: 'POST', body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]), headers: { 'Content-Type': type } });
const postRecords = (s: Setup, entries: Uint8Array[], query = '') =>
  post(s, `/records${query}`, entries.length === 1 ? Buffer.from(entries[0]).toString() : `[${entries.map((e) => Buffer.from(e).toString()).join(',')}]`);

/** SHA-256 over every key and value in the LevelDB database. */
async function digest(store: LevelLogStore): Promise<string> {
  const h = createHash('sha256');
  for await (const [k, v] of store.raw.iterator()) h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
  return h.digest('hex');
}

/** The ledger space's manifest keys (spec/storage.md) and values, data keys and times replaced by their roles. */
async function manifestKeys(store: LevelLogStore): Promise<string[]> {
  const space = store.space('ledger');
  const entries: Array<[string, string]> = [];
  const roles = new Map<string, string>();
  for await (const [k, v] of space.range({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) {
    if (!'MITUSDC'.includes(String.fromCharCode(k[0]))) continue;
    if (k[0] === 0x4d) roles.set(toHex(v.subarray(8, 40)), `<data of ${toHex(k.subarray(1))}>`);
    // U ‖ u64 storedAt ‖ root: the time is the test's.
    entries.push([k[0] === 0x55 ? `U<time>${toHex(k.subarray(9))}` : toHex(k), toHex(v)]);
  }
  return entries.map(([k, v]) => {
    let line = `${k}=${v}`;
    for (const [dataKey, role] of roles) line = line.replaceAll(dataKey, role);
    return line;
  });
}

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { code: string; status: number; detail: string };
  expect(body).toMatchObject({ status: 503, code: 'store-unavailable' });
  expect(body.detail).toMatch(/cannot write/);
}

async function manifestOf(n: number, label: string) {
  const items: UseItem[] = Array.from({ length: n }, (_, i) => item(sha256Id(`${label} ${i}`), { none: true }));
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, n, (c) => void parts.push(c.slice()));
  return { bytes: Buffer.concat(parts), root: toHex(summary.root), count: summary.count };
}

/** Every acknowledged entry is at its index in the published tree, with a verifying proof. */
async function expectAllPresent(s: Setup, acked: Map<number, Uint8Array>): Promise<void> {
  const maxIndex = Math.max(...acked.keys());
  await s.ledger.waitForCheckpoint(maxIndex);
  const cp = openCheckpoint(await (await s.app.request('/checkpoint')).text(), verifier).checkpoint;
  for (const [index, entry] of acked) {
    const got = (await (await s.app.request(`/entries/${index}`)).json()) as { entry: string };
    expect(Buffer.from(got.entry, 'base64').equals(Buffer.from(entry)), `entry ${index}`).toBe(true);
    const proof = (await (await s.app.request(`/proof/inclusion?index=${index}&size=${cp.size}`)).json()) as { proof: string[] };
    verifyInclusion(nodeHasher, index, cp.size, leafHash(entry), proof.proof.map((p) => new Uint8Array(Buffer.from(p, 'base64'))), cp.rootHash);
  }
}

/** The current checkpoint is consistent with an earlier one (RFC 9162 consistency proof). */
async function expectConsistent(s: Setup, earlierNote: string): Promise<void> {
  const earlier = openCheckpoint(earlierNote, verifier).checkpoint;
  const now = openCheckpoint(await (await s.app.request('/checkpoint')).text(), verifier).checkpoint;
  const res = (await (await s.app.request(`/proof/consistency?from=${earlier.size}&to=${now.size}`)).json()) as { proof: string[] };
  verifyConsistency(nodeHasher, earlier.size, now.size, res.proof.map((p) => new Uint8Array(Buffer.from(p, 'base64'))), earlier.rootHash, now.rootHash);
}

describe('a full disk', () => {
  it('answers 503 to writes, leaves no state, keeps serving reads, and resumes when space returns', async () => {
    const s = await setup();
    const W1 = sha256Id('faults work 1');
    const acked = new Map<number, Uint8Array>();
    const first = [sign(creator(alice), alice), sign(grant(alice, [[W1]]), alice)];
    const ok = await postRecords(s, first, '?wait=checkpoint');
    expect(ok.status).toBe(201);
    first.forEach((e, i) => acked.set(i, e));
    const noteBefore = await (await s.app.request('/checkpoint')).text();
    await s.ledger.waitForCheckpoint(1);
    while (s.ledger.indexedSize < 2) await new Promise((r) => setTimeout(r, 5));
    const before = await digest(s.store.inner);

    s.disk.full = true;
    const grant2 = sign(grant(alice, [[sha256Id('faults work 2')]]), alice);
    const batch = [sign(creator(bob), bob), sign(grant(bob, [[sha256Id('faults work 3')]]), bob)];
    const m = await manifestOf(3, 'full');
    await expectUnavailable(await postRecords(s, [grant2]));
    await expectUnavailable(await postRecords(s, batch));
    await expectUnavailable(await postRecords(s, [grant2], '?wait=checkpoint'));
    await expectUnavailable(await post(s, `/manifests?root=${m.root}&count=3`, m.bytes, 'application/octet-stream'));
    expect(s.disk.refused).toBeGreaterThanOrEqual(4);

    // No state: not in the store, and not in memory (the index the grant would have had is not
    // a record the policy knows, so revoking it is refused).
    expect(s.ledger.log.sequencedSize).toBe(2);
    const revokeMissing = await postRecords(s, [sign(revocation(alice, { index: 2 }), alice)]);
    expect(revokeMissing.status).toBe(400);
    expect(((await revokeMissing.json()) as { code: string }).code).toBe('not-admissible');
    expect((await s.app.request(`/manifests/${m.root}`)).status).toBe(404);
    expect(await digest(s.store.inner)).toBe(before);

    // Reads keep working.
    expect(await (await s.app.request('/checkpoint')).text()).toBe(noteBefore);
    expect((await s.app.request('/tile/0/000.p/2')).status).toBe(200);
    expect((await s.app.request('/tile/entries/000.p/2')).status).toBe(200);
    expect((await s.app.request('/entries/1')).status).toBe(200);
    expect((await s.app.request('/proof/inclusion?index=1')).status).toBe(200);
    const consents = (await (await s.app.request(`/works/${W1}/consents`)).json()) as { consents: unknown[] };
    expect(consents.consents).toHaveLength(1);
    expect((await s.app.request('/healthz')).status).toBe(200);

    // Space returns: the same writes now succeed, at the next indexes, as new entries.
    s.disk.full = false;
    const r1 = await postRecords(s, [grant2]);
    expect(r1.status).toBe(201);
    expect(await r1.json()).toMatchObject({ index: 2 });
    acked.set(2, grant2);
    const r2 = await postRecords(s, batch, '?wait=checkpoint');
    expect(r2.status).toBe(201);
    expect(((await r2.json()) as { results: Array<{ index: number; duplicate: boolean }> }).results.map((r) => [r.index, r.duplicate])).toEqual([
      [3, false],
      [4, false],
    ]);
    batch.forEach((e, i) => acked.set(3 + i, e));
    expect((await post(s, `/manifests?root=${m.root}&count=3`, m.bytes, 'application/octet-stream')).status).toBe(201);
    await expectAllPresent(s, acked);
    await expectConsistent(s, noteBefore);
  });

  it('keeps acknowledged entries when the disk fills between the append and its checkpoint', async () => {
    const s = await setup();
    const acked = new Map<number, Uint8Array>();
    const e0 = sign(creator(alice), alice);
    expect((await postRecords(s, [e0], '?wait=checkpoint')).status).toBe(201);
    acked.set(0, e0);
    const noteBefore = await (await s.app.request('/checkpoint')).text();

    s.disk.integrationFails = true;
    const e1 = sign(grant(alice, [[sha256Id('late work')]]), alice);
    const res = await postRecords(s, [e1]);
    expect(res.status).toBe(201); // durably sequenced: acknowledged
    expect(await res.json()).toMatchObject({ index: 1 });
    acked.set(1, e1);
    // Integration rounds fail and are retried; the published checkpoint stays where it was.
    const refusedBefore = s.disk.refused;
    while (s.disk.refused < refusedBefore + 3) await new Promise((r) => setTimeout(r, 5));
    expect(await (await s.app.request('/checkpoint')).text()).toBe(noteBefore);
    expect((await s.app.request('/entries/0')).status).toBe(200);
    // Operators see it: the server is degraded (still 200, reads are served), and why.
    const degraded = await s.app.request('/healthz');
    expect(degraded.status).toBe(200);
    const health = (await degraded.json()) as { status: string; treeSize: number; sequenced: number; failing: Array<{ work: string; message: string; since: string }> };
    expect(health).toMatchObject({ status: 'degraded', treeSize: 1, sequenced: 2 });
    expect(health.failing).toHaveLength(1);
    expect(health.failing[0].work).toBe('integration');
    expect(health.failing[0].message).toMatch(/cannot write/);
    expect(Number.isNaN(Date.parse(health.failing[0].since))).toBe(false);
    expect(await (await s.app.request('/metrics')).text()).toMatch(/^pvl_background_failing\{work="integration"\} 1$/m);

    s.disk.integrationFails = false;
    await expectAllPresent(s, acked);
    await expectConsistent(s, noteBefore);
    await vi.waitFor(async () => expect(await (await s.app.request('/healthz')).json()).toMatchObject({ status: 'ok', failing: [] }));
    expect(await (await s.app.request('/metrics')).text()).toMatch(/^pvl_background_failing\{work="integration"\} 0$/m);
  });

  it('refuses a manifest upload that fills the disk midway and stores it once space returns', async () => {
    const s = await setup();
    // Over 32,768 items: the upload is written in more than one batch (src/ledger/manifests.ts).
    const m = await manifestOf(40_000, 'big');
    const before = await digest(s.store.inner);
    s.disk.writesLeft = 1;
    await expectUnavailable(await post(s, `/manifests?root=${m.root}&count=${m.count}`, m.bytes, 'application/octet-stream'));
    expect((await s.app.request(`/manifests/${m.root}`)).status).toBe(404);
    expect((await s.app.request(`/manifests/${m.root}/items/0`)).status).toBe(404);
    s.disk.writesLeft = undefined;
    s.disk.full = false;
    // Its staging could not be deleted while the disk was full; the next upload (of another
    // manifest) removes it, so the store holds exactly what that upload stored (its data key is
    // random and its U key names when it was stored: compared by role).
    const small = await manifestOf(2, 'after');
    expect((await post(s, `/manifests?root=${small.root}&count=2`, small.bytes, 'application/octet-stream')).status).toBe(201);
    const alone = await setup();
    expect((await post(alone, `/manifests?root=${small.root}&count=2`, small.bytes, 'application/octet-stream')).status).toBe(201);
    expect(await manifestKeys(s.store.inner)).toEqual(await manifestKeys(alone.store.inner));
    // A record citing it is refused (it is not stored), then the retried upload stores it whole.
    const use = sign({ type: 'training-use', v: 1, author: bob.ref, time: '2026-06-01T00:00:00Z', model: { name: 'big', version: '1' }, purpose: 'generative-training', commercial: false, manifest: { root: m.root, count: m.count } }, bob);
    expect((await postRecords(s, [use])).status).toBe(400);
    expect((await post(s, `/manifests?root=${m.root}&count=${m.count}`, m.bytes, 'application/octet-stream')).status).toBe(201);
    const last = (await (await s.app.request(`/manifests/${m.root}/items/${m.count - 1}`)).json()) as { position: number };
    expect(last.position).toBe(m.count - 1);
    expect((await postRecords(s, [use], '?wait=checkpoint')).status).toBe(201);
    expect(await digest(s.store.inner)).not.toBe(before);
  });
});

/**
 * A real write failure, without privileges: root ignores chmod, and a full disk needs a mount,
 * but RLIMIT_FSIZE (`ulimit -f`) binds root too. `pvl serve` runs with its files capped at
 * 512 KiB (SIGXFSZ ignored, so writes fail with EFBIG as on a full disk); LevelDB's write-ahead
 * log hits the cap after a few hundred records. LevelDB then refuses every later write until it
 * is reopened, so "space returns" here is a restart without the cap.
 */
describe('a real write failure (file size limit)', () => {
  const MAIN = resolve('dist/src/cli/main.js');

  async function serve(dataDir: string, limitKiB?: number): Promise<{ child: ChildProcess; url: string }> {
    const command = `${limitKiB ? `trap '' XFSZ; ulimit -f ${limitKiB}; ` : ''}exec "${process.execPath}" "${MAIN}" serve --data "${dataDir}" --port 0 --origin ${ORIGIN}`;
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((ok, fail) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) ok(m[1]);
      });
      child.once('exit', (code) => fail(new Error(`pvl serve exited ${code}: ${out}`)));
    });
    return { child, url };
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    // A server whose store failed may not exit on SIGTERM (reported); do not hang the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  it('answers 503 store-unavailable, keeps serving reads, and loses nothing acknowledged across a restart', async () => {
    const { dir, cleanup } = await tempDir('pvl-fsize-');
    cleanups.push(cleanup);
    const dataDir = join(dir, 'data');
    const key = generatePrivateKey(ORIGIN);
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'log.key'), `${formatPrivateKey(key.name, key.seed)}\n`, { mode: 0o600 });
    const keyVerifier = parseVerifierKey(verifierKeyOf(key));

    const capped = await serve(dataDir, 512);
    cleanups.push(() => stop(capped.child));
    const authors = makeAuthors(8, 'fsize');
    const acked = new Map<number, Uint8Array>();
    let refused: { status: number; code: string } | undefined;
    for (let k = 0; k < 60 && !refused; k++) {
      const entries = Array.from({ length: 100 }, (_, i) => grantEntry(authors, k * 100 + i, `fsize ${k * 100 + i}`));
      const res = await fetch(`${capped.url}/records`, { method: 'POST', body: `[${entries.map((e) => Buffer.from(e).toString()).join(',')}]`, headers: { 'Content-Type': 'application/json' } });
      const body = (await res.json()) as { code: string; results: Array<{ index: number }> };
      if (res.status === 201) body.results.forEach((r, i) => acked.set(r.index, entries[i]));
      else refused = { status: res.status, code: body.code };
    }
    expect(refused).toEqual({ status: 503, code: 'store-unavailable' });
    expect(acked.size).toBeGreaterThan(0);

    // Reads keep working: checkpoint, tiles, entries (the log keeps what it had integrated).
    const note = await (await fetch(`${capped.url}/checkpoint`)).text();
    const published = openCheckpoint(note, keyVerifier).checkpoint;
    expect((await fetch(`${capped.url}/entries/0`)).status).toBe(200);
    expect((await fetch(`${capped.url}/tile/entries/000`)).status).toBe(published.size >= 256 ? 200 : 404);
    expect((await fetch(`${capped.url}/healthz`)).status).toBe(200);
    await stop(capped.child);

    // Restarted without the cap: every acknowledged record at its index, in a checkpoint
    // consistent with the one served while the disk was failing.
    const free = await serve(dataDir);
    cleanups.push(() => stop(free.child));
    for (let i = 0; i < 400; i++) {
      const h = (await (await fetch(`${free.url}/healthz`)).json()) as { treeSize: number };
      if (h.treeSize > Math.max(...acked.keys())) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const now = openCheckpoint(await (await fetch(`${free.url}/checkpoint`)).text(), keyVerifier).checkpoint;
    expect(now.size).toBeGreaterThanOrEqual(Math.max(...acked.keys()) + 1);
    // The store's share of memory: LevelDB's buffers hold the restart's reads, the filter its first layer.
    const metrics = await (await fetch(`${free.url}/metrics`)).text();
    expect(Number(/^pvl_store_memory_bytes\{part="leveldb"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^pvl_store_memory_bytes\{part="dedup-filter"\} 2097152$/m);
    const consistency = (await (await fetch(`${free.url}/proof/consistency?from=${published.size}&to=${now.size}`)).json()) as { proof: string[] };
    verifyConsistency(nodeHasher, published.size, now.size, consistency.proof.map((p) => new Uint8Array(Buffer.from(p, 'base64'))), published.rootHash, now.rootHash);
    // Index 0 is the log's first clock record: the first acknowledged record comes after it.
    for (const index of [Math.min(...acked.keys()), Math.max(...acked.keys()), ...[...acked.keys()].filter((i) => i % 97 === 0)]) {
      const got = (await (await fetch(`${free.url}/entries/${index}`)).json()) as { entry: string };
      expect(Buffer.from(got.entry, 'base64').equals(Buffer.from(acked.get(index)!)), `entry ${index}`).toBe(true);
    }
    // And it takes writes again.
    const more = await fetch(`${free.url}/records`, { method: 'POST', body: Buffer.from(grantEntry(authors, 1e6, 'after restart')).toString(), headers: { 'Content-Type': 'application/json' } });
    expect(more.status).toBe(201);
  }, 30_000);
});
