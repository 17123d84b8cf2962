/**
 * What the ledger keeps about identities (spec/storage.md; GET /identities in spec/api.md): the
 * attestations and creator records are policy facts in the store, loaded again on open, and a
 * revocation refused at admission changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { type AttestationRecord, type AttestationRevocationRecord, type RecordPayload, signRecord } from '../../src/records/index.js';
import { type TestKey, alice, bob, creator, grant, sha256Id, testKey, verify } from '../records/fixtures.js';
import { freshDir, openTestLedger, settled } from './support.js';

const society = testKey('ledger-society');
const sign = (payload: RecordPayload, key: TestKey) => signRecord(payload, key.signer, { verify });
const attestation = (subject: TestKey): AttestationRecord => ({ type: 'attestation', v: 1, author: society.ref, time: '2026-01-02T00:00:00Z', subject: subject.ref, role: 'creator', name: 'Alice A.', identifiers: ['https://alice.example/', 'ISNI 0000 0001 2345 6789'] });
const revocation = (index: number, by: TestKey = society): AttestationRevocationRecord => ({ type: 'attestation-revocation', v: 1, author: by.ref, time: '2026-01-03T00:00:00Z', attestation: { index }, compromisedSince: 1 });

describe('identities in the ledger', () => {
  it('keeps creator claims, attestations and their revocation across a restart', async () => {
    const dir = await freshDir();
    const ledger = await openTestLedger(dir);
    const [c, , a] = await ledger.submit([sign(creator(alice, { claims: { website: 'https://alice.example/' } }), alice), sign(grant(alice, [[sha256Id('identities work')]]), alice), sign(attestation(alice), society)]);
    await expect(ledger.submit([sign(revocation(a.index, bob), bob)])).rejects.toThrow(/only its attester can revoke it/);
    const [r] = await ledger.submit([sign(revocation(a.index), society)]);
    await settled(ledger, r.index);
    const before = await ledger.identity!(alice.ref);
    await ledger.close();

    const reopened = await openTestLedger(dir);
    const after = await reopened.identity!(alice.ref);
    expect(after).toEqual(before);
    expect(after).toMatchObject({
      key: alice.ref,
      identity: alice.ref,
      keys: [{ key: alice.ref, creatorRecord: c.index }],
      creator: { index: c.index, key: alice.ref, name: `Creator ${alice.key.name}`, claims: { website: 'https://alice.example/' } },
      attestations: [{ index: a.index, attester: society.ref, subject: alice.ref, name: 'Alice A.', identifiers: ['https://alice.example/', 'ISNI 0000 0001 2345 6789'], revocation: { index: r.index, compromisedSince: 1 } }],
    });
    expect(await reopened.identity!(testKey('nobody').ref)).toBeUndefined();
  });
});
