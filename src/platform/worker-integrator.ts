/**
 * Integration in a worker thread, so the main thread keeps sequencing (and serving) while a
 * round hashes: on two cores this is the difference between the log's two halves taking turns
 * and running side by side. Hashes with node:crypto, like nodeHasher.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from './worker-url.js';
import type { IntegrationInput, IntegrationOutput, Integrator } from '../log/index.js';

export function workerIntegrator(): Integrator {
  const worker = new Worker(workerScript('integration-worker'));
  worker.unref();
  let nextId = 0;
  const waiting = new Map<number, { resolve: (o: IntegrationOutput) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (msg: { id: number; out?: IntegrationOutput; error?: string }) => {
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (!w) return;
    if (msg.out) w.resolve(msg.out);
    else w.reject(new Error(`integration worker failed: ${msg.error}`));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`integration worker exited (${code})`)));
  return {
    integrate(input: IntegrationInput): Promise<IntegrationOutput> {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        // The packed leaf hashes move to the worker without a copy.
        worker.postMessage({ id, input }, [input.leafHashes.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
