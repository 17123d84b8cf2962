/** `pvl attest` and `pvl attest revoke`: an attester says which key belongs to whom (spec/records.md, "attestation"). */
import type { Command } from 'commander';
import { ATTESTATION_ROLES, formatRecordTime, isKeyRef, type AttestationRecord, type AttestationRevocationRecord, type AttestationRole, type KeyRef } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';
import { parseTime } from './consent.js';

interface AttestOpts extends ServerOpts {
  key: string;
  subject: string;
  name: string;
  role: string;
  id?: string[];
  validUntil?: string;
}

interface RevokeOpts extends ServerOpts {
  key: string;
  attestation: number;
  compromisedSince?: number;
  reason?: string;
}

const logIndexArg = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`${flag}: not a log index: ${v}`);
  return Number(v);
};

export function attestationPayload(author: KeyRef, o: AttestOpts, now = new Date()): AttestationRecord {
  if (!isKeyRef(o.subject)) throw new UsageError(`--subject: not a key ref (ed25519:<64 hex>): ${o.subject}`);
  if (!(ATTESTATION_ROLES as readonly string[]).includes(o.role)) throw new UsageError(`--role: one of ${ATTESTATION_ROLES.join(', ')}, got ${o.role}`);
  return {
    type: 'attestation', v: 1, author, time: formatRecordTime(now),
    subject: o.subject, role: o.role as AttestationRole, name: o.name,
    ...(o.id?.length ? { identifiers: o.id } : {}),
    ...(o.validUntil ? { validUntil: parseTime(o.validUntil, '--valid-until') } : {}),
  };
}

export function registerAttest(program: Command): void {
  const attest = serverOptions(program.command('attest').description('attest that a key belongs to a named creator, builder, rights holder or agent (as an attester)'))
    .option('--key <file>', "the attester's private key file")
    .option('--subject <key>', 'the key attested (ed25519:…)')
    .option('--name <name>', 'whom the key belongs to')
    .option('--role <role>', ATTESTATION_ROLES.join(' | '))
    .option('--id <ids...>', 'identifiers of the subject: http(s) URLs or other one-line ids (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--valid-until <time>', 'the attestation lapses then')
    .action(async (opts: AttestOpts) => {
      for (const flag of ['key', 'subject', 'name', 'role'] as const) if (opts[flag] === undefined) throw new UsageError(`attest needs --${flag}`);
      attestationPayload(opts.subject as KeyRef, opts); // flags checked before the key file is read
      const key = await readKeyFile(opts.key);
      const result = await submitRecord(opts.server, opts.vkey, key, attestationPayload(key.keyRef, opts), opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('attestation', result);
    });
  // The server and key options are `pvl attest`'s own (commander reads a parent's options
  // anywhere on the line), so revoke takes them from there.
  attest
    .command('revoke')
    .description("withdraw one of your attestations (--key, --server etc. as for pvl attest); --compromised-since voids the subject key's records from that log index")
    .requiredOption('--attestation <index>', 'log index of the attestation', logIndexArg('--attestation'))
    .option('--compromised-since <index>', 'the subject key was compromised: its records logged from this index on are void', logIndexArg('--compromised-since'))
    .option('--reason <text>', 'why')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<RevokeOpts>();
      if (opts.key === undefined) throw new UsageError('attest revoke needs --key');
      const key = await readKeyFile(opts.key);
      const payload: AttestationRevocationRecord = {
        type: 'attestation-revocation', v: 1, author: key.keyRef, time: formatRecordTime(new Date()), attestation: { index: opts.attestation },
        ...(opts.reason ? { reason: opts.reason } : {}),
        ...(opts.compromisedSince !== undefined ? { compromisedSince: opts.compromisedSince } : {}),
      };
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('attestation-revocation', result);
    });
}
