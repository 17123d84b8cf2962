/**
 * trustPolicyFrom (src/client/policy.ts): the verifiers' --vkey/--witness/--quorum/--policy
 * inputs. Checkpoints are cosigned here with cosignCheckpoint and judged by the resulting policy.
 */
import { describe, expect, it } from 'vitest';
import { trustPolicyFrom } from '../../src/client/policy.js';
import { cosignCheckpoint, formatCosignerVerifierKey, generatePrivateKey, nobleSigner, openCheckpointWithPolicy, signCheckpoint, verifierKeyOf } from '../../src/note/index.js';

const ORIGIN = 'test.example/trust';
const logKey = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(logKey);
const witnessKeys = ['a', 'b', 'c'].map((n) => generatePrivateKey(`${n}.test.example`));
const witnessVkeys = witnessKeys.map((k) => formatCosignerVerifierKey(k.name, k.publicKey));

/** A log-signed checkpoint cosigned by the witnesses at `who`. */
function cosigned(who: number[]): string {
  const note = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: new Uint8Array(32).fill(7), extensions: [] }, nobleSigner(logKey));
  const text = note.slice(0, note.indexOf('\n\n') + 1);
  return note + who.map((i) => cosignCheckpoint(text, witnessKeys[i], 1_700_000_000 + i)).join('');
}

const accepts = (policy: ReturnType<typeof trustPolicyFrom>, note: string) => {
  try {
    openCheckpointWithPolicy(note, policy!);
    return true;
  } catch {
    return false;
  }
};

describe('trustPolicyFrom', () => {
  it('is no policy for a log key alone', () => {
    expect(trustPolicyFrom({ vkey })).toBeUndefined();
  });

  it('requires every witness by default and K of them with a quorum', () => {
    const all = trustPolicyFrom({ vkey, witnesses: witnessVkeys });
    expect([accepts(all, cosigned([0, 1])), accepts(all, cosigned([0, 1, 2]))]).toEqual([false, true]);
    const two = trustPolicyFrom({ vkey, witnesses: witnessVkeys, quorum: 2 });
    expect([cosigned([]), cosigned([2]), cosigned([0, 2]), cosigned([1, 2])].map((n) => accepts(two, n))).toEqual([false, false, true, true]);
  });

  it('reads a C2SP tlog-policy text and checks its log key against --vkey', () => {
    const text = [`log ${vkey}`, ...witnessVkeys.map((k, i) => `witness w${i} ${k}`), 'group g any w0 w1 w2', 'quorum g', ''].join('\n');
    const policy = trustPolicyFrom({ vkey, policyText: text });
    expect([accepts(policy, cosigned([])), accepts(policy, cosigned([1]))]).toEqual([false, true]);
    const otherLog = verifierKeyOf(generatePrivateKey(ORIGIN));
    expect(() => trustPolicyFrom({ vkey: otherLog, policyText: text })).toThrow(expect.objectContaining({ code: 'bad-policy', field: 'policy' }));
  });

  it('refuses mixed or incomplete inputs', () => {
    expect(() => trustPolicyFrom({ vkey, witnesses: witnessVkeys, policyText: `log ${vkey}\nquorum none\n` })).toThrow(expect.objectContaining({ code: 'bad-policy' }));
    expect(() => trustPolicyFrom({ vkey, quorum: 1 })).toThrow(expect.objectContaining({ code: 'bad-policy', field: 'quorum' }));
    expect(() => trustPolicyFrom({ vkey, witnesses: witnessVkeys, quorum: 4 })).toThrow(expect.objectContaining({ code: 'bad-policy' }));
    expect(() => trustPolicyFrom({})).toThrow(expect.objectContaining({ field: 'vkey' }));
  });
});
