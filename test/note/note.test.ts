import { describe, expect, it } from 'vitest';
import {
  KEY_TYPE_ED25519,
  NoteError,
  type Signer,
  type Verifier,
  formatCheckpoint,
  generatePrivateKey,
  nobleEd25519Verify,
  nobleSigner,
  openCheckpoint,
  openNote,
  parseNote,
  parsePrivateKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyOf,
} from '../../src/note/index.js';
import { LedgerError } from '../../src/errors.js';
import { nodeEd25519Verify, nodeSigner } from '../../src/platform/node-signer.js';
import { CHECKPOINT_15, SKEY, VKEY, b64, expectNoteError, fromB64 } from './helpers.js';

const enc = new TextEncoder();
const TEXT = 'hello\nworld\n';
const alice = generatePrivateKey('example.com/alice');
const bob = generatePrivateKey('example.com/bob');
const carol = generatePrivateKey('example.com/carol');
const vAlice = parseVerifierKey(verifierKeyOf(alice));
const vBob = parseVerifierKey(verifierKeyOf(bob), nodeEd25519Verify);
const vCarol = parseVerifierKey(verifierKeyOf(carol));

/** Rewrites the payload of signature line `i` of a note with f. */
function tamper(note: string, i: number, f: (payload: Uint8Array) => Uint8Array | string): string {
  const split = note.lastIndexOf('\n\n') + 2;
  const lines = note.slice(split, -1).split('\n');
  const [dash, name, payload] = lines[i].split(' ');
  const out = f(fromB64(payload));
  lines[i] = `${dash} ${name} ${typeof out === 'string' ? out : b64(out)}`;
  return note.slice(0, split) + lines.join('\n') + '\n';
}
const flipLast = (p: Uint8Array) => {
  const q = p.slice();
  q[q.length - 1] ^= 1;
  return q;
};

describe('NoteError', () => {
  it('is a LedgerError with a code', () => {
    const e = expectNoteError(() => parseNote('x'), 'malformed-note');
    expect(e).toBeInstanceOf(LedgerError);
    expect(e.name).toBe('NoteError');
  });
});

