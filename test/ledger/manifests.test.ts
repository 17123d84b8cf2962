/**
 * Manifest uploads through the ledger: stored only when root and count match; per-item proofs
 * checked with the records module's verifier (RFC 6962 under manifestHasher) against the root
 * computed by writeManifest, across tile boundaries (256 and 65,536 items).
 */
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { type UseItem, fromBase64, toHex, verifyManifestItem, writeManifest } from '../../src/records/index.js';
import { item, sha256Id } from '../records/fixtures.js';
import { manifestHashPool } from '../../src/platform/manifest-hash-pool.js';
import { chunked, freshDir, openTestLedger, openTestLedgerAndStore } from './support.js';

function itemsOf(count: number): UseItem[] {
  return Array.from({ length: count }, (_, i) => item(sha256Id(`work ${i}`), i % 3 === 0 ? { index: i } : { none: true }));
}

async function manifestBytes(items: UseItem[]): Promise<{ bytes: Uint8Array; root: string; count: number }> {
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
  return { bytes: Buffer.concat(parts), root: toHex(summary.root), count: summary.count };
}

async function expectRejected(p: Promise<unknown>, code: string, field: string): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LedgerError);
  expect((err as LedgerError).code).toBe(code);
  expect((err as LedgerError).field).toBe(field);
}

