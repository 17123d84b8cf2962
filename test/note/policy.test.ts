/**
 * Trust policies: parsing the tlog-policy line format, quorum rules (k-of-n, nested groups,
 * none), and opening checkpoints whose witness cosignatures must meet the quorum. Quorum
 * evaluation is checked against brute-force counting over every subset of cosigners.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NoteError,
  cosignCheckpoint,
  formatCosignerVerifierKey,
  generatePrivateKey,
  nobleSigner,
  openCheckpointWithPolicy,
  parsePolicy,
  quorumMet,
  signCheckpoint,
  simplePolicy,
  verifierKeyOf,
} from '../../src/note/index.js';
import { expectNoteError } from './helpers.js';

const ORIGIN = 'policy.example/log';
const logKey = generatePrivateKey(ORIGIN);
const logVkey = verifierKeyOf(logKey);
const witnessKeys = ['w1.example', 'w2.example', 'w3.example'].map((n) => generatePrivateKey(n));
const witnessVkeys = witnessKeys.map((k) => formatCosignerVerifierKey(k.name, k.publicKey));
const rogue = generatePrivateKey('w1.example'); // same name as w1, different key

const text = signCheckpoint({ origin: ORIGIN, size: 10, rootHash: new Uint8Array(32).fill(1), extensions: [] }, nobleSigner(logKey));
const body = text.slice(0, text.indexOf('\n\n') + 1);
const cosigned = (keys: typeof witnessKeys) => text + keys.map((k, i) => cosignCheckpoint(body, k, 1_700_000_000 + i)).join('');

describe('trust policy files', () => {
  const file = [
    '# two of three witnesses',
    `log ${logVkey} https://log.example/`,
    ...witnessVkeys.map((v, i) => `witness W${i + 1} ${v} https://w${i + 1}.example/`),
    'group two-of-three 2 W1 W2 W3',
    'quorum two-of-three',
  ].join('\n');

  it('parses log, witnesses, groups and quorum', () => {
    const policy = parsePolicy(file);
    expect(policy.log.name).toBe(ORIGIN);
    expect(policy.logUrl).toBe('https://log.example/');
    expect(policy.witnesses.map((w) => [w.name, w.url])).toEqual([
      ['W1', 'https://w1.example/'],
      ['W2', 'https://w2.example/'],
      ['W3', 'https://w3.example/'],
    ]);
    expect(policy.quorum).toBe('two-of-three');
  });

  it('accepts a checkpoint cosigned by 2 of 3 and refuses one cosigned by 1', () => {
    const policy = parsePolicy(file);
    const ok = openCheckpointWithPolicy(cosigned([witnessKeys[0], witnessKeys[2]]), policy);
    expect(ok.cosigners).toEqual([
      { name: 'W1', timestamp: 1_700_000_000 },
      { name: 'W3', timestamp: 1_700_000_001 },
    ]);
    expect(ok.checkpoint.size).toBe(10);
    expectNoteError(() => openCheckpointWithPolicy(cosigned([witnessKeys[1]]), policy), 'quorum-not-met');
    expectNoteError(() => openCheckpointWithPolicy(text, policy), 'quorum-not-met');
  });

  it('does not count a cosignature by a key the policy does not name, and rejects a bad one by a named key', () => {
    const policy = parsePolicy(file);
    // The rogue key shares W1's name but not its key ID: ignored, so only W2 counts.
    expectNoteError(() => openCheckpointWithPolicy(cosigned([rogue, witnessKeys[1]]), policy), 'quorum-not-met');
    const good = cosigned([witnessKeys[0], witnessKeys[1]]);
    const tampered = good.replace(/(— w2\.example \S{20})(\S)/, (_, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    expect(tampered).not.toBe(good);
    expect(() => openCheckpointWithPolicy(tampered, policy)).toThrow(NoteError);
  });

  it('rejects malformed policies, naming the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['quorum none', /no "log" line/],
      [`log ${logVkey}`, /no "quorum" line/],
      [`log ${logVkey}\nquorum W1`, /line 2/],
      [`log ${logVkey}\nwitness W1 ${witnessVkeys[0]}\ngroup g 2 W1\nquorum g`, /line 3: threshold/],
      [`log ${logVkey}\nwitness W1 ${witnessVkeys[0]}\nwitness W1 ${witnessVkeys[1]}\nquorum W1`, /line 3: "W1" is defined twice/],
      [`log ${logVkey}\nwitness W1 ${logVkey}\nquorum W1`, /key type/],
      [`log ${logVkey}\nfrobnicate\nquorum none`, /line 2: unknown keyword/],
      [`log ${logVkey}\ngroup g any X\nquorum g`, /line 2: member "X" is not defined/],
    ];
    for (const [policy, message] of cases) expect(() => parsePolicy(policy), policy).toThrow(message);
  });
});

describe('quorum rules', () => {
  it('a k-of-n group is met exactly when at least k members cosigned (property, vs counting)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.subarray(['W1', 'W2', 'W3']), (k, signers) => {
        const policy = parsePolicy([`log ${logVkey}`, ...witnessVkeys.map((v, i) => `witness W${i + 1} ${v}`), `group g ${k} W1 W2 W3`, 'quorum g'].join('\n'));
        expect(quorumMet(policy, new Set(signers))).toBe(signers.length >= k);
      }),
    );
  });

  it('nested groups: all of (any of W1,W2) and W3', () => {
    const policy = parsePolicy([`log ${logVkey}`, ...witnessVkeys.map((v, i) => `witness W${i + 1} ${v}`), 'group either any W1 W2', 'group both all either W3', 'quorum both'].join('\n'));
    expect(quorumMet(policy, new Set(['W1', 'W3']))).toBe(true);
    expect(quorumMet(policy, new Set(['W2', 'W3']))).toBe(true);
    expect(quorumMet(policy, new Set(['W1', 'W2']))).toBe(false);
    expect(quorumMet(policy, new Set(['W3']))).toBe(false);
  });

  it('simplePolicy(log, witnesses, k) is the same rule as a k-of-n policy file', () => {
    for (const k of [0, 1, 2, 3]) {
      const policy = simplePolicy(logVkey, witnessVkeys, k);
      const n = k === 0 ? text : cosigned(witnessKeys.slice(0, k));
      expect(openCheckpointWithPolicy(n, policy).cosigners).toHaveLength(k);
      if (k > 0) expectNoteError(() => openCheckpointWithPolicy(cosigned(witnessKeys.slice(0, k - 1)), policy), 'quorum-not-met');
    }
    expectNoteError(() => simplePolicy(logVkey, witnessVkeys, 4), 'bad-policy');
  });
});
