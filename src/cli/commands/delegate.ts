/** `pvl delegate` and `pvl delegate revoke`: a creator lets an agent or rights holder grant and revoke for it. */
import type { Command } from 'commander';
import { DELEGATION_POWERS, DELEGATION_ROLES, formatRecordTime, isWorkId, type DelegationPower, type DelegationRecord, type DelegationRevocationRecord, type DelegationRole, type KeyRef, type WorkId } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';
import { keyRefOption, parseTime } from './consent.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

interface DelegateOpts extends ServerOpts {
  key?: string;
  agent: KeyRef;
  role: string;
  powers: string[];
  work?: string[];
  all?: boolean;
  validUntil?: string;
}

export function delegationPayload(author: KeyRef, o: DelegateOpts, now = new Date()): DelegationRecord {
  if (!(DELEGATION_ROLES as readonly string[]).includes(o.role)) throw new UsageError(`--role: one of ${DELEGATION_ROLES.join(', ')}, got ${o.role}`);
  if (o.powers.length === 0) throw new UsageError(`--powers: give one or more of ${DELEGATION_POWERS.join(',')}`);
  for (const p of o.powers) if (!(DELEGATION_POWERS as readonly string[]).includes(p)) throw new UsageError(`--powers: unknown power ${p} (one of ${DELEGATION_POWERS.join(', ')})`);
  if (!o.all === !o.work?.length) throw new UsageError('give exactly one of --work ID… or --all');
  // Each --work names one work by its sha256: identifier, as a grant does.
  for (const w of o.work ?? []) if (!isWorkId(w) || !w.startsWith('sha256:')) throw new UsageError(`--work: not a sha256: work identifier: ${w}`);
  return {
    type: 'delegation', v: 1, author, time: formatRecordTime(now),
    agent: o.agent,
    role: o.role as DelegationRole,
    powers: [...new Set(o.powers)] as DelegationPower[],
    works: o.all ? 'all' : o.work!.map((w) => [w as WorkId]),
    ...(o.validUntil ? { validUntil: parseTime(o.validUntil, '--valid-until') } : {}),
  };
}

function logIndexOption(flag: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: not a log index: ${v}`);
    return Number(v);
  };
}

/**
 * One command with an optional `revoke` action rather than a subcommand: commander would have a
 * parent `delegate` take the options meant for `delegate revoke` (both have --key).
 */
export function registerDelegate(program: Command): void {
  serverOptions(program.command('delegate [action]').description('let an agent or rights holder grant and/or revoke consent for your works; `delegate revoke` ends a delegation (grants made under it stay until revoked)'))
    .option('--key <file>', 'your (the creator’s) private key file (required)')
    .option('--agent <keyref>', 'delegate: the agent’s or rights holder’s key', keyRefOption('--agent'))
    .option('--role <role>', `delegate: ${DELEGATION_ROLES.join(' | ')} (a rights holder holds rights in the works; an agent acts for you)`, 'agent')
    .option('--powers <powers>', `delegate: comma-separated ${DELEGATION_POWERS.join(',')}`, collect)
    .option('--work <ids...>', 'delegate: the works it may act on (sha256:…)', collect)
    .option('--all', 'delegate: every work of yours, present and future')
    .option('--valid-until <time>', 'delegate: the delegation ends then')
    .option('--delegation <index>', 'revoke: log index of the delegation', logIndexOption('--delegation'))
    .option('--reason <text>', 'revoke: why')
    .action(async (action: string | undefined, opts: DelegateOpts & RevokeOpts) => {
      if (action !== undefined && action !== 'revoke') throw new UsageError(`unknown action ${action}: pvl delegate [revoke]`);
      if (opts.key === undefined) throw new UsageError('--key is required');
      const what = action === 'revoke' ? 'delegation-revocation' : 'delegation';
      const build = action === 'revoke' ? revocationBuilder(opts) : delegationBuilder(opts);
      const key = await readKeyFile(opts.key);
      const result = await submitRecord(opts.server, opts.vkey, key, build(key.keyRef), opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted(what, result);
    });
}

interface RevokeOpts {
  delegation?: number;
  reason?: string;
}

/** Checks the flags (before the key file is read) and returns what signs the record. */
function delegationBuilder(opts: DelegateOpts): (author: KeyRef) => DelegationRecord {
  for (const [flag, value] of [['--agent', opts.agent], ['--powers', opts.powers]] as const) if (value === undefined) throw new UsageError(`${flag} is required`);
  delegationPayload(opts.agent, opts);
  return (author) => delegationPayload(author, opts);
}

function revocationBuilder(opts: RevokeOpts): (author: KeyRef) => DelegationRevocationRecord {
  if (opts.delegation === undefined) throw new UsageError('--delegation is required');
  const delegation = opts.delegation;
  return (author) => ({ type: 'delegation-revocation', v: 1, author, time: formatRecordTime(new Date()), delegation: { index: delegation }, ...(opts.reason ? { reason: opts.reason } : {}) });
}
