/**
 * A verifier's trust policy for identities (spec/policy.md, "Trust policy"): which attesters it
 * accepts and which evidence it fetches itself. Line-based, like the witness policy
 * (src/note/policy.ts):
 *
 *     # comments and blank lines
 *     attester "Collecting Society X" ed25519:<64 hex>
 *     check domains
 *     check profiles
 */
import { LedgerError } from '../errors.js';
import { type KeyRef, isKeyRef } from '../records/index.js';

export interface IdentityTrustPolicy {
  /** Attester keys and the names the verifier knows them by, in file order. */
  attesters: Map<KeyRef, string>;
  /** Fetch each creator's `<website>/.well-known/provenance-ledger.json`. */
  checkDomains: boolean;
  /** Fetch each creator's profile pages and look for a link back to the key. */
  checkProfiles: boolean;
}

export class TrustPolicyError extends LedgerError {}

const CHECKS = ['domains', 'profiles'] as const;

/** Parses a trust policy file; an error names the line and what was wrong with it. */
export function parseTrustPolicy(text: string): IdentityTrustPolicy {
  const policy: IdentityTrustPolicy = { attesters: new Map(), checkDomains: false, checkProfiles: false };
  text.split('\n').forEach((raw, i) => {
    const field = `line ${i + 1}`;
    const fail = (message: string): never => {
      throw new TrustPolicyError('bad-trust-policy', message, field);
    };
    const words = splitLine(raw.replace(/\r$/, ''), fail);
    if (words.length === 0) return;
    const [keyword, ...args] = words;
    switch (keyword) {
      case 'attester':
        return addAttester(policy, args, fail);
      case 'check': {
        if (args.length !== 1 || !(CHECKS as readonly string[]).includes(args[0])) fail(`must be "check domains" or "check profiles", got "check ${args.join(' ')}"`);
        if (args[0] === 'domains') policy.checkDomains = true;
        else policy.checkProfiles = true;
        return;
      }
      default:
        fail(`unknown keyword ${JSON.stringify(keyword)}: a line is "attester \\"<name>\\" ed25519:<64 hex>" or "check domains|profiles"`);
    }
  });
  return policy;
}

function addAttester(policy: IdentityTrustPolicy, args: string[], fail: (message: string) => never): void {
  if (args.length !== 2) fail('must be attester "<name>" ed25519:<64 hex>');
  const [name, key] = args;
  if (name === '') fail('the attester name must not be empty');
  if (!isKeyRef(key)) fail(`the attester key must be ed25519:<64 lowercase hex>, got ${JSON.stringify(key.slice(0, 80))}`);
  const earlier = policy.attesters.get(key as KeyRef);
  if (earlier !== undefined) fail(`attester key ${key} is already named ${JSON.stringify(earlier)}`);
  policy.attesters.set(key as KeyRef, name);
}

/** Words of a line: bare words, or "quoted strings" (with \" and \\ escapes); `#` outside quotes starts a comment. */
function splitLine(line: string, fail: (message: string) => never): string[] {
  const words: string[] = [];
  let at = 0;
  while (at < line.length) {
    const c = line[at];
    if (c === ' ' || c === '\t') at++;
    else if (c === '#') break;
    else if (c === '"') {
      let word = '';
      for (at++; ; at++) {
        if (at >= line.length) fail('a quoted name is not closed');
        if (line[at] === '"') break;
        if (line[at] === '\\' && (line[at + 1] === '"' || line[at + 1] === '\\')) at++;
        word += line[at];
      }
      at++;
      if (at < line.length && line[at] !== ' ' && line[at] !== '\t') fail('a quoted name must be followed by a space');
      words.push(word);
    } else {
      const end = line.slice(at).search(/[ \t]/);
      const word = end < 0 ? line.slice(at) : line.slice(at, at + end);
      if (word.includes('"')) fail(`a quote inside ${JSON.stringify(word)}: quote the whole name`);
      words.push(word);
      at += word.length;
    }
  }
  return words;
}

/** The policy's attester keys, as ConsentPolicy's TrustView wants them. */
export function attesterKeys(policy: IdentityTrustPolicy): Set<KeyRef> {
  return new Set(policy.attesters.keys());
}
