/**
 * Manifests: the byte format built by hand from the spec, roots against the RFC 6962 reference
 * and merkletreejs, per-item proofs, and rejection of truncated, extended and mismatched streams.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { CompactRange, MemoryTree, MerkleError, defaultHasher } from '../../src/merkle/index.js';
import { manifestHashPool } from '../../src/platform/manifest-hash-pool.js';
import {
  type UseItem,
  MANIFEST_HEADER_SIZE,
  MANIFEST_ITEM_SIZE,
  ManifestParser,
  checkManifest,
  decodeManifestItem,
  encodeManifestItem,
  manifestTree,
  readManifest,
  verifyManifestItem,
  writeManifest,
} from '../../src/records/index.js';
import { ManifestRoot, encodeManifestItemInto, encodeSha256ItemInto, manifestItemsRoot } from '../../src/records/manifest.js';
import { rootOfShortItems } from '../../src/records/short-input-hasher.js';
import { refLeafHash, refMth, refPath } from '../support/rfc6962-reference.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hexArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(hex);
const itemArb: fc.Arbitrary<UseItem> = fc.record({
  work: fc.tuple(hexArb(32).map((h) => `sha256:${h}`), fc.option(fc.oneof(hexArb(8).map((h) => `phash:${h}`), hexArb(8).map((h) => `tcode:${h}`)), { nil: undefined })).map(([s, p]) => (p ? [s, p] : [s]) as UseItem['work']),
  consent: fc.oneof(fc.nat().map((index) => ({ index })), fc.constant({ none: true as const })),
});

/** The item bytes written straight from spec/records.md, independently of src/records/manifest.ts. */
function specItem(item: UseItem): Uint8Array {
  const out = Buffer.alloc(49);
  const [sha, perceptual] = item.work;
  Buffer.from(sha.slice(7), 'hex').copy(out, 1);
  let flags = 0;
  if (perceptual) {
    flags |= (perceptual.startsWith('phash:') ? 1 : 2) << 1;
    Buffer.from(perceptual.split(':')[1], 'hex').copy(out, 33);
  }
  if ('index' in item.consent) {
    flags |= 1;
    out.writeBigUInt64BE(BigInt(item.consent.index), 41);
  }
  out[0] = flags;
  return new Uint8Array(out);
}

async function build(items: UseItem[]): Promise<{ bytes: Uint8Array; root: Uint8Array; count: number }> {
  const chunks: Uint8Array[] = [];
  const summary = await writeManifest(items, items.length, (c) => void chunks.push(c.slice()));
  return { bytes: new Uint8Array(Buffer.concat(chunks)), ...summary };
}

function rejects(f: () => unknown, field: string | RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    expect((e as LedgerError).field).toMatch(field);
    return;
  }
  throw new Error('accepted');
}

describe('manifest format and root', () => {
  it('header, items and root match the spec and the RFC 6962 reference and merkletreejs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 40 }), async (items) => {
        const { bytes, root, count } = await build(items);
        expect(count).toBe(items.length);
        expect(bytes.length).toBe(16 + 49 * items.length);
        const header = Buffer.from(bytes.subarray(0, 16));
        expect(header.subarray(0, 4).toString('latin1')).toBe('PVLM');
        expect([header[4], header[5], header[6], header[7]]).toEqual([1, 49, 0, 0]);
        expect(header.readBigUInt64BE(8)).toBe(BigInt(items.length));
        const itemBytes = items.map(specItem);
        expect(hex(bytes.subarray(16))).toBe(itemBytes.map(hex).join(''));
        expect(hex(root)).toBe(hex(refMth(itemBytes)));
        const mt = new MerkleTree(itemBytes.map((b) => Buffer.from(refLeafHash(b))), (x: Buffer) => createHash('sha256').update(Buffer.concat([Buffer.from([1]), x])).digest());
        expect(hex(root)).toBe(mt.getRoot().toString('hex'));
        items.forEach((it, i) => expect(decodeManifestItem(itemBytes[i])).toEqual(it));
      }),
      { numRuns: 40 },
    );
  });

  it('parses in chunks of any size to the same root; per-item proofs verify', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 100 }), fc.nat(), async (items, chunkSize, pick) => {
        const { bytes, root, count } = await build(items);
        const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) => bytes.subarray(i * chunkSize, (i + 1) * chunkSize));
        const seen: UseItem[] = [];
        const reader = readManifest(chunks, { expected: { root, count } });
        for (;;) {
          const next = await reader.next();
          if (next.done) break;
          seen.push(decodeManifestItem(next.value.bytes.slice()));
        }
        expect(seen).toEqual(items);
        const position = pick % items.length;
        const itemBytes = encodeManifestItem(items[position]);
        const proof = manifestTree(items.map((it) => encodeManifestItem(it))).inclusionProof(position);
        expect(proof.map(hex)).toEqual(refPath(position, items.map(specItem)).map(hex));
        expect(verifyManifestItem(itemBytes, position, count, proof, root)).toEqual(items[position]);
        const other = encodeManifestItem({ ...items[position], consent: { index: 1e9 + position } });
        expect(() => verifyManifestItem(other, position, count, proof, root)).toThrow(MerkleError);
      }),
      { numRuns: 30 },
    );
  });
});

