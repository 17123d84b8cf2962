/**
 * RFC 6962 Merkle trees and C2SP tlog-tiles coordinates. Browser-safe: nothing from `node:`.
 */
export { MerkleError } from './errors.js';
export { type Hash, type Hasher, HASH_SIZE, rfc6962Hasher, defaultHasher, equalHashes, assertHash } from './hash.js';
export {
  type NodeId,
  type ProofPlan,
  type NodeReader,
  inclusionPlan,
  inclusionSubtree,
  consistencyPlan,
  rangeNodes,
  foldRange,
  foldPlan,
  proofFromPlan,
  rootFromInclusionProof,
  verifyInclusion,
  verifyConsistency,
} from './proof.js';
export {
  type TileCoord,
  type NodeLocation,
  TILE_HEIGHT,
  TILE_WIDTH,
  formatTileIndex,
  formatTilePath,
  parseTilePath,
  tileWidthAt,
  tilesForSize,
  locateNode,
} from './tile.js';
export { CompactRange, MemoryTree, rootOf } from './tree.js';
