/**
 * Manifests: the byte format built by hand from the spec, roots against the RFC 6962 reference
 * and merkletreejs, per-item proofs, and rejection of truncated, extended and mismatched streams.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { MerkleError } from '../../src/merkle/index.js';
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
