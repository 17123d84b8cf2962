/**
 * Trust policies: which log key signs checkpoints, which witnesses cosign them, and how many
 * cosignatures make a checkpoint trustworthy. The file format is the C2SP tlog-policy /
 * Sigsum policy line format (spec/notes.md, "Trust policies"):
 *
 *     log <vkey> [<url>]
 *     witness <name> <vkey> [<url>]
 *     group <name> <all|any|K> <member> …
 *     quorum <name|none>
 *
 * Keys are C2SP note verifier keys: type 0x01 for the log, 0x04 (cosignature/v1) for witnesses.
 */
import { NoteError } from './errors.js';
import { type Ed25519Verify, type Verifier, nobleEd25519Verify, parseVerifierKey } from './keys.js';
import { cosignatureVerifier } from './cosignature.js';
import { openCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import type { NoteSignature } from './note.js';

export interface PolicyWitness {
  name: string;
  verifier: Verifier & { timestampOf(sig: NoteSignature): number };
  url?: string;
}

type Rule = { kind: 'witness'; name: string } | { kind: 'group'; name: string; threshold: number; members: string[] } | { kind: 'none' };

export interface TrustPolicy {
  log: Verifier;
  logUrl?: string;
  witnesses: PolicyWitness[];
  /** The quorum's root rule. */
  quorum: string;
  rules: Map<string, Rule>;
}

/** A policy of a log key, witness keys and "at least `quorum` of them" (the CLI's --witness/--quorum). */
export function simplePolicy(logVkey: string, witnessVkeys: string[], quorum: number, verify: Ed25519Verify = nobleEd25519Verify): TrustPolicy {
  const witnesses = witnessVkeys.map((vkey) => {
    const verifier = cosignatureVerifier(vkey, verify);
    return { name: verifier.name, verifier };
  });
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    throw new NoteError('bad-policy', `quorum ${quorum} must be between 0 and the number of witnesses (${witnesses.length})`, 'quorum');
  }
  const rules = new Map<string, Rule>(witnesses.map((w) => [w.name, { kind: 'witness', name: w.name }]));
  rules.set('none', { kind: 'none' });
  rules.set('quorum', { kind: 'group', name: 'quorum', threshold: quorum, members: witnesses.map((w) => w.name) });
  return { log: parseVerifierKey(logVkey, verify), witnesses, quorum: quorum === 0 ? 'none' : 'quorum', rules };
}

/** Parses a policy file; errors name the line. */
export function parsePolicy(text: string, verify: Ed25519Verify = nobleEd25519Verify): TrustPolicy {
  let log: Verifier | undefined;
  let logUrl: string | undefined;
  let quorum: string | undefined;
  const witnesses: PolicyWitness[] = [];
  const rules = new Map<string, Rule>([['none', { kind: 'none' }]]);
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const field = `line ${i + 1}`;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [keyword, ...args] = line.split(/\s+/);
    const define = (name: string, rule: Rule) => {
      if (rules.has(name)) throw new NoteError('bad-policy', `${JSON.stringify(name)} is defined twice`, field);
      rules.set(name, rule);
    };
    switch (keyword) {
      case 'log':
        if (log) throw new NoteError('bad-policy', 'only one log per policy is supported', field);
        if (args.length < 1 || args.length > 2) throw new NoteError('bad-policy', 'must be "log <vkey> [<url>]"', field);
        log = parseVerifierKey(args[0], verify);
        logUrl = args[1];
        return;
      case 'witness': {
        if (args.length < 2 || args.length > 3) throw new NoteError('bad-policy', 'must be "witness <name> <vkey> [<url>]"', field);
        const verifier = cosignatureVerifier(args[1], verify);
        define(args[0], { kind: 'witness', name: args[0] });
        witnesses.push({ name: args[0], verifier, url: args[2] });
        return;
      }
      case 'group': {
        if (args.length < 3) throw new NoteError('bad-policy', 'must be "group <name> <all|any|K> <member> …"', field);
        const [name, thresholdText, ...members] = args;
        for (const m of members) if (!rules.has(m)) throw new NoteError('bad-policy', `member ${JSON.stringify(m)} is not defined above`, field);
        if (new Set(members).size !== members.length) throw new NoteError('bad-policy', 'a member is listed twice', field);
        const threshold = thresholdText === 'all' ? members.length : thresholdText === 'any' ? 1 : /^[1-9][0-9]*$/.test(thresholdText) ? Number(thresholdText) : NaN;
        if (!(threshold >= 1 && threshold <= members.length)) throw new NoteError('bad-policy', `threshold must be all, any or 1..${members.length}`, field);
        define(name, { kind: 'group', name, threshold, members });
        return;
      }
      case 'quorum':
        if (quorum !== undefined) throw new NoteError('bad-policy', 'quorum is set twice', field);
        if (args.length !== 1 || !rules.has(args[0])) throw new NoteError('bad-policy', 'must be "quorum <defined name|none>"', field);
        quorum = args[0];
        return;
      default:
        throw new NoteError('bad-policy', `unknown keyword ${JSON.stringify(keyword)}`, field);
    }
  });
  if (!log) throw new NoteError('bad-policy', 'has no "log" line', 'policy');
  if (quorum === undefined) throw new NoteError('bad-policy', 'has no "quorum" line', 'policy');
  return { log, logUrl, witnesses, quorum, rules };
}

/** Whether the witnesses (policy names) that cosigned satisfy the policy's quorum. */
export function quorumMet(policy: TrustPolicy, cosignedBy: Set<string>): boolean {
  const satisfied = (name: string): boolean => {
    const rule = policy.rules.get(name);
    if (!rule) return false;
    if (rule.kind === 'none') return true;
    if (rule.kind === 'witness') return cosignedBy.has(name);
    return rule.members.filter(satisfied).length >= rule.threshold;
  };
  return satisfied(policy.quorum);
}

/**
 * Opens a checkpoint under a policy: the log's signature must verify, every cosignature by a
 * policy witness must verify, and those witnesses must meet the quorum. Returns the cosigners
 * with their timestamps.
 */
export function openCheckpointWithPolicy(
  note: string | Uint8Array,
  policy: TrustPolicy,
  opts: { origin?: string } = {},
): { checkpoint: Checkpoint; note: string; cosigners: Array<{ name: string; timestamp: number }> } {
  const opened = openCheckpoint(note, policy.log, { origin: opts.origin, extraVerifiers: policy.witnesses.map((w) => w.verifier) });
  const cosigners: Array<{ name: string; timestamp: number }> = [];
  for (const w of policy.witnesses) {
    const sig = opened.verified.find((s) => s.name === w.verifier.name && s.keyId.every((b, i) => b === w.verifier.keyId[i]));
    if (sig) cosigners.push({ name: w.name, timestamp: w.verifier.timestampOf(sig) });
  }
  if (!quorumMet(policy, new Set(cosigners.map((c) => c.name)))) {
    throw new NoteError('quorum-not-met', `checkpoint has ${cosigners.length} valid cosignature(s) (${cosigners.map((c) => c.name).join(', ') || 'none'}), short of the policy's quorum`, 'cosignatures');
  }
  return { checkpoint: opened.checkpoint, note: opened.note, cosigners };
}
