/**
 * `pvl creator register|rotate|check-email`: an identity's creator records (creators' and
 * builders' alike) — registering a key with its next-key commitment, rotating to the committed
 * key (declaring the old one compromised if it was stolen), and checking an e-mail commitment.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { type CreatorRecord, type KeyRef, emailCommitment, formatRecordTime, isEmailSalt, isKeyRef, nextKeyCommitment, signKeyRotation } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';
import { submitRecord } from '../submit.js';
import { notePublicRecord, printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';

interface RegisterOpts extends ServerOpts {
  key: string;
  name?: string;
  url?: string;
  email?: string;
  nextKey?: string;
}

interface RotateOpts extends ServerOpts {
  key?: string;
  from?: string;
  newKey: string;
  nextKey: string;
  compromisedSince?: number;
}

export function registerCreator(program: Command): void {
  const creator = program.command('creator').description('identity records of creators and builders');
  serverOptions(creator.command('register').description('register a key (a creator\'s or a builder\'s), committing to its next key'))
    .requiredOption('--key <file>', 'private key file (pvl keygen)')
    .option('--next-key <file|keyref>', 'the next key (pvl keygen --next): only it can rotate this key')
    .option('--name <name>', 'display name (optional: published for good)')
    .option('--url <url>', 'website claim (published for good)')
    .option('--email <address>', 'commit to an e-mail address, salted: the address is not published')
    .action(async (opts: RegisterOpts) => {
      const key = await readKeyFile(opts.key);
      const next = opts.nextKey === undefined ? undefined : await keyRefOf(opts.nextKey, '--next-key');
      if (next === key.keyRef) throw new UsageError('--next-key must be another key than --key');
      const email = opts.email === undefined ? undefined : commitEmail(opts.email);
      const claims = { ...(opts.url ? { website: opts.url } : {}), ...(email ? { emailCommitment: email.commitment } : {}) };
      const payload: CreatorRecord = {
        type: 'creator', v: 1, author: key.keyRef, time: formatRecordTime(new Date()),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(Object.keys(claims).length > 0 ? { claims } : {}),
        ...(next ? { next: nextKeyCommitment(next) } : {}),
      };
      notePublicRecord('creator', publishedBy(payload));
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson({ ...result, author: key.keyRef, ...(email ? { emailSalt: email.salt, emailCommitment: email.commitment } : {}) });
      printSubmitted('creator', result);
      if (email) console.log(`e-mail salt: ${email.salt}\n  keep it with the address: it is shown only this once, and whoever you give both to can check the commitment (pvl creator check-email)`);
    });

  serverOptions(creator.command('rotate').description('rotate to the committed next key, committing to the one after it'))
    .option('--key <file>', 'the old key\'s private key file: its endorsement is included (needed if it committed to no next key)')
    .option('--from <keyref>', 'the old key, when its private key is lost or stolen (the new key must be the one it committed to)')
    .requiredOption('--new-key <file>', 'the new key\'s private key file: the key the old one committed to')
    .requiredOption('--next-key <file|keyref>', 'the key after it: only it can rotate the new key')
    .option('--compromised-since <index>', 'the old key was stolen: void its records from this log index on', logIndexArg)
    .action(async (opts: RotateOpts) => {
      if ((opts.key === undefined) === (opts.from === undefined)) throw new UsageError('give the old key as --key FILE or --from KEYREF (one of them)');
      const old = opts.key === undefined ? undefined : await readKeyFile(opts.key);
      const from = old?.keyRef ?? (await keyRefOf(opts.from!, '--from'));
      const key = await readKeyFile(opts.newKey);
      const next = await keyRefOf(opts.nextKey, '--next-key');
      if (key.keyRef === from) throw new UsageError('--new-key must be another key than the old one');
      if (next === key.keyRef || next === from) throw new UsageError('--next-key must be a fresh key, neither the old nor the new one');
      const payload: CreatorRecord = {
        type: 'creator', v: 1, author: key.keyRef, time: formatRecordTime(new Date()),
        rotation: old ? signKeyRotation(old.signer, from, key.keyRef) : { from },
        next: nextKeyCommitment(next),
        ...(opts.compromisedSince !== undefined ? { compromised: { since: opts.compromisedSince } } : {}),
      };
      notePublicRecord('creator', publishedBy(payload));
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson({ ...result, author: key.keyRef, from });
      printSubmitted('creator', result);
    });

  creator
    .command('check-email')
    .description('check that an e-mail address and salt match a creator\'s emailCommitment')
    .requiredOption('--email <address>', 'the address the creator told you')
    .requiredOption('--salt <hex>', 'the salt the creator told you (32 hex digits)')
    .requiredOption('--commitment <hex>', 'claims.emailCommitment of the creator record')
    .option('--json', 'machine-readable output')
    .action((opts: { email: string; salt: string; commitment: string; json?: boolean }) => {
      if (!isEmailSalt(opts.salt)) throw new UsageError(`--salt must be 32 lowercase hex digits, got ${JSON.stringify(opts.salt)}`);
      if (!/^[0-9a-f]{64}$/.test(opts.commitment)) throw new UsageError(`--commitment must be 64 lowercase hex digits, got ${JSON.stringify(opts.commitment)}`);
      const matches = emailCommitment(opts.salt, opts.email) === opts.commitment;
      if (opts.json) printJson({ matches });
      if (!matches) throw new Error(`the address and salt do not match commitment ${opts.commitment}`);
      if (!opts.json) console.log(`the address and salt match commitment ${opts.commitment}`);
    });
}

/** A key given as a key reference or as a private key file (only its public key is used). */
async function keyRefOf(arg: string, flag: string): Promise<KeyRef> {
  if (isKeyRef(arg)) return arg;
  if (arg.startsWith('ed25519:')) throw new UsageError(`${flag}: not a key ref (ed25519:<64 lowercase hex>): ${arg}`);
  return (await readKeyFile(arg)).keyRef;
}

function logIndexArg(v: string): number {
  if (!/^[0-9]{1,15}$/.test(v)) throw new UsageError(`--compromised-since: not a log index: ${v}`);
  return Number(v);
}

/** A fresh salt and the commitment to the address under it (spec/records.md §2.1). */
function commitEmail(address: string): { salt: string; commitment: string } {
  if (!/^[^\s@]+@[^\s@]+$/.test(address.trim())) throw new UsageError(`--email: not an e-mail address: ${address}`);
  const salt = randomBytes(16).toString('hex');
  return { salt, commitment: emailCommitment(salt, address) };
}

/** What a creator record makes public, for the note before signing. */
function publishedBy(record: CreatorRecord): string[] {
  const out = [`your key ${record.author}`];
  if (record.name !== undefined) out.push(`the name ${JSON.stringify(record.name)}`);
  if (record.claims?.website) out.push(`the website ${record.claims.website}`);
  if (record.claims?.emailCommitment) out.push('a salted e-mail commitment (not the address)');
  if (record.next) out.push('a hash of your next key');
  if (record.rotation) out.push(`that it succeeds ${record.rotation.from}`);
  if (record.compromised) out.push(`that ${record.rotation!.from} was compromised from index ${record.compromised.since}`);
  return out;
}
