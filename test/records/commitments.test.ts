/**
 * The commitments of a creator record (spec/records.md §2.1): the spec's examples, recomputed
 * with node:crypto, and the schema rules around `next`, `rotation` and `compromised`.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordError, emailCommitment, isEmailSalt, nextKeyCommitment, parseRecord, signRecord } from '../../src/records/index.js';
import { alice, creator, signRaw, testKey, verify } from './fixtures.js';

const SALT = '5e6f1a7c0d2b4e8f9a3c6b1d7e0f2a4c';
const ALICE_2 = 'ed25519:5f5b9ab915a3f46a1ed889407bb59b14db3c76a52c6b6c0db8adf523ce1d57a6';

function rejection(entry: Uint8Array): RecordError {
  try {
    parseRecord(entry, { verify });
  } catch (e) {
    return e as RecordError;
  }
  throw new Error('accepted');
}

describe('commitments', () => {
  it('e-mail: the spec example, and the byte string it names', () => {
    const expected = createHash('sha256').update(`pvl-email-commitment-v1\n${SALT}\nalice@example.org`).digest('hex');
    expect(expected).toBe('824e71c22490665e48cae2f5a71425b03670f343341b6cdbe0b4f35d4298c3f5');
    expect(emailCommitment(SALT, ' Alice@Example.org ')).toBe(expected);
    expect(emailCommitment('0'.repeat(32), 'alice@example.org')).not.toBe(expected);
    expect(isEmailSalt(SALT.toUpperCase())).toBe(false);
    expect(() => emailCommitment('abc', 'alice@example.org')).toThrow(/32 lowercase hex/);
  });

  it('next key: the spec example is SHA-256 of the 32 public key bytes', () => {
    const expected = createHash('sha256').update(Buffer.from(ALICE_2.slice(8), 'hex')).digest('hex');
    expect(expected).toBe('2ea6af6d7aa18547b4e8f003c68863130d4e8d2092d0cea44b5f504a33d775b4');
    expect(nextKeyCommitment(ALICE_2)).toBe(expected);
  });
});

describe('creator record schema', () => {
  it('takes a record without a name, with a commitment, a sigless rotation and a compromise', () => {
    const next = nextKeyCommitment(testKey('schema next').ref);
    const { name: _, ...nameless } = creator(alice, { next, rotation: { from: testKey('schema old').ref }, compromised: { since: 3 } });
    expect(parseRecord(signRecord(nameless, alice.signer, { verify }), { verify }).payload).toMatchObject({ next, compromised: { since: 3 } });
  });

  it('refuses a commitment to the author itself, and a compromise outside a rotation', () => {
    expect(rejection(signRaw(creator(alice, { next: nextKeyCommitment(alice.ref) }), alice)).field).toBe('payload.next');
    expect(rejection(signRaw(creator(alice, { compromised: { since: 0 } }), alice)).field).toBe('payload.compromised');
  });

  it('still parses emailSha256 (older logs stay readable)', () => {
    const legacy = creator(alice, { claims: { emailSha256: 'a'.repeat(64) } });
    expect(parseRecord(signRecord(legacy, alice.signer, { verify }), { verify }).payload).toMatchObject({ claims: { emailSha256: 'a'.repeat(64) } });
  });
});
