/** The attestation and attestation-revocation records (spec/records.md): what validates and each error. */
import { describe, expect, it } from 'vitest';
import { validatePayload } from '../../src/records/index.js';
import { alice, bob } from './fixtures.js';

const attestation = { type: 'attestation', v: 1, author: alice.ref, time: '2026-01-02T00:00:00Z', subject: bob.ref, role: 'creator', name: 'Bob Painter' };

function problem(payload: unknown): string | undefined {
  try {
    validatePayload(payload);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('attestation records', () => {
  it('accept the minimal form, identifiers and validUntil', () => {
    expect(problem(attestation)).toBeUndefined();
    expect(problem({ ...attestation, role: 'rights-holder', identifiers: ['https://bob.example/', 'ISNI 0000 0001 2345 6789'], validUntil: '2027-01-01T00:00:00Z' })).toBeUndefined();
  });

  it.each([
    [{ ...attestation, subject: alice.ref }, /payload.subject: must differ from the author/],
    [{ ...attestation, role: 'owner' }, /payload.role: must be one of "creator", "builder", "rights-holder", "agent"/],
    [{ ...attestation, name: 'two\nlines' }, /payload.name: must be well-formed Unicode without control characters/],
    [{ ...attestation, name: 'x'.repeat(201) }, /payload.name: must be at most 200 characters/],
    [{ ...attestation, identifiers: ['https://bob.example/', 'https://bob.example/'] }, /payload.identifiers\[1\]: repeats/],
    [{ ...attestation, identifiers: ['http://bad url'] }, /payload.identifiers\[0\]: must be an absolute http\(s\) URL or an identifier without a URL scheme/],
    [{ ...attestation, identifiers: Array.from({ length: 17 }, (_, i) => `id ${i}`) }, /payload.identifiers: must have at most 16 identifiers/],
    [{ ...attestation, validUntil: '2026-01-01' }, /payload.validUntil: must be an RFC 3339 UTC time/],
  ])('refuse %#', (payload, message) => {
    expect(problem(payload)).toMatch(message);
  });
});

describe('attestation-revocation records', () => {
  const revocation = { type: 'attestation-revocation', v: 1, author: alice.ref, time: '2026-01-03T00:00:00Z', attestation: { index: 4 } };
  it('accept a reason and compromisedSince', () => {
    expect(problem({ ...revocation, reason: 'left the society', compromisedSince: 7 })).toBeUndefined();
  });
  it('refuse a negative compromisedSince and an unknown field', () => {
    expect(problem({ ...revocation, compromisedSince: -1 })).toMatch(/payload.compromisedSince: must not be negative/);
    expect(problem({ ...revocation, effective: '2026-01-03T00:00:00Z' })).toMatch(/effective/);
  });
});
