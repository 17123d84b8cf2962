/** `pvl consent grant|revoke`: sign and submit consent records. */
import type { Command } from 'commander';
import { USE_CATEGORIES, formatRecordTime, isKeyRef, isWorkId, type ConsentGrantRecord, type ConsentRevocationRecord, type KeyRef, type UseCategory, type WorkId } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';
import { notePublicRecord, printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

/** Flag times: RFC 3339 or anything Date parses, normalised to seconds precision UTC. */
export function parseTime(s: string, flag: string) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag}: not a time: ${s}`);
  return formatRecordTime(d);
}

/** "12.50 EUR per-use Payee Name" → compensation object. */
function parseCompensation(s: string): ConsentGrantRecord['compensation'] {
  const m = /^(\S+)\s+([A-Z]{3})\s+(per-use|flat)\s+(.+)$/.exec(s.trim());
  if (!m) throw new UsageError('--compensation must be "<amount> <CUR> per-use|flat <payee>", e.g. "0.01 EUR per-use Jane Doe"');
  return { amount: m[1], currency: m[2], basis: m[3] as 'per-use' | 'flat', payee: m[4] };
}

interface GrantOpts extends ServerOpts {
  key: string;
  work: string[];
  allow: string[];
  commercial?: boolean;
  licensee?: string[];
  from?: string;
  until?: string;
  retireBy?: string;
  compensation?: string;
  onBehalfOf?: string;
}

/** A key ref flag (--on-behalf-of, --agent, --owner): someone else's key, so never a key file. */
export function keyRefOption(flag: string) {
  return (v: string): KeyRef => {
    if (!isKeyRef(v)) throw new UsageError(`${flag}: not a key ref (ed25519:<64 hex>): ${v}`);
    return v;
  };
}

export function grantPayload(author: KeyRef, o: GrantOpts, now = new Date()): ConsentGrantRecord {
  for (const w of o.work) if (!isWorkId(w)) throw new UsageError(`--work: not a work identifier: ${w}`);
  for (const a of o.allow) if (!(USE_CATEGORIES as readonly string[]).includes(a)) throw new UsageError(`--allow: unknown category ${a} (one of ${USE_CATEGORIES.join(', ')})`);
  for (const k of o.licensee ?? []) if (!isKeyRef(k)) throw new UsageError(`--licensee: not a key ref: ${k}`);
  const decide = (c: UseCategory) => ({ use: o.allow.includes(c) ? ('allowed' as const) : ('notAllowed' as const) });
  return {
    type: 'consent-grant', v: 1, author, time: formatRecordTime(now),
    works: o.work.map((w) => [w as WorkId]),
    uses: { ai_generative_training: decide('ai_generative_training'), ai_training: decide('ai_training'), ai_inference: decide('ai_inference'), data_mining: decide('data_mining') },
    commercial: o.commercial === true,
    licensees: o.licensee?.length ? (o.licensee as KeyRef[]) : 'anyone',
    validFrom: o.from ? parseTime(o.from, '--from') : formatRecordTime(now),
    ...(o.until ? { validUntil: parseTime(o.until, '--until') } : {}),
    ...(o.retireBy ? { retireBy: parseTime(o.retireBy, '--retire-by') } : {}),
    ...(o.compensation ? { compensation: parseCompensation(o.compensation) } : {}),
    ...(o.onBehalfOf ? { onBehalfOf: o.onBehalfOf as KeyRef } : {}),
  };
}

/** What a grant makes public, for the note before signing: the payee is the one personal field. */
function publishedByGrant(grant: ConsentGrantRecord): string[] {
  const out = [`your key ${grant.author}`, `the identifiers of ${grant.works.length} work(s)`, 'the terms'];
  if (grant.compensation) out.push(`the payee ${JSON.stringify(grant.compensation.payee)}`);
  return out;
}

export function registerConsent(program: Command): void {
  const consent = program.command('consent').description('grant or revoke consent');
  serverOptions(consent.command('grant').description('grant consent for works'))
    .requiredOption('--key <file>', 'private key file')
    .requiredOption('--work <ids...>', 'work identifiers (sha256:…)', collect)
    .requiredOption('--allow <categories>', `comma-separated: ${USE_CATEGORIES.join(',')}`, collect)
    .option('--commercial', 'commercial use allowed')
    .option('--licensee <keys...>', 'only these builder keys (default anyone)', collect)
    .option('--from <time>', 'valid from (default now)')
    .option('--until <time>', 'valid until')
    .option('--retire-by <time>', 'models trained must be retired by then')
    .option('--compensation <terms>', '"<amount> <CUR> per-use|flat <payee>"')
    .option('--on-behalf-of <keyref>', 'grant for this creator identity, under a delegation it gave your key', keyRefOption('--on-behalf-of'))
    .action(async (opts: GrantOpts) => {
      const key = await readKeyFile(opts.key);
      const payload = grantPayload(key.keyRef, opts);
      notePublicRecord('consent-grant', publishedByGrant(payload));
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('consent-grant', result);
    });
  serverOptions(consent.command('revoke').description('revoke one of your grants'))
    .requiredOption('--key <file>', 'private key file')
    .requiredOption('--grant <index>', 'log index of the grant', (v) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`--grant: not a log index: ${v}`);
      return Number(v);
    })
    .option('--from <time>', 'effective from (default now)')
    .option('--reason <text>', 'why')
    .option('--on-behalf-of <keyref>', 'revoke for this creator identity, under a delegation it gave your key', keyRefOption('--on-behalf-of'))
    .action(async (opts: ServerOpts & { key: string; grant: number; from?: string; reason?: string; onBehalfOf?: KeyRef }) => {
      const key = await readKeyFile(opts.key);
      const now = new Date();
      const payload: ConsentRevocationRecord = {
        type: 'consent-revocation', v: 1, author: key.keyRef, time: formatRecordTime(now), grant: { index: opts.grant },
        effective: opts.from ? parseTime(opts.from, '--from') : formatRecordTime(now),
        ...(opts.reason ? { reason: opts.reason } : {}),
        ...(opts.onBehalfOf ? { onBehalfOf: opts.onBehalfOf } : {}),
      };
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('consent-revocation', result);
    });
}
