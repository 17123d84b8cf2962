/**
 * Signature checks off the main thread. Ed25519 verification is most of the cost of admitting
 * a record (≈ 140 µs of OpenSSL per signature here); in workers it runs beside the HTTP parsing,
 * admission and LevelDB work of the main thread. Requests go to the least busy worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerScript } from './worker-url.js';

export interface SignatureToCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyPool {
  verify(checks: SignatureToCheck[]): Promise<boolean[]>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  pending: number;
}

export function verifyPool(size = Math.max(1, availableParallelism() - 1)): VerifyPool {
  let nextId = 0;
  const waiting = new Map<number, { slot: Slot; count: number; resolve: (r: boolean[]) => void; reject: (e: Error) => void }>();
  const slots: Slot[] = Array.from({ length: size }, () => {
    const slot: Slot = { worker: new Worker(workerScript('verify-worker')), pending: 0 };
    slot.worker.unref();
    slot.worker.on('message', ({ id, results }: { id: number; results: boolean[] }) => {
      const w = waiting.get(id);
      if (!w) return;
      waiting.delete(id);
      w.slot.pending -= w.count;
      w.resolve(results);
    });
    slot.worker.on('error', (err) => {
      for (const [id, w] of waiting) {
        if (w.slot !== slot) continue;
        waiting.delete(id);
        w.reject(err);
      }
    });
    return slot;
  });
  return {
    verify(checks) {
      if (checks.length === 0) return Promise.resolve([]);
      const slot = slots.reduce((a, b) => (b.pending < a.pending ? b : a));
      slot.pending += checks.length;
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { slot, count: checks.length, resolve, reject });
        slot.worker.postMessage({ id, publicKeys: checks.map((c) => c.publicKey), messages: checks.map((c) => c.message), signatures: checks.map((c) => c.signature) });
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
