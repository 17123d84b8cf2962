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
  /** A training use in the log names this manifest root: it is never removed. */
  manifestClaimed: 0x43, // C ‖ root
  /** An unclaimed manifest, in the order it was stored: removed when its claim is late. */
  manifestUnclaimed: 0x55, // U ‖ u64 storedAt ‖ root
  /** An upload receiving its items: removed on open if the process stopped before it ended. */
  manifestStaging: 0x53, // S ‖ data key
  /** Items and tiles no manifest refers to any more, deleted in bounded steps. */
  manifestGarbage: 0x44, // D ‖ data key
  manifestItems: 0x49, // I ‖ data key ‖ u64 chunk
  manifestTile: 0x54, // T ‖ data key ‖ u8 level ‖ u64 index
  manifestUse: 0x52, // R ‖ root ‖ u64 useIndex
  workUse: 0x57, // W ‖ id ‖ 0x00 ‖ u64 useIndex ‖ u64 position
  verdicts: 0x56, // V → JSON verdict tallies of the indexed uses and how far they reach (GET /stats)
  /** No longer written (grants by work are the policy's `g` keys); reindex removes old ones. */
  legacyWorkConsent: 0x47, // G ‖ id ‖ 0x00 ‖ u64 grantIndex
} as const;

/** Tags of the query index proper: cleared by reindex. Manifests (M, I, T, C, U, S, D) are uploads and their state, not derived. */
export const INDEX_TAGS = [TAG.indexed, TAG.manifestUse, TAG.workUse, TAG.verdicts, TAG.legacyWorkConsent];

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
export const verdictsKey = Uint8Array.of(TAG.verdicts);
export const manifestKey = (root: Uint8Array) => concat([TAG.manifest], root);
/**
 * A manifest's items and tiles are kept under its data key (32 bytes): the root for manifests
 * stored before uploads were staged, else a random key chosen when its upload began.
 */
export const manifestItemsKey = (dataKey: Uint8Array, chunk: number) => concat([TAG.manifestItems], dataKey, u64(chunk));
export const manifestTileKey = (dataKey: Uint8Array, level: number, index: number) => concat([TAG.manifestTile], dataKey, [level], u64(index));
export const manifestClaimedKey = (root: Uint8Array) => concat([TAG.manifestClaimed], root);
export const manifestUnclaimedKey = (storedAt: number, root: Uint8Array) => concat([TAG.manifestUnclaimed], u64(storedAt), root);
export const manifestStagingKey = (dataKey: Uint8Array) => concat([TAG.manifestStaging], dataKey);
export const manifestGarbageKey = (dataKey: Uint8Array) => concat([TAG.manifestGarbage], dataKey);
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
