/**
 * Unclaimed manifests (spec/api.md "Unclaimed manifests", spec/storage.md "Manifests"): a
 * manifest no training use claims is removed once its claim is late, with everything it stored;
 * a claimed one never is, also when the claim is being appended while the sweep runs; quotas of
 * unclaimed bytes per client and for the server, kept across restarts; and an upload that
 * trickles in does not hold up another upload of the same root.
 *
 * Real ledgers on LevelDB in temp dirs; the clock is injected (LedgerOptions.now). The one
 * wrapper (GatedStore) holds the real store's appends back, to catch a sweep in the moment a use
 * is admitted but not yet durable.
 */
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { ManifestQuotaError } from '../../src/ledger/errors.js';
import { manifestCharge } from '../../src/ledger/manifests.js';
import { type LedgerOptions, openLedger } from '../../src/ledger/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import type { Hash } from '../../src/merkle/index.js';
import { type UseItem, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { type KeyValueSpace, type LogStore, type StoredTile, LevelLogStore } from '../../src/store/index.js';
import { builder1, item, sha256Id, use, verify } from '../records/fixtures.js';
import { ORIGIN, chunked, freshDir, logKey, openTestLedgerAndStore, settled } from './support.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 24 * 3600_000;

/** A clock the test moves. */
function clock(start = T0) {
  const c = { at: start, now: () => c.at };
  return c;
}

async function manifestOf(label: string, count = 300): Promise<{ bytes: Uint8Array; root: string; count: number }> {
  const items: UseItem[] = Array.from({ length: count }, (_, i) => item(sha256Id(`${label} ${i}`), { none: true }));
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, count, (c) => void parts.push(c.slice()));
  return { bytes: Buffer.concat(parts), root: toHex(summary.root), count };
}

type Manifest = Awaited<ReturnType<typeof manifestOf>>;

const useOf = (m: Manifest, model = 'm@1') => signRecord(use(builder1, model, [], { items: undefined, manifest: { root: m.root, count: m.count } }), builder1.signer, { verify });

