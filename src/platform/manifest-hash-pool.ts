/**
 * Manifest hashing in worker threads: a ManifestBatchHasher for ManifestRoot and writeManifest.
 * SHA-256 of the items' leaves and the tree above them is most of the cost of a large manifest;
 * here it runs beside the thread that parses and encodes the items. A batch is one message with
 * its buffer transferred, not copied; the answer is its 32-byte root, with the buffer handed back
 * for the next batch (batchBuffer), so steady state allocates nothing.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Hash } from '../merkle/index.js';
import type { ManifestBatchHasher } from '../records/manifest.js';
import { workerScript } from './worker-url.js';

export interface ManifestHashPool extends ManifestBatchHasher {
  rootOfItems(items: Uint8Array): Promise<Hash>;
  /** manifestSubtreeRoots in a worker: the roots of each aligned run of `subtreeItems` items. Takes the buffer. */
  subtreeRoots(items: Uint8Array, subtreeItems: number): Promise<Uint8Array>;
  batchBuffer(bytes: number): Uint8Array;
  close(): Promise<void>;
}

/** Buffers kept for reuse: enough for the batches in flight. */
const MAX_SPARE = 8;

interface Job {
  slot: Slot;
  resolve: (root: Hash) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: number;
  /** Why it can take no more work (it exited), if it cannot. */
  gone?: Error;
}

/** `size` workers (default: one per core); batches go to the least busy. */
export function manifestHashPool(size = availableParallelism()): ManifestHashPool {
  let nextId = 0;
  let closed = false;
  /** Batch buffers the workers gave back, for batchBuffer. */
  const spare: Uint8Array[] = [];
  const jobs = new Map<number, Job>();
  const settle = (slot: Slot) => {
    // Referenced only while working: an idle pool must not keep the process alive, a busy one must.
    if (--slot.pending === 0) slot.worker.unref();
  };
  const failSlot = (slot: Slot, err: Error) => {
    for (const [id, job] of jobs) {
      if (job.slot !== slot) continue;
      jobs.delete(id);
      settle(slot);
      job.reject(err);
    }
  };
  const slots: Slot[] = Array.from({ length: Math.max(1, size) }, () => {
    const slot: Slot = { worker: new Worker(workerScript('manifest-hash-worker')), pending: 0 };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; root?: Hash; items?: Uint8Array; error?: string }) => {
      if (msg.items && spare.length < MAX_SPARE) spare.push(msg.items);
      const job = jobs.get(msg.id);
      if (!job) return;
      jobs.delete(msg.id);
      settle(slot);
      if (msg.root) job.resolve(msg.root);
      else job.reject(new Error(`manifest hash worker failed: ${msg.error}`));
    });
    slot.worker.on('error', (err) => failSlot(slot, err));
    slot.worker.on('exit', (code) => {
      slot.gone = new Error(`manifest hash worker exited (${code})`);
      failSlot(slot, slot.gone);
    });
    return slot;
  });
  /** Sends one batch to the least busy worker; the promise is its answer. */
  const submit = (items: Uint8Array, subtreeItems?: number): Promise<Uint8Array> => {
    const live = slots.filter((s) => !s.gone);
    if (closed || live.length === 0) return Promise.reject(new Error(closed ? 'manifest hash pool is closed' : slots[0].gone!.message));
    // Transfer needs an ArrayBuffer of its own: copy a view into a larger or shared one.
    const own = items.buffer instanceof ArrayBuffer && items.byteOffset === 0 && items.byteLength === items.buffer.byteLength ? items : items.slice();
    const slot = live.reduce((a, b) => (b.pending < a.pending ? b : a));
    if (slot.pending++ === 0) slot.worker.ref();
    return new Promise((resolve, reject) => {
      const id = nextId++;
      jobs.set(id, { slot, resolve, reject });
      slot.worker.postMessage({ id, items: own, subtreeItems }, [own.buffer as ArrayBuffer]);
    });
  };
  return {
    rootOfItems: (items) => submit(items),
    subtreeRoots: (items, subtreeItems) => submit(items, subtreeItems),
    batchBuffer(bytes) {
      const i = spare.findIndex((b) => b.length === bytes);
      return i >= 0 ? spare.splice(i, 1)[0] : new Uint8Array(bytes);
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
