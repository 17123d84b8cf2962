/**
 * Keys of the ledger's key-value space (store.space('ledger'), spec/storage.md "The ledger's
 * key-value space"). Every key starts with one ASCII tag byte; integers are u64 big-endian so
 * that key order is numeric order; work identifiers are ASCII and end with 0x00 so that one
 * work's keys never interleave with another's.
 */
const utf8 = new TextEncoder();
const U32 = 2 ** 32;

export const TAG = {
  indexed: 0x4e, // N
  manifest: 0x4d, // M ‖ root
  manifestItems: 0x49, // I ‖ root ‖ u64 chunk
  manifestTile: 0x54, // T ‖ root ‖ u8 level ‖ u64 index
  manifestUse: 0x52, // R ‖ root ‖ u64 useIndex
  workUse: 0x57, // W ‖ id ‖ 0x00 ‖ u64 useIndex ‖ u64 position
  /** No longer written (grants by work are the policy's `g` keys); reindex removes old ones. */
  legacyWorkConsent: 0x47, // G ‖ id ‖ 0x00 ‖ u64 grantIndex
} as const;

/** Tags of the query index proper: cleared by reindex. Manifests (M, I, T) are uploads, not derived. */
export const INDEX_TAGS = [TAG.indexed, TAG.manifestUse, TAG.workUse, TAG.legacyWorkConsent];

export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / U32));
  view.setUint32(4, value % U32);
  return out;
}

export function readU64(bytes: Uint8Array, at = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return view.getUint32(0) * U32 + view.getUint32(4);
}

export function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const indexedKey = Uint8Array.of(TAG.indexed);
export const manifestKey = (root: Uint8Array) => concat([TAG.manifest], root);
export const manifestItemsKey = (root: Uint8Array, chunk: number) => concat([TAG.manifestItems], root, u64(chunk));
export const manifestTileKey = (root: Uint8Array, level: number, index: number) => concat([TAG.manifestTile], root, [level], u64(index));
export const manifestUseKey = (root: Uint8Array, useIndex: number) => concat([TAG.manifestUse], root, u64(useIndex));
export const workUseKey = (id: string, useIndex: number, position: number) => concat([TAG.workUse], utf8.encode(id), [0], u64(useIndex), u64(position));

/** [gte, lt) covering every key that starts with `prefix`. */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const lt = prefix.slice();
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) i--;
  if (i < 0) return { gte: prefix, lt: Uint8Array.of(0xff, 0xff, 0xff, 0xff) };
  lt[i]++;
  return { gte: prefix, lt: lt.subarray(0, i + 1) };
}

/** Prefix of one work's keys under a tag (W). */
export const workPrefix = (tag: number, id: string) => concat([tag], utf8.encode(id), [0]);
