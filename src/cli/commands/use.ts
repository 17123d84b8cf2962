/**
 * `pvl use declare`: builds a manifest from an items file (pass 1: count and root; pass 2: the
 * bytes, streamed to the server), then signs and submits the training-use record.
 */
import type { Command } from 'commander';
import { fetchVerifierKey, LedgerClient } from '../../client/index.js';
import { formatRecordTime, RecordError, toHex, TRAINING_PURPOSES, type TrainingUseRecord } from '../../records/index.js';
import { MANIFEST_ITEM_SIZE, ManifestRoot, encodeManifestHeader } from '../../records/manifest.js';
import { manifestHashPool } from '../../platform/manifest-hash-pool.js';
import { readEncodedItems } from '../items-file.js';
import { readKeyFile } from '../keys.js';
import { parseNameVersion } from '../model-name.js';
import { printJson, Progress, UsageError } from '../output.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';

/**
 * Pass 1: count and root. This thread parses and encodes while worker threads hash (SHA-256 of
 * the leaves and the tree above them is most of the work); nothing is kept but the batches in
 * flight and the tree's right edge.
 */
export async function summarise(path: string): Promise<{ count: number; root: string }> {
  const pool = manifestHashPool();
  try {
    const manifest = new ManifestRoot({ batchHasher: pool });
    const progress = new Progress('hashing items');
    for await (const batch of readEncodedItems(path)) {
      await manifest.add(batch);
      progress.update(manifest.count);
    }
    if (manifest.count === 0) throw new UsageError(`${path} has no items`);
    const { root, count } = await manifest.finish();
    progress.done(count);
    return { count, root: toHex(root) };
  } finally {
    await pool.close();
  }
}

/** Items per chunk of the upload: 64 KiB (spec/cli.md). */
const CHUNK_ITEMS = 1337;

/**
 * Pass 2: the manifest bytes in 64 KiB chunks, as a web stream for fetch. Not hashed again: the
 * server recomputes the root and refuses bytes that do not match it.
 */
export function manifestStream(path: string, count: number, onProgress: (n: number) => void): ReadableStream<Uint8Array> {
  const batches = readEncodedItems(path)[Symbol.asyncIterator]();
  let sent: number | undefined; // items; undefined until the header is out
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === undefined) {
        sent = 0;
        return controller.enqueue(encodeManifestHeader(count));
      }
      const next = await batches.next();
      if (next.done) {
        if (sent !== count) throw new RecordError('count-mismatch', `has ${sent} items, not the declared ${count}`, 'items');
        return controller.close();
      }
      sent += next.value.length / MANIFEST_ITEM_SIZE;
      if (sent > count) throw new RecordError('count-mismatch', `has more items than the declared ${count}`, 'items');
      onProgress(sent);
      const batch = next.value;
      const chunkBytes = CHUNK_ITEMS * MANIFEST_ITEM_SIZE;
      for (let at = 0; at < batch.length; at += chunkBytes) controller.enqueue(batch.subarray(at, at + chunkBytes));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
}

interface DeclareOpts extends ServerOpts {
  key: string;
  model: string;
  items: string;
  purpose: string;
  commercial?: boolean;
}

export function registerUse(program: Command): void {
  const use = program.command('use').description('training-use declarations');
  serverOptions(use.command('declare').description('declare the works a model was trained on (manifest)'))
    .requiredOption('--key <file>', 'builder private key file')
    .requiredOption('--model <name@version>', 'the model')
    .requiredOption('--items <file>', 'items: JSON Lines, or CSV if the name ends in .csv')
    .option('--purpose <p>', TRAINING_PURPOSES.join(' | '), 'training')
    .option('--commercial', 'commercial model')
    .action(async (opts: DeclareOpts) => {
      const key = await readKeyFile(opts.key);
      const extras = await submitExtras(opts);
      const { count, root } = await summarise(opts.items);
      const verifier = opts.vkey ?? (await fetchVerifierKey(opts.server));
      const client = new LedgerClient(opts.server, { verifier });
      const uploading = new Progress('uploading manifest', count);
      await client.request(`/manifests?root=${root}&count=${count}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: manifestStream(opts.items, count, (n) => uploading.update(n)),
        duplex: 'half',
        // With redirects allowed, fetch clones the request, teeing the body: the unread branch
        // then buffers every byte sent (the whole manifest in memory). The server never redirects.
        redirect: 'error',
      } as RequestInit);
      uploading.done(count);
      const payload = {
        type: 'training-use', v: 1, author: key.keyRef, time: formatRecordTime(new Date()),
        model: parseNameVersion(opts.model), purpose: opts.purpose, commercial: opts.commercial === true,
        manifest: { root, count },
      } as TrainingUseRecord;
      const result = await submitRecord(opts.server, verifier, key, payload, opts.proofOut, extras);
      if (opts.json) return printJson({ ...result, manifest: { root, count } });
      printSubmitted('training-use', result);
      console.log(`manifest ${root} (${count} items) uploaded`);
    });
}
