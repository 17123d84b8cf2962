/** The worker thread behind verifyPool: Ed25519 checks on OpenSSL, a batch per message. */
import { parentPort } from 'node:worker_threads';
import { nodeEd25519Verify } from './node-signer.js';

interface Batch {
  id: number;
  publicKeys: Uint8Array[];
  messages: Uint8Array[];
  signatures: Uint8Array[];
}

parentPort!.on('message', ({ id, publicKeys, messages, signatures }: Batch) => {
  const results = publicKeys.map((pk, i) => nodeEd25519Verify(pk, messages[i], signatures[i]));
  parentPort!.postMessage({ id, results });
});
