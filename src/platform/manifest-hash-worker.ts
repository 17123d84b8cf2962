/** The worker thread behind manifestHashPool: one batch of encoded manifest items in, its root (or its subtrees' roots) out. */
import { parentPort } from 'node:worker_threads';
import { manifestItemsRoot, manifestSubtreeRoots } from '../records/manifest.js';

parentPort!.on('message', ({ id, items, subtreeItems }: { id: number; items: Uint8Array; subtreeItems?: number }) => {
  try {
    // The pure-JavaScript short-input hasher: for 49-byte leaves it beats node:crypto's per-call cost.
    const root = subtreeItems === undefined ? manifestItemsRoot(items) : manifestSubtreeRoots(items, subtreeItems);
    // The buffer goes back for the next batch: dead buffers left here would wait for a GC that
    // this thread, allocating almost nothing, rarely runs.
    parentPort!.postMessage({ id, root, items }, [items.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: String((err as Error)?.stack ?? err) });
  }
});
