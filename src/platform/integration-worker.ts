/** The worker thread behind workerIntegrator: integration rounds hashed with node:crypto. */
import { parentPort } from 'node:worker_threads';
import { type IntegrationInput, integrateSync } from '../log/integrator.js';
import { nodeHasher } from './node-hasher.js';

parentPort!.on('message', (msg: { id: number; input: IntegrationInput }) => {
  try {
    const out = integrateSync(nodeHasher, msg.input);
    const transfer = [...out.tiles.map((t) => t.hashes.buffer), ...out.edgeTiles.map((t) => t.buffer)] as ArrayBuffer[];
    parentPort!.postMessage({ id: msg.id, out }, [...new Set(transfer)]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: String((err as Error)?.stack ?? err) });
  }
});