describe('signNote / openNote with several signatures', () => {
  const note = signNote(TEXT, [nobleSigner(alice), nodeSigner(bob), nobleSigner(carol)]);

  it('writes text, blank line, one line per signer in order', () => {
    const lines = note.split('\n');
    expect(note.startsWith(TEXT + '\n')).toBe(true);
    expect(lines.slice(3, 6).map((l) => l.split(' ')[1])).toEqual(['example.com/alice', 'example.com/bob', 'example.com/carol']);
    expect(lines[6]).toBe('');
    const { text, signatures } = parseNote(note);
    expect(text).toBe(TEXT);
    expect(signatures.map((s) => s.signature.length)).toEqual([64, 64, 64]);
    expect(signatures[0].keyId).toEqual(alice.keyId);
    expect(signatures.map((s) => s.line).join('')).toBe(note.slice(TEXT.length + 1));
  });

  it('ignores unknown keys', () => {
    const r = openNote(note, [vAlice]);
    expect(r.text).toBe(TEXT);
    expect(r.verified.map((s) => s.name)).toEqual(['example.com/alice']);
    expect(r.unknown.map((s) => s.name)).toEqual(['example.com/bob', 'example.com/carol']);
    expect(openNote(note, [vCarol, vBob, vAlice]).verified.map((s) => s.name)).toEqual([
      'example.com/alice',
      'example.com/bob',
      'example.com/carol',
    ]);
  });

  it('rejects a bad signature by a known key, even next to a good one', () => {
    const bad = tamper(note, 1, flipLast);
    expectNoteError(() => openNote(bad, [vAlice, vBob]), 'bad-signature');
    // Unknown, so ignored:
    expect(openNote(bad, [vAlice]).verified).toHaveLength(1);
    // Right key ID, wrong signature length:
    expectNoteError(() => openNote(tamper(note, 0, (p) => p.subarray(0, 60)), [vAlice]), 'bad-signature');
    expectNoteError(() => openNote(tamper(note, 0, (p) => Uint8Array.from([...p, 0])), [vAlice]), 'bad-signature');
  });

  it('rejects a note without a known signature', () => {
    const other = parseVerifierKey(verifierKeyOf(generatePrivateKey('example.com/alice')));
    expectNoteError(() => openNote(note, []), 'no-verified-signature');
    expectNoteError(() => openNote(note, [other]), 'no-verified-signature'); // same name, other key ID
  });

  it('treats a known key ID under another name as unknown', () => {
    const renamed = note.replace('— example.com/alice ', '— example.com/mallory ');
    const r = openNote(renamed, [vAlice, vBob]);
    expect(r.verified.map((s) => s.name)).toEqual(['example.com/bob']);
    expect(r.unknown.map((s) => s.name)).toContain('example.com/mallory');
  });

  it('verifies every repeated signature of a known key and lists it once', () => {
    const one = signNote(TEXT, [nobleSigner(alice)]);
    const line = one.slice(TEXT.length + 1);
    expect(openNote(one + line + line, [vAlice]).verified).toHaveLength(1);
    const badCopy = tamper(one + line, 1, flipLast);
    expectNoteError(() => openNote(badCopy, [vAlice]), 'bad-signature');
    // Identical unknown lines are listed once (bob and carol, each repeated).
    const r = openNote(one + note.slice(TEXT.length + 1) + note.slice(TEXT.length + 1), [vAlice]);
    expect(r.unknown.map((s) => s.name)).toEqual(['example.com/bob', 'example.com/carol']);
    expect(r.verified).toHaveLength(1);
  });

  it('accepts 16 and 100 signature lines, rejects 101', () => {
    const many = (n: number) => signNote(TEXT, Array.from({ length: n }, () => nobleSigner(alice)));
    expect(openNote(many(16), [vAlice]).verified).toHaveLength(1);
    const hundred = many(100);
    expect(parseNote(hundred).signatures).toHaveLength(100);
    expectNoteError(() => parseNote(hundred + hundred.split('\n').at(-2) + '\n'), 'malformed-note');
    expectNoteError(() => many(101), 'malformed-note');
  });

  it('appends extra signature lines with or without their newline', () => {
    const line = signNote(TEXT, [nobleSigner(bob)]).slice(TEXT.length + 1);
    const n1 = signNote(TEXT, [nobleSigner(alice)], [line]);
    const n2 = signNote(TEXT, [nobleSigner(alice)], [line.slice(0, -1)]);
    expect(n1).toBe(n2);
    expect(openNote(n1, [vAlice, vBob]).verified).toHaveLength(2);
    expect(signNote(TEXT, [], [line])).toBe(TEXT + '\n' + line);
    for (const bad of ['', 'x', '- example.com/bob AAAA', line + '\n', line.replace('—', '-'), line.slice(0, -2) + '\r\n']) {
      expectNoteError(() => signNote(TEXT, [nobleSigner(alice)], [bad]), 'malformed-note');
    }
  });

  it('rejects unsignable texts and signers', () => {
    for (const t of ['', 'no newline', 'crlf\r\n', 'tab\there\n', 'nul\u0000\n', 'lone \ud800\n']) {
      expectNoteError(() => signNote(t, [nobleSigner(alice)]), 'malformed-note');
    }
    expectNoteError(() => signNote(TEXT, []), 'malformed-note');
    const s = nobleSigner(alice);
    expectNoteError(() => signNote(TEXT, [{ ...s, name: 'has space' }]), 'malformed-key');
    expectNoteError(() => signNote(TEXT, [{ ...s, keyId: new Uint8Array(3) }]), 'malformed-key');
    expectNoteError(() => signNote(TEXT, [{ ...s, sign: () => new Uint8Array(0) }]), 'malformed-note');
  });

  it('keeps blank lines inside the text: the last blank line separates', () => {
    const text = 'a\n\nb\n\n';
    const n = signNote(text, [nobleSigner(alice)]);
    expect(openNote(n, [vAlice]).text).toBe(text);
  });

  it('reports two different keys with the same name and key ID as ambiguous', () => {
    const fake: Verifier = { ...vAlice, publicKey: bob.publicKey };
    expectNoteError(() => openNote(note, [vAlice, fake]), 'ambiguous-key');
    expect(openNote(note, [vAlice, vAlice]).verified).toHaveLength(1);
  });
});

