/** The identity trust policy file (spec/policy.md, "Trust policy"): what parses, and errors that name the line. */
import { describe, expect, it } from 'vitest';
import { TrustPolicyError, parseTrustPolicy } from '../../src/identity/index.js';
import { alice, bob } from '../records/fixtures.js';

describe('parseTrustPolicy', () => {
  it('reads attesters (quoted names, # inside quotes), checks, comments and blank lines', () => {
    const policy = parseTrustPolicy(
      ['# who I trust', '', `attester "Collecting Society #1 \\"CS\\"" ${alice.ref}  # since 2026`, `attester Library ${bob.ref}`, 'check domains', '\tcheck profiles\r'].join('\n'),
    );
    expect([...policy.attesters]).toEqual([
      [alice.ref, 'Collecting Society #1 "CS"'],
      [bob.ref, 'Library'],
    ]);
    expect(policy.checkDomains).toBe(true);
    expect(policy.checkProfiles).toBe(true);
  });

  it('an empty file trusts no one and checks nothing', () => {
    expect(parseTrustPolicy('# nothing\n')).toEqual({ attesters: new Map(), checkDomains: false, checkProfiles: false });
  });

  const cases: Array<[string, string]> = [
    [`witness "X" ${alice.ref}`, 'line 2: unknown keyword "witness": a line is "attester \\"<name>\\" ed25519:<64 hex>" or "check domains|profiles"'],
    [`attester "Society ${alice.ref}`, 'line 2: a quoted name is not closed'],
    [`attester "Society" ed25519:ABC`, 'line 2: the attester key must be ed25519:<64 lowercase hex>, got "ed25519:ABC"'],
    [`attester "Society"`, 'line 2: must be attester "<name>" ed25519:<64 hex>'],
    [`attester "" ${alice.ref}`, 'line 2: the attester name must not be empty'],
    [`attester "Other" ${bob.ref}`, `line 2: attester key ${bob.ref} is already named "Library"`],
    ['check everything', 'line 2: must be "check domains" or "check profiles", got "check everything"'],
    [`attester So"ciety ${alice.ref}`, 'line 2: a quote inside "So\\"ciety": quote the whole name'],
  ];
  it.each(cases)('refuses %s', (line, message) => {
    const text = line.includes(bob.ref) && line.startsWith('attester "Other"') ? `attester Library ${bob.ref}\n${line}` : `# policy\n${line}`;
    let error: unknown;
    try {
      parseTrustPolicy(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrustPolicyError);
    expect((error as Error).message).toBe(message);
  });
});
