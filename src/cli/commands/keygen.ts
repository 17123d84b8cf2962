/** `pvl keygen --name NAME --out FILE`: a new Ed25519 key in C2SP PRIVATE+KEY form. */
import type { Command } from 'commander';
import { formatPrivateKey, generatePrivateKey, verifierKeyOf } from '../../note/index.js';
import { formatKeyRef } from '../../records/index.js';
import { writeSecretFile } from '../keys.js';
import { printJson } from '../output.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate a signing key (C2SP PRIVATE+KEY file, mode 0600)')
    .requiredOption('--name <name>', 'key name (e.g. your handle or domain)')
    .requiredOption('--out <file>', 'where to write the private key (never overwritten)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { name: string; out: string; json?: boolean }) => {
      const key = generatePrivateKey(opts.name);
      await writeSecretFile(opts.out, formatPrivateKey(key.name, key.seed) + '\n');
      const result = { file: opts.out, verifierKey: verifierKeyOf(key), keyRef: formatKeyRef(key.publicKey) };
      if (opts.json) return printJson(result);
      console.log(`wrote ${result.file}\nverifier key: ${result.verifierKey}\nkey ref:      ${result.keyRef}`);
    });
}