describe('manifest rejections', () => {
  const items = fc.sample(itemArb, { numRuns: 10, seed: 7 });

  it('truncated, extended, wrong count or root', async () => {
    const { bytes, root, count } = await build(items);
    await expect(checkManifest([bytes.subarray(0, bytes.length - 1)])).rejects.toMatchObject({ field: 'manifest' });
    await expect(checkManifest([bytes.subarray(0, 10)])).rejects.toMatchObject({ field: 'manifest' });
    await expect(checkManifest([bytes, new Uint8Array(49)])).rejects.toMatchObject({ field: 'manifest' });
    await expect(checkManifest([bytes, new Uint8Array(1)])).rejects.toMatchObject({ field: 'manifest' });
    await expect(checkManifest([bytes], { root, count: count + 1 })).rejects.toMatchObject({ code: 'count-mismatch', field: 'count' });
    const wrongRoot = root.slice();
    wrongRoot[0] ^= 1;
    await expect(checkManifest([bytes], { root: wrongRoot, count })).rejects.toMatchObject({ code: 'root-mismatch', field: 'root' });
    expect((await checkManifest([bytes], { root, count })).count).toBe(count);
  });

  it('bad headers and non-canonical items name what is wrong', () => {
    const item = encodeManifestItem(items[0]);
    const header = (mutate: (h: Uint8Array) => void) => {
      const h = new Uint8Array(16);
      h.set([0x50, 0x56, 0x4c, 0x4d, 1, 49]);
      h[15] = 1;
      mutate(h);
      return h;
    };
    for (const mutate of [(h: Uint8Array) => (h[0] = 0), (h: Uint8Array) => (h[4] = 2), (h: Uint8Array) => (h[5] = 64), (h: Uint8Array) => (h[6] = 1), (h: Uint8Array) => (h[15] = 0)]) {
      rejects(() => new ManifestParser().push(header(mutate)), 'manifest.header');
    }
    for (const mutate of [(b: Uint8Array) => (b[0] |= 0x08), (b: Uint8Array) => (b[0] |= 0x06), (b: Uint8Array) => { b[0] &= ~0x06; b[40] = 1; }, (b: Uint8Array) => { b[0] &= ~0x01; b[48] = 1; }]) {
      const bad = item.slice();
      mutate(bad);
      rejects(() => new ManifestParser().push(new Uint8Array([...header(() => {}), ...bad])), 'manifest.items[0]');
      rejects(() => decodeManifestItem(bad), 'item');
    }
    expect(MANIFEST_HEADER_SIZE + MANIFEST_ITEM_SIZE).toBe(65);
  });

  it('items a manifest cannot hold are refused when building', async () => {
    const sha = items[0].work[0];
    await expect(writeManifest([{ work: [sha, `pdq:${'0'.repeat(64)}`], consent: { none: true } }], 1, () => {})).rejects.toMatchObject({ field: 'items[0].work[1]' });
    await expect(writeManifest([{ work: [sha], consent: { leafHash: '0'.repeat(64) } }], 1, () => {})).rejects.toMatchObject({ field: 'items[0].consent' });
    await expect(writeManifest(items, items.length + 1, () => {})).rejects.toMatchObject({ code: 'count-mismatch' });
    await expect(writeManifest([...items, items[0]], items.length, () => {})).rejects.toMatchObject({ code: 'count-mismatch' });
  });
});