describe('noble and node:crypto Ed25519', () => {
  it('sign identically and verify each other', () => {
    for (const key of [alice, bob, parsePrivateKey(SKEY)]) {
      const a = nobleSigner(key);
      const b = nodeSigner(key);
      expect(b.keyId).toEqual(a.keyId);
      for (const msg of ['', 'x', TEXT, 'ü'.repeat(1000)].map((s) => enc.encode(s))) {
        const sa = a.sign(msg);
        const sb = b.sign(msg);
        expect(sb).toEqual(sa);
        expect(sb.constructor).toBe(Uint8Array);
        for (const verify of [nobleEd25519Verify, nodeEd25519Verify]) {
          expect(verify(key.publicKey, msg, sa)).toBe(true);
          const bad = sa.slice();
          bad[7] ^= 0x40;
          expect(verify(key.publicKey, msg, bad)).toBe(false);
          expect(verify(key.publicKey, Uint8Array.from([...msg, 0]), sa)).toBe(false);
          expect(verify(bob.publicKey === key.publicKey ? alice.publicKey : bob.publicKey, msg, sa)).toBe(false);
        }
      }
    }
  });

  it('return false, never throw, on malformed input', () => {
    const msg = enc.encode('m');
    const sig = nobleSigner(alice).sign(msg);
    const cases: Array<[Uint8Array, Uint8Array]> = [
      [alice.publicKey.subarray(0, 31), sig],
      [new Uint8Array(33), sig],
      [alice.publicKey, sig.subarray(0, 63)],
      [alice.publicKey, new Uint8Array(65)],
      [new Uint8Array(32).fill(0xff), sig], // not a canonical point encoding
      [new Uint8Array(32), sig], // small-order point
      [alice.publicKey, Uint8Array.from([...sig.subarray(0, 32), ...new Uint8Array(32).fill(0xff)])], // s >= L
    ];
    for (const verify of [nobleEd25519Verify, nodeEd25519Verify]) {
      for (const [pk, s] of cases) expect(verify(pk, msg, s)).toBe(false);
      expect(verify(undefined as unknown as Uint8Array, msg, sig)).toBe(false);
    }
  });

  it('refuse inconsistent private key objects', () => {
    for (const make of [nobleSigner, nodeSigner]) {
      expectNoteError(() => make({ ...alice, keyId: bob.keyId }), 'malformed-key');
      expectNoteError(() => make({ ...alice, publicKey: bob.publicKey }), 'malformed-key');
      expectNoteError(() => make({ ...alice, name: 'example.com/bob' }), 'malformed-key');
      expectNoteError(() => make({ ...alice, seed: alice.seed.subarray(1) }), 'malformed-key');
    }
  });
});

describe('openCheckpoint', () => {
  const log = generatePrivateKey('example.com/log');
  const vLog = parseVerifierKey(verifierKeyOf(log));
  const cp = { origin: 'example.com/log', size: 7, rootHash: new Uint8Array(32).fill(9), extensions: ['ext one', 'two'] };

  it('opens a checkpoint signed by the log key, extension lines included', () => {
    const note = signCheckpoint(cp, nodeSigner(log));
    const r = openCheckpoint(note, vLog);
    expect(r.checkpoint).toEqual(cp);
    expect(r.text).toBe(formatCheckpoint(cp));
    expect(r.text).toBe('example.com/log\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\next one\ntwo\n');
    expect(r.note).toBe(note);
    expect(openCheckpoint(enc.encode(note), vLog).note).toBe(note);
  });

  it('requires the origin to match the key name or opts.origin', () => {
    const other = { ...cp, origin: 'example.com/other' };
    const note = signCheckpoint(other, nobleSigner(log));
    expectNoteError(() => openCheckpoint(note, vLog), 'origin-mismatch');
    expect(openCheckpoint(note, vLog, { origin: 'example.com/other' }).checkpoint.origin).toBe('example.com/other');
    expectNoteError(() => openCheckpoint(signCheckpoint(cp, nobleSigner(log)), vLog, { origin: 'example.com/other' }), 'origin-mismatch');
  });

  it('requires the log signature even when another known key signed', () => {
    const note = signCheckpoint(cp, nobleSigner(alice));
    expectNoteError(() => openCheckpoint(note, vLog, { extraVerifiers: [vAlice] }), 'no-verified-signature');
    const both = signNote(formatCheckpoint(cp), [nobleSigner(log), nobleSigner(alice)]);
    const r = openCheckpoint(both, vLog, { extraVerifiers: [vAlice] });
    expect(r.verified.map((s) => s.name)).toEqual(['example.com/log', 'example.com/alice']);
    expect(openCheckpoint(both, vLog).verified).toHaveLength(1);
    expectNoteError(() => openCheckpoint(tamper(both, 1, flipLast), vLog, { extraVerifiers: [vAlice] }), 'bad-signature');
  });

  it('rejects signed non-checkpoints', () => {
    const note = signNote('example.com/log\n7\n', [nobleSigner(log)]);
    expectNoteError(() => openCheckpoint(note, vLog), 'malformed-checkpoint');
  });

  it('opens the vector checkpoint with a nodeEd25519Verify verifier', () => {
    expect(openCheckpoint(CHECKPOINT_15, parseVerifierKey(VKEY, nodeEd25519Verify)).checkpoint.size).toBe(15);
  });
});

describe('Signer is pluggable', () => {
  it('signs with any object of the Signer shape', () => {
    const inner = nobleSigner(alice);
    let calls = 0;
    const counting: Signer = { name: inner.name, keyId: inner.keyId, sign: (m) => (calls++, inner.sign(m)) };
    expect(openNote(signNote(TEXT, [counting]), [vAlice]).verified).toHaveLength(1);
    expect(calls).toBe(1);
    expect(KEY_TYPE_ED25519).toBe(1);
    expect(NoteError).toBeDefined();
  });
});