describe('manifest uploads', () => {
  it('stores a matching upload once and proves every sampled item', async () => {
    const ledger = await openTestLedger(await freshDir());
    const items = itemsOf(1000);
    const m = await manifestBytes(items);
    const first = await ledger.putManifest(chunked(m.bytes, 777), { root: m.root, count: m.count });
    // Unclaimed: it expires a day after it was stored (the default).
    expect(first).toEqual({ root: m.root, count: 1000, created: true, expires: expect.any(String) });
    expect(Date.parse(first.expires!) - Date.now()).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(await ledger.putManifest(chunked(m.bytes, 4096), { root: m.root, count: m.count })).toEqual({ ...first, created: false });
    expect(await ledger.getManifest(m.root)).toEqual({ root: m.root, count: 1000, useIndexes: [], expires: first.expires });
    for (const position of [0, 1, 255, 256, 511, 512, 767, 768, 999]) {
      const p = (await ledger.manifestItem(m.root, position))!;
      expect(p.position).toBe(position);
      const decoded = verifyManifestItem(fromBase64(p.item)!, position, p.count, p.proof.map((h) => fromBase64(h)!), Buffer.from(m.root, 'hex'));
      expect(decoded).toEqual(items[position]);
      expect(p.decoded).toEqual(items[position]);
    }
    expect(await ledger.manifestItem(m.root, 1000)).toBeUndefined();
    expect(await ledger.manifestItem(m.root, -1)).toBeUndefined();
  });

  it('proves every item of manifests that end at, before and after a 256-item chunk edge', async () => {
    const ledger = await openTestLedger(await freshDir());
    for (const count of [1, 2, 100, 255, 256, 257, 512, 513]) {
      const items = itemsOf(count).map((it, i) => ({ ...it, work: [sha256Id(`edge ${count} ${i}`)] }));
      const m = await manifestBytes(items);
      expect((await ledger.putManifest(chunked(m.bytes, 1000), { root: m.root, count })).created).toBe(true);
      for (let position = 0; position < count; position++) {
        const p = (await ledger.manifestItem(m.root, position))!;
        const decoded = verifyManifestItem(fromBase64(p.item)!, position, count, p.proof.map((h) => fromBase64(h)!), Buffer.from(m.root, 'hex'));
        expect(decoded).toEqual(items[position]);
      }
    }
  });

  it('hashing in worker threads stores the same keys, byte for byte, as hashing in this thread', async () => {
    // 70,001 items: two full hashing batches of 32,768, a short one, and a partial last chunk.
    const m = await manifestBytes(itemsOf(70_001));
    const pool = manifestHashPool(2);
    try {
      const stores = [];
      for (const opts of [{}, { hashManifestSubtrees: (items: Uint8Array, n: number) => pool.subtreeRoots(items, n) }]) {
        const { ledger, store } = await openTestLedgerAndStore(await freshDir(), opts);
        expect((await ledger.putManifest(chunked(m.bytes, 10_000), { root: m.root, count: m.count })).created).toBe(true);
        const keys: string[] = [];
        // The manifest's keys (spec/storage.md), with its data key (random per upload) named by its role.
        let dataKey = '';
        for await (const [key, value] of store.space('ledger').range({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) {
          if (key[0] === 0x4d) dataKey = toHex(value.subarray(8, 40));
          if ('IMT'.includes(String.fromCharCode(key[0]))) keys.push(`${toHex(key)}=${toHex(value)}`);
        }
        expect(dataKey).toMatch(/^[0-9a-f]{64}$/);
        stores.push(keys.map((k) => k.replaceAll(dataKey, '<data key>')));
      }
      expect(stores[1].length).toBeGreaterThan(275); // M, 274 item chunks, level-1 and level-2 tiles
      expect(stores[1]).toEqual(stores[0]);
      // A wrong root is refused with workers as well, leaving nothing behind.
      const { ledger } = await openTestLedgerAndStore(await freshDir(), { hashManifestSubtrees: (items, n) => pool.subtreeRoots(items, n) });
      await expectRejected(ledger.putManifest(chunked(m.bytes, 10_000), { root: '00'.repeat(32), count: m.count }), 'root-mismatch', 'root');
    } finally {
      await pool.close();
    }
  });

  it('proves items across a level-2 tile boundary (70,000 items)', async () => {
    const ledger = await openTestLedger(await freshDir());
    const items = itemsOf(70_000);
    const m = await manifestBytes(items);
    await ledger.putManifest(chunked(m.bytes, 65_536), { root: m.root, count: m.count });
    for (const position of [0, 65_535, 65_536, 65_537, 69_999]) {
      const p = (await ledger.manifestItem(m.root, position))!;
      const decoded = verifyManifestItem(fromBase64(p.item)!, position, m.count, p.proof.map((h) => fromBase64(h)!), Buffer.from(m.root, 'hex'));
      expect(decoded).toEqual(items[position]);
    }
  });

  it('stores nothing for a root mismatch, a count mismatch, a truncated or an overlong upload', async () => {
    const { ledger, store } = await openTestLedgerAndStore(await freshDir());
    const storedKeys = async () => {
      let n = 0;
      for await (const _ of store.space('ledger').range({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) n++;
      return n;
    };
    const before = await storedKeys();
    const m = await manifestBytes(itemsOf(600));
    const other = await manifestBytes(itemsOf(601).slice(1));
    await expectRejected(ledger.putManifest(chunked(other.bytes, 1000), { root: m.root, count: 600 }), 'root-mismatch', 'root');
    await expectRejected(ledger.putManifest(chunked(m.bytes, 1000), { root: m.root, count: 599 }), 'count-mismatch', 'count');
    await expectRejected(ledger.putManifest(chunked(m.bytes.subarray(0, m.bytes.length - 10), 1000), { root: m.root, count: 600 }), 'bad-manifest', 'manifest');
    await expectRejected(ledger.putManifest(chunked(Buffer.concat([m.bytes, new Uint8Array(49)]), 1000), { root: m.root, count: 600 }), 'bad-manifest', 'manifest');
    await expectRejected(ledger.putManifest(chunked(m.bytes, 1000), { root: 'nothex', count: 600 }), 'bad-field', 'root');
    expect(await ledger.getManifest(m.root)).toBeUndefined();
    // Big enough that item chunks and tiles were written before the root turned out wrong.
    const big = await manifestBytes(itemsOf(40_000));
    await expectRejected(ledger.putManifest(chunked(big.bytes, 65_536), { root: m.root, count: 40_000 }), 'root-mismatch', 'root');
    expect(await ledger.manifestItem(m.root, 0)).toBeUndefined();
    expect(await storedKeys()).toBe(before);
    // After the failures, the right upload still goes in.
    expect((await ledger.putManifest(chunked(m.bytes, 1000), { root: m.root, count: 600 })).created).toBe(true);
    // M, three item chunks and the level-1 tile (two chunk roots; level-0 tiles come from the
    // chunks), and U: it is unclaimed. Nothing of the failed uploads' staging is left.
    expect(await storedKeys()).toBe(before + 1 + 3 + 1 + 1);
  });
});
