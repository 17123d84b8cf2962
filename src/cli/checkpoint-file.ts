/** Saved checkpoints (--since/--save, watch state): the signed note text, verified on load. */
import { readFile, writeFile, rename } from 'node:fs/promises';
import type { LedgerClient, SignedCheckpoint } from '../client/index.js';

export async function loadCheckpoint(client: LedgerClient, path: string): Promise<SignedCheckpoint> {
  return client.openCheckpoint(await readFile(path, 'utf8'));
}

/** Atomic write (temp file + rename) so a crash never leaves half a checkpoint. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
