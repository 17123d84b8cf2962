/** `pvl keygen --name NAME --out FILE [--next FILE]`: a new Ed25519 key in C2SP PRIVATE+KEY form, and optionally the next one. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { formatPrivateKey, generatePrivateKey, verifierKeyOf } from '../../note/index.js';
import { formatKeyRef, nextKeyCommitment } from '../../records/index.js';
import { writeSecretFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate a signing key (C2SP PRIVATE+KEY file, mode 0600)')
    .requiredOption('--name <name>', 'key name (e.g. your handle or domain)')
    .requiredOption('--out <file>', 'where to write the private key (never overwritten)')
    .option('--next <file>', 'also write the next key there (keep it offline): pvl creator register --next-key commits to it')
    .option('--json', 'machine-readable output')
    .action(async (opts: { name: string; out: string; next?: string; json?: boolean }) => {
      if (opts.next !== undefined && (opts.next === opts.out || existsSync(opts.next))) throw new UsageError(`${opts.next} already exists or is --out; refusing to overwrite a key`);
      const key = generatePrivateKey(opts.name);
      await writeSecretFile(opts.out, formatPrivateKey(key.name, key.seed) + '\n');
      const result = { file: opts.out, verifierKey: verifierKeyOf(key), keyRef: formatKeyRef(key.publicKey), ...(opts.next !== undefined ? { next: await writeNextKey(opts.name, opts.next) } : {}) };
      if (opts.json) return printJson(result);
      console.log(`wrote ${result.file}\nverifier key: ${result.verifierKey}\nkey ref:      ${result.keyRef}`);
      if (result.next) console.log(`wrote ${result.next.file} (the next key: keep it apart from ${result.file})\nnext key ref: ${result.next.keyRef}\ncommitment:   ${result.next.commitment}`);
    });
}

/** The next key: its file, key ref and the commitment a creator record carries (spec/records.md §2.1). */
async function writeNextKey(name: string, file: string): Promise<{ file: string; keyRef: string; commitment: string }> {
  const key = generatePrivateKey(name);
  await writeSecretFile(file, formatPrivateKey(key.name, key.seed) + '\n');
  return { file, keyRef: formatKeyRef(key.publicKey), commitment: nextKeyCommitment(key.publicKey) };
}
