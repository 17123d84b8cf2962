/**
 * Integration as a pure function: from the tree's right edge and new leaf hashes to the changed
 * tiles, the new edge and the new root. Being pure, it can run in another thread (the server
 * runs it in a worker: src/platform/worker-integrator.ts) while the main thread keeps
 * sequencing; a round that fails changes nothing.
 */
import { type Hash, type Hasher, HASH_SIZE } from '../merkle/index.js';
import type { StoredTile } from '../store/index.js';
import { TileBuilder } from './tiled-tree.js';

export interface IntegrationInput {
  /** Tree size before the round. */
  from: number;
  /** The unfinished tile of each level at `from` (TileBuilder.edgeCoords order). */
  edgeTiles: Uint8Array[];
  /** The new leaf hashes, packed: 32 bytes each. */
  leafHashes: Uint8Array;
}

export interface IntegrationOutput {
  size: number;
  root: Hash;
  /** Every tile that changed, in its new state. */
  tiles: StoredTile[];
  /** The unfinished tile of each level at `size`. */
  edgeTiles: Uint8Array[];
}

export interface Integrator {
  integrate(input: IntegrationInput): Promise<IntegrationOutput>;
  close(): Promise<void>;
}

export function integrateSync(hasher: Hasher, input: IntegrationInput): IntegrationOutput {
  const builder = new TileBuilder(hasher, input.from, input.edgeTiles);
  const leaves: Hash[] = [];
  for (let at = 0; at < input.leafHashes.length; at += HASH_SIZE) leaves.push(input.leafHashes.subarray(at, at + HASH_SIZE));
  builder.append(leaves);
  return { size: builder.size, root: builder.root(), tiles: builder.takeChangedTiles(), edgeTiles: builder.edgeTiles() };
}

/** Integration on the calling thread. */
export function inThreadIntegrator(hasher: Hasher): Integrator {
  return {
    integrate: async (input) => integrateSync(hasher, input),
    close: async () => undefined,
  };
}