/** Every key of the ledger's space, in hex, by tag letter (spec/storage.md). */
async function ledgerKeys(store: LogStore): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for await (const [key] of store.space('ledger').range({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) {
    (out[String.fromCharCode(key[0])] ??= []).push(toHex(key));
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<LedgerError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LedgerError);
  return e as LedgerError;
}

/** The real store, with appends held at a gate the test opens (or fails). */
class GatedStore implements LogStore {
  private gate: { wait: Promise<void>; open: () => void; fail: (e: Error) => void } | undefined;
  /** Resolves once an append has reached the gate. */
  reached!: Promise<void>;
  private onReach!: () => void;

  constructor(readonly inner: LevelLogStore) {}

  close_gate(): void {
    let open!: () => void;
    let fail!: (e: Error) => void;
    const wait = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
    wait.catch(() => undefined);
    this.gate = { wait, open, fail };
    this.reached = new Promise((r) => (this.onReach = r));
  }
  open_gate(): void {
    const g = this.gate;
    this.gate = undefined;
    g?.open();
  }
  fail_gate(e: Error): void {
    const g = this.gate;
    this.gate = undefined;
    g?.fail(e);
  }
  sequencedSize() {
    return this.inner.sequencedSize();
  }
  async appendEntries(first: number, entries: Uint8Array[], leafHashes: Hash[], candidates: number[][]) {
    if (this.gate) {
      this.onReach();
      await this.gate.wait;
    }
    return this.inner.appendEntries(first, entries, leafHashes, candidates);
  }
  readEntries(first: number, count: number) {
    return this.inner.readEntries(first, count);
  }
  findLeafHashes(hashes: Hash[]) {
    return this.inner.findLeafHashes(hashes);
  }
  writeIntegration(tiles: StoredTile[], checkpoint: Uint8Array) {
    return this.inner.writeIntegration(tiles, checkpoint);
  }
  readTiles(coords: Array<{ level: number; index: number }>) {
    return this.inner.readTiles(coords);
  }
  readCheckpoint() {
    return this.inner.readCheckpoint();
  }
  space(name: string): KeyValueSpace {
    return this.inner.space(name);
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

type SweepingLedger = Awaited<ReturnType<typeof openTestLedgerAndStore>>['ledger'] & { sweepManifests(): Promise<void> };

async function open(dir: string, opts: Partial<LedgerOptions>) {
  const { ledger, store } = await openTestLedgerAndStore(dir, opts);
  return { ledger: ledger as SweepingLedger, store };
}

const put = (ledger: SweepingLedger, m: Manifest, client?: string) => ledger.putManifest(chunked(m.bytes, 4096), { root: m.root, count: m.count }, client);

describe('unclaimed manifests expire', () => {
  it('removes an unclaimed manifest once its claim is late, with everything it stored, and frees its quota', async () => {
    const t = clock();
    const m = await manifestOf('expire', 70_000); // item chunks and tiles of two levels
    const { ledger, store } = await open(await freshDir(), { now: t.now, manifests: { claimWithinMs: DAY, clientQuotaBytes: manifestCharge(m.count) } });
    const before = await ledgerKeys(store);

    const stored = await put(ledger, m, 'client-a');
    expect(stored).toEqual({ root: m.root, count: m.count, created: true, expires: new Date(T0 + DAY).toISOString() });
    expect((await ledger.getManifest(m.root))?.expires).toBe(new Date(T0 + DAY).toISOString());
    expect(Object.keys(await ledgerKeys(store)).sort()).toEqual([...Object.keys(before), 'I', 'M', 'T', 'U'].sort());
    // The quota holds exactly this one.
    const other = await manifestOf('expire other');
    expect((await rejection(put(ledger, other, 'client-a'))).code).toBe('unclaimed-quota');

    // Not yet due: a sweep a millisecond before the deadline keeps it.
    t.at = T0 + DAY - 1;
    await ledger.sweepManifests();
    expect(await ledger.getManifest(m.root)).toBeDefined();

    t.at = T0 + DAY;
    await ledger.sweepManifests();
    expect(await ledger.getManifest(m.root)).toBeUndefined();
    expect(await ledger.manifestItem(m.root, 0)).toBeUndefined();
    expect(await ledger.manifestBytes(m.root)).toBeUndefined();
    // Everything it stored is gone: items, tiles, M, U; no deletion mark is left either.
    expect(await ledgerKeys(store)).toEqual(before);
    // A use naming it now is refused; the quota is free again.
    expect((await rejection(ledger.submit([useOf(m)]))).code).toBe('manifest-missing');
    expect((await put(ledger, other, 'client-a')).created).toBe(true);
    // It can be uploaded again, and is then a new unclaimed manifest with a new deadline.
    t.at = T0 + DAY + 5;
    expect(await put(ledger, m, 'client-b')).toEqual({ root: m.root, count: m.count, created: true, expires: new Date(T0 + 2 * DAY + 5).toISOString() });
  });

  it('never removes a claimed manifest; the claim frees its quota and survives restarts', async () => {
    const t = clock();
    const dir = await freshDir();
    const m = await manifestOf('claimed');
    const limits = { claimWithinMs: 1000, clientQuotaBytes: manifestCharge(m.count) };
    const first = await open(dir, { now: t.now, manifests: limits });
    await put(first.ledger, m, 'a');
    const [u] = await first.ledger.submit([useOf(m)]);
    await settled(first.ledger, u.index);
    expect((await first.ledger.getManifest(m.root))?.expires).toBeNull();
    // Claimed: it no longer counts against a's quota.
    const next = await manifestOf('claimed next');
    expect((await put(first.ledger, next, 'a')).created).toBe(true);
    t.at = T0 + 100 * DAY;
    await first.ledger.sweepManifests();
    expect(await first.ledger.getManifest(m.root)).toMatchObject({ root: m.root, useIndexes: [u.index], expires: null });
    expect(await first.ledger.getManifest(next.root)).toBeUndefined();
    await first.ledger.close();

    const second = await open(dir, { now: t.now, manifests: limits });
    await second.ledger.sweepManifests();
    expect(await second.ledger.getManifest(m.root)).toMatchObject({ expires: null });
    expect((await second.ledger.manifestItem(m.root, 299))?.position).toBe(299);
  });

  it('keeps working when the record came first: a manifest a use in the log names is stored claimed', async () => {
    const t = clock();
    const m = await manifestOf('record first');
    const { ledger, store } = await open(await freshDir(), { now: t.now, manifests: { claimWithinMs: 1000, clientQuotaBytes: manifestCharge(m.count) } });
    // Today a use is admitted only once its manifest is stored ...
    expect((await rejection(ledger.submit([useOf(m)]))).code).toBe('manifest-missing');
    await put(ledger, m, 'a');
    const [u] = await ledger.submit([useOf(m)]);
    await settled(ledger, u.index);
    // ... but the log may name a manifest the store lost (a store restored without its uploads).
    const space = store.space('ledger');
    const lost = (await ledgerKeys(store)).M!.map((k) => Uint8Array.from(Buffer.from(k, 'hex')));
    await space.write(lost.map((key) => ({ key, value: null })));
    expect(await ledger.getManifest(m.root)).toBeUndefined();
    // Uploaded again it is claimed at once: no deadline, and no quota (a's is full with another).
    await put(ledger, await manifestOf('record first other'), 'a');
    const again = await put(ledger, m, 'b');
    expect(again).toMatchObject({ created: true, expires: null });
    t.at = T0 + DAY;
    await ledger.sweepManifests();
    expect((await ledger.getManifest(m.root))?.useIndexes).toEqual([u.index]);
  });

  it('is safe at the edge: a use being appended while the sweep runs keeps its manifest; one whose append fails does not', async () => {
    const t = clock();
    const dir = await freshDir();
    const gated = new GatedStore(await LevelLogStore.open(dir));
    const ledger = (await openLedger({ store: gated, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, now: t.now, manifests: { claimWithinMs: 1000 } })) as SweepingLedger;
    try {
      const kept = await manifestOf('edge kept');
      const lost = await manifestOf('edge lost');
      await put(ledger, kept);
      await put(ledger, lost);
      t.at = T0 + 1000; // both due

      // The use of `kept` is admitted (its manifest was there) and its append is under way.
      gated.close_gate();
      const submitted = ledger.submit([useOf(kept)]);
      await gated.reached;
      await ledger.sweepManifests();
      // `kept` stays: a use naming it is admitted, though not yet durable. `lost` was due and unclaimed.
      expect(await ledger.getManifest(kept.root)).toBeDefined();
      expect(await ledger.getManifest(lost.root)).toBeUndefined();
      gated.open_gate();
      const [u] = await submitted;
      await ledger.waitForCheckpoint(u.index);
      t.at = T0 + 10 * DAY;
      await ledger.sweepManifests();
      expect(await ledger.getManifest(kept.root)).toMatchObject({ expires: null });

      // A use whose append fails claims nothing: its manifest is removed when due.
      const failed = await manifestOf('edge failed');
      await put(ledger, failed);
      t.at += 1000;
      gated.close_gate();
      const refused = ledger.submit([useOf(failed, 'm@2')]);
      await gated.reached;
      await ledger.sweepManifests();
      expect(await ledger.getManifest(failed.root)).toBeDefined();
      gated.fail_gate(new Error('the disk is gone'));
      await expect(refused).rejects.toThrow(/the disk is gone/);
      await ledger.sweepManifests();
      expect(await ledger.getManifest(failed.root)).toBeUndefined();
      // And a use arriving after the removal is refused: there is no manifest for it to claim.
      expect((await rejection(ledger.submit([useOf(failed, 'm@2')]))).code).toBe('manifest-missing');
    } finally {
      gated.open_gate();
      await ledger.close();
    }
  });

  it('sweeps on a timer and on start-up', async () => {
    const t = clock();
    const dir = await freshDir();
    const m = await manifestOf('timer');
    const first = await open(dir, { now: t.now, manifests: { claimWithinMs: 1000, sweepIntervalMs: 20 } });
    await put(first.ledger, m);
    t.at = T0 + 1000;
    await expect.poll(() => first.ledger.getManifest(m.root), { timeout: 5000 }).toBeUndefined();
    const n = await manifestOf('start-up');
    await put(first.ledger, n);
    await first.ledger.close();
    t.at += 1000;
    // The timer ticks once a day here: only the sweep on start-up can remove it.
    const second = await open(dir, { now: t.now, manifests: { claimWithinMs: 1000, sweepIntervalMs: DAY } });
    await expect.poll(() => second.ledger.getManifest(n.root), { timeout: 5000 }).toBeUndefined();
  });
});

describe('quotas of unclaimed bytes', () => {
  it('refuses a client past its quota (429) and the server past its quota (507), with when to retry; other clients and claims go on', async () => {
    const t = clock();
    const ms = await Promise.all(['q1', 'q2', 'q3', 'q4', 'q5'].map((l) => manifestOf(l)));
    const charge = manifestCharge(300);
    expect(charge).toBe(64 * 1024); // small manifests count for the minimum
    const { ledger } = await open(await freshDir(), { now: t.now, manifests: { claimWithinMs: DAY, clientQuotaBytes: 2 * charge, serverQuotaBytes: 3 * charge } });
    await put(ledger, ms[0], 'a');
    t.at += 60_000;
    await put(ledger, ms[1], 'a');
    const full = await rejection(put(ledger, ms[2], 'a'));
    expect(full).toBeInstanceOf(ManifestQuotaError);
    expect(full).toMatchObject({ code: 'unclaimed-quota', status: 429, retryAfterSeconds: (DAY - 60_000) / 1000 });
    expect(full.message).toMatch(/client a holds 131072 bytes .* per-client quota of 131072 bytes/);
    // Another client has its own quota, up to the server's.
    await put(ledger, ms[2], 'b');
    const server = await rejection(put(ledger, ms[3], 'c'));
    expect(server).toMatchObject({ code: 'unclaimed-capacity', status: 507, retryAfterSeconds: (DAY - 60_000) / 1000 });
    // A manifest already stored is not counted again.
    expect((await put(ledger, ms[0], 'a')).created).toBe(false);
    // A claim frees what the manifest held.
    const [u] = await ledger.submit([useOf(ms[0])]);
    await settled(ledger, u.index);
    expect((await put(ledger, ms[3], 'a')).created).toBe(true);
    // A manifest larger than a whole quota could never be stored: 413, without reading it.
    let read = false;
    const huge = ledger.putManifest(
      (async function* () {
        read = true;
        yield new Uint8Array(16);
      })(),
      { root: ms[4].root, count: 3 * 1024 },
      'd',
    );
    expect(await rejection(huge)).toMatchObject({ code: 'manifest-too-large', status: 413, field: 'count' });
    expect(read).toBe(false);
  });

  it('counts uploads in progress, and frees what a failed upload reserved', async () => {
    const m = await manifestOf('reserve');
    const bad = await manifestOf('reserve bad');
    const { ledger } = await open(await freshDir(), { manifests: { clientQuotaBytes: manifestCharge(m.count) } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = ledger.putManifest(
      (async function* () {
        yield m.bytes.subarray(0, 100);
        await held;
        yield m.bytes.subarray(100);
      })(),
      { root: m.root, count: m.count },
      'a',
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(await rejection(put(ledger, bad, 'a'))).toMatchObject({ code: 'unclaimed-quota', retryAfterSeconds: 60 });
    release();
    expect((await slow).created).toBe(true);
    const { ledger: second } = await open(await freshDir(), { manifests: { clientQuotaBytes: manifestCharge(m.count) } });
    expect((await rejection(second.putManifest(chunked(bad.bytes, 1000), { root: m.root, count: m.count }, 'a'))).code).toBe('root-mismatch');
    expect((await put(second, m, 'a')).created).toBe(true);
  });

  it('keeps the accounting across a restart', async () => {
    const t = clock();
    const dir = await freshDir();
    const [m1, m2, m3] = await Promise.all(['r1', 'r2', 'r3'].map((l) => manifestOf(l)));
    const limits = { claimWithinMs: DAY, clientQuotaBytes: 2 * manifestCharge(300) };
    const first = await open(dir, { now: t.now, manifests: limits });
    await put(first.ledger, m1, 'a');
    t.at += 1000;
    await put(first.ledger, m2, 'a');
    await first.ledger.close();

    t.at += 1000;
    const second = await open(dir, { now: t.now, manifests: limits });
    expect(await rejection(put(second.ledger, m3, 'a'))).toMatchObject({ code: 'unclaimed-quota', retryAfterSeconds: (DAY - 2000) / 1000 });
    expect((await second.ledger.getManifest(m1.root))?.expires).toBe(new Date(T0 + DAY).toISOString());
    expect((await put(second.ledger, m3, 'b')).created).toBe(true);
    await second.ledger.close();

    // Past m1's deadline only: the sweep on start-up removes it and a has room for one.
    t.at = T0 + DAY;
    const third = await open(dir, { now: t.now, manifests: limits });
    await third.ledger.sweepManifests();
    expect(await third.ledger.getManifest(m1.root)).toBeUndefined();
    expect(await third.ledger.getManifest(m2.root)).toBeDefined();
    expect((await put(third.ledger, m1, 'a')).created).toBe(true);
    expect((await rejection(put(third.ledger, (await manifestOf('r4')), 'a'))).code).toBe('unclaimed-quota');
  });
});

describe('an upload takes the root lock only once its bytes are verified', () => {
  it('lets an honest upload of a root commit while another upload of it trickles; the trickler then answers "already stored"', async () => {
    const m = await manifestOf('trickle', 40_000); // more than one write of items
    const { ledger, store } = await open(await freshDir(), {});
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let sent = 0;
    const trickler = ledger.putManifest(
      (async function* () {
        // Past the first write of items, then silence.
        for (; sent < m.bytes.length / 2; sent += 65_536) yield m.bytes.subarray(sent, sent + 65_536);
        await held;
        for (; sent < m.bytes.length; sent += 65_536) yield m.bytes.subarray(sent, sent + 65_536);
      })(),
      { root: m.root, count: m.count },
      'slow',
    );
    while (sent < m.bytes.length / 2) await new Promise((r) => setTimeout(r, 5));
    const honest = put(ledger, m, 'honest');
    const timeout = new Promise((r) => setTimeout(() => r('waited'), 5000));
    expect(await Promise.race([honest, timeout])).toMatchObject({ created: true });
    expect((await ledger.manifestItem(m.root, 39_999))?.position).toBe(39_999);
    release();
    expect(await trickler).toMatchObject({ created: false });
    // The trickler's copy is gone: one upload's items and tiles are left, and no staging.
    const keys = await ledgerKeys(store);
    expect(keys.S).toBeUndefined();
    expect(keys.D).toBeUndefined();
    expect(keys.I).toHaveLength(Math.ceil(40_000 / 256));
  });

  it('a trickling upload with wrong bytes neither delays nor spoils the honest one', async () => {
    const m = await manifestOf('spoil', 40_000);
    const { ledger, store } = await open(await freshDir(), {});
    const wrong = Uint8Array.from(m.bytes);
    wrong[16 + 49 * 39_999 + 3] ^= 1; // a digest byte of the last item: still a valid item, another root
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const spoiler = ledger.putManifest(
      (async function* () {
        yield wrong.subarray(0, wrong.length - 100);
        await held;
        yield wrong.subarray(wrong.length - 100);
      })(),
      { root: m.root, count: m.count },
      'spoiler',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect((await put(ledger, m, 'honest')).created).toBe(true);
    release();
    expect((await rejection(spoiler)).code).toBe('root-mismatch');
    for (const position of [0, 39_999]) expect((await ledger.manifestItem(m.root, position))?.position).toBe(position);
    expect((await ledgerKeys(store)).I).toHaveLength(Math.ceil(40_000 / 256));
  });
});