describe('batched and parallel roots', () => {
  /** The sizes around tree and batch edges the issue asks for, and a few thousand. */
  const SIZES = [1, 2, 3, 255, 256, 257, 1023, 1024, 1025, 3000, 4097];
  const someItems = (n: number, seed: number) => fc.sample(itemArb, { numRuns: n, seed });
  const packed = (items: Uint8Array[]) => new Uint8Array(Buffer.concat(items));

  it('rootOfShortItems equals leaf-by-leaf hashing into a CompactRange', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 1, max: 118 }), fc.nat(), (n, size, seed) => {
        const bytes = new Uint8Array(n * size).map((_, i) => (i * 31 + seed) & 0xff);
        const range = new CompactRange(defaultHasher);
        const leaves: Uint8Array[] = [];
        for (let i = 0; i < n; i++) leaves.push(defaultHasher.hashLeaf(bytes.subarray(i * size, (i + 1) * size)));
        leaves.forEach((leaf) => range.push(leaf));
        expect(hex(rootOfShortItems(bytes, size))).toBe(hex(range.root()));
        // With an output for the leaf hashes: the same root, and the leaves in order (a level-0 tile).
        const tile = new Uint8Array(n * 32);
        expect(hex(rootOfShortItems(bytes, size, tile))).toBe(hex(range.root()));
        expect(hex(tile)).toBe(hex(packed(leaves)));
      }),
      { numRuns: 60 },
    );
  });

  it('ManifestRoot over any chunking and batch size equals the RFC 6962 reference', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SIZES.filter((n) => n <= 1025)), fc.constantFrom(1, 2, 8, 256), fc.integer({ min: 1, max: 700 }), fc.nat(), async (n, batchItems, chunkItems, seed) => {
        const itemBytes = someItems(n, seed).map(specItem);
        const root = new ManifestRoot({ batchItems, inFlight: 2 });
        const all = packed(itemBytes);
        for (let at = 0; at < n; at += chunkItems) await root.add(all.subarray(at * 49, Math.min(n, at + chunkItems) * 49));
        const summary = await root.finish();
        expect(summary.count).toBe(n);
        expect(hex(summary.root)).toBe(hex(refMth(itemBytes)));
      }),
      { numRuns: 25 },
    );
  });

  it('writeManifest hashing in worker threads: the same bytes, root and per-item proofs as in this thread', async () => {
    const pool = manifestHashPool(2);
    try {
      for (const [k, n] of SIZES.entries()) {
        const items = someItems(n, 100 + k);
        const chunks: Uint8Array[] = [];
        const inThread = await writeManifest(items, n, (c) => void chunks.push(c.slice()));
        const parallelChunks: Uint8Array[] = [];
        // Small batches too, so a few thousand items cross many batch (subtree) boundaries.
        for (const batchItems of [undefined, 64]) {
          parallelChunks.length = 0;
          const parallel = await writeManifest(items, n, (c) => void parallelChunks.push(c.slice()), { batchHasher: pool, batchItems });
          expect(hex(parallel.root)).toBe(hex(inThread.root));
          expect(parallel.count).toBe(n);
          expect(hex(packed(parallelChunks))).toBe(hex(packed(chunks)));
        }
        const bytes = packed(chunks).subarray(MANIFEST_HEADER_SIZE);
        const itemBytes = Array.from({ length: n }, (_, i) => bytes.slice(i * 49, (i + 1) * 49));
        if (n <= 1025) expect(hex(inThread.root)).toBe(hex(refMth(itemBytes)));
        // Proofs from src/merkle's in-memory tree (the log's code) check out against the parallel root.
        const tree = new MemoryTree(defaultHasher);
        for (const b of itemBytes) tree.append(refLeafHash(b));
        expect(hex(tree.root())).toBe(hex(inThread.root));
        for (const i of new Set([0, n - 1, Math.floor(n / 2), (k * 7919) % n])) {
          expect(verifyManifestItem(itemBytes[i], i, n, tree.inclusionProof(i), inThread.root)).toEqual(items[i]);
          if (n <= 257) expect(tree.inclusionProof(i).map(hex)).toEqual(refPath(i, itemBytes).map(hex));
        }
      }
      // Straight through the pool as well: one call, one root.
      const itemBytes = someItems(777, 5).map(specItem);
      expect(hex(await pool.rootOfItems(packed(itemBytes)))).toBe(hex(refMth(itemBytes)));
    } finally {
      await pool.close();
    }
  });

  it('the parser roots across its internal batches', async () => {
    for (const n of [1023, 1024, 1025, 2049, 3000]) {
      const items = someItems(n, n);
      const { bytes, root } = await build(items);
      expect(hex(root)).toBe(hex(manifestItemsRoot(bytes.subarray(MANIFEST_HEADER_SIZE), defaultHasher)));
      const parser = new ManifestParser();
      for (let at = 0; at < bytes.length; at += 4999) parser.push(bytes.subarray(at, at + 4999));
      expect(hex(parser.end().root)).toBe(hex(root));
      expect(parser.parsed).toBe(n);
    }
  });

  it('encodeSha256ItemInto writes what encodeManifestItemInto writes, or refuses', () => {
    fc.assert(
      fc.property(hexArb(32), fc.option(fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1)), { nil: undefined }), (digest, index) => {
        const item: UseItem = { work: [`sha256:${digest}`], consent: index === undefined ? { none: true } : { index } };
        const want = new Uint8Array(60).fill(0xee);
        encodeManifestItemInto(item, want, 5);
        const got = new Uint8Array(60).fill(0xee);
        const text = new TextEncoder().encode(`x${digest}y`);
        expect(encodeSha256ItemInto(text, 1, index, got, 5)).toBe(true);
        expect(hex(got)).toBe(hex(want));
        expect(encodeSha256ItemInto(new TextEncoder().encode(`x${digest.toUpperCase().replace(/^[0-9]/, 'A')}`), 1, index, got, 5)).toBe(false);
      }),
    );
    const digits = new TextEncoder().encode('0'.repeat(64));
    expect(encodeSha256ItemInto(digits, 1, undefined, new Uint8Array(49), 0)).toBe(false); // runs past the end
    expect(encodeSha256ItemInto(digits, 0, 2 ** 53, new Uint8Array(49), 0)).toBe(false);
    expect(encodeSha256ItemInto(digits, 0, -1, new Uint8Array(49), 0)).toBe(false);
  });

  it('a closed pool refuses work instead of hanging', async () => {
    const pool = manifestHashPool(1);
    await pool.close();
    await expect(pool.rootOfItems(new Uint8Array(49))).rejects.toThrow();
  });
});
