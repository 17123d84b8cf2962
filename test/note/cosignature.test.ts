/** Witness cosignatures (C2SP tlog-cosignature v1.0.1, Ed25519, key type 0x04). */
import { describe, expect, it } from 'vitest';
import {
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  cosignCheckpoint,
  cosignatureVerifier,
  formatCheckpoint,
  formatCosignerVerifierKey,
  generatePrivateKey,
  keyId,
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
import { nodeEd25519Verify, nodeSigner } from '../../src/platform/node-signer.js';
import { CHECKPOINT_15, SKEY, VKEY, b64, expectNoteError, fromB64, hex } from './helpers.js';

const enc = new TextEncoder();
const T = 1679315147;
const witness = generatePrivateKey('witness.example.com/w1');
const wVkey = formatCosignerVerifierKey(witness.name, witness.publicKey);
const wv = cosignatureVerifier(wVkey);
const logVerifier = parseVerifierKey(VKEY);
const cpText = parseNote(CHECKPOINT_15).text;

describe('cosignatures', () => {
  it('have a type-0x04 vkey and key ID, distinct from the Ed25519 ones', () => {
    expect(wv.name).toBe(witness.name);
    expect(wv.type).toBe(KEY_TYPE_COSIGNATURE);
    expect(wv.publicKey).toEqual(witness.publicKey);
    expect(wv.keyId).toEqual(keyId(witness.name, KEY_TYPE_COSIGNATURE, witness.publicKey));
    expect(hex(wv.keyId)).not.toBe(hex(witness.keyId));
    expect(wVkey).toBe(`${witness.name}+${hex(wv.keyId)}+${b64(Uint8Array.from([4, ...witness.publicKey]))}`);
    expect(wVkey).not.toBe(verifierKeyOf(witness));
  });

  it('line: key ID || u64 big-endian time || Ed25519 over "cosignature/v1\\ntime <t>\\n" + checkpoint', () => {
    const line = cosignCheckpoint(cpText, witness, T);
    expect(line.startsWith(`— ${witness.name} `)).toBe(true);
    expect(line.endsWith('\n')).toBe(true);
    const payload = fromB64(line.slice(0, -1).split(' ')[2]);
    expect(payload).toHaveLength(76);
    expect(payload.subarray(0, 4)).toEqual(wv.keyId);
    expect(Buffer.from(payload.subarray(4, 12)).readBigUInt64BE()).toBe(BigInt(T));
    const msg = enc.encode(`cosignature/v1\ntime ${T}\n${cpText}`);
    expect(nobleEd25519Verify(witness.publicKey, msg, payload.subarray(12))).toBe(true);
    expect(nodeEd25519Verify(witness.publicKey, msg, payload.subarray(12))).toBe(true);
  });

  it('round trip: appended to the log-signed checkpoint, verified with the log key', () => {
    const line = cosignCheckpoint(cpText, witness, T);
    for (const note of [CHECKPOINT_15 + line, signNote(cpText, [nobleSigner(parsePrivateKey(SKEY))], [line])]) {
      expect(note).toBe(CHECKPOINT_15 + line);
      for (const verify of [nobleEd25519Verify, nodeEd25519Verify]) {
        const v = cosignatureVerifier(wVkey, verify);
        const r = openCheckpoint(note, parseVerifierKey(VKEY, verify), { extraVerifiers: [v] });
        expect(r.verified.map((s) => s.name)).toEqual(['example.com/log/testdata', witness.name]);
        expect(r.verified[1].line).toBe(line);
        expect(v.timestampOf(r.verified[1])).toBe(T);
      }
      // Without the witness key the cosignature is just unknown.
      expect(openNote(note, [logVerifier]).unknown.map((s) => s.line)).toEqual([line]);
      // The witness alone can open it as a note too.
      expect(openNote(note, [wv]).verified).toHaveLength(1);
    }
  });

  it('the same signature from nodeSigner.sign', () => {
    const s = nodeSigner(witness);
    expect(cosignCheckpoint(cpText, witness, T, (m) => s.sign(m))).toBe(cosignCheckpoint(cpText, witness, T));
  });

  it('fails over a different checkpoint', () => {
    const line = cosignCheckpoint(cpText, witness, T);
    const key = parsePrivateKey(SKEY);
    const other = signCheckpoint({ origin: key.name, size: 16, rootHash: new Uint8Array(32), extensions: [] }, nobleSigner(key));
    expectNoteError(() => openCheckpoint(other + line, logVerifier, { extraVerifiers: [wv] }), 'bad-signature');
    // Extension lines are signed too.
    const withExt = formatCheckpoint({ ...parseNoteCheckpoint(), extensions: ['x'] });
    expect(withExt).not.toBe(cpText);
    const extNote = signNote(withExt, [nobleSigner(key)]);
    expectNoteError(() => openCheckpoint(extNote + line, logVerifier, { extraVerifiers: [wv] }), 'bad-signature');
    expect(openCheckpoint(extNote + cosignCheckpoint(withExt, witness, T), logVerifier, { extraVerifiers: [wv] }).verified).toHaveLength(2);
  });

  it('fails at a different time', () => {
    const line = cosignCheckpoint(cpText, witness, T);
    const [dash, name, p64] = line.slice(0, -1).split(' ');
    for (const t of [T + 1, T - 1, 0]) {
      const payload = fromB64(p64);
      Buffer.from(payload.buffer).writeBigUInt64BE(BigInt(t), 4);
      const forged = `${dash} ${name} ${b64(payload)}\n`;
      expectNoteError(() => openCheckpoint(CHECKPOINT_15 + forged, logVerifier, { extraVerifiers: [wv] }), 'bad-signature');
    }
  });

  it('verify() rejects wrong payload sizes and timestamps beyond 2^53-1', () => {
    const line = cosignCheckpoint(cpText, witness, T);
    const sig = fromB64(line.slice(0, -1).split(' ')[2]).subarray(4);
    const msg = enc.encode(cpText);
    expect(wv.verify(msg, sig)).toBe(true);
    expect(wv.verify(msg, sig.subarray(8))).toBe(false); // a plain Ed25519 signature
    expect(wv.verify(msg, sig.subarray(1))).toBe(false);
    expect(wv.verify(msg, Uint8Array.from([...sig, 0]))).toBe(false);
    const big = sig.slice();
    Buffer.from(big.buffer).writeBigUInt64BE(2n ** 53n, 0);
    expect(wv.verify(msg, big)).toBe(false);
    expectNoteError(() => wv.timestampOf({ name: wv.name, keyId: wv.keyId, signature: big, line: '' }), 'malformed-cosignature');
    expectNoteError(() => wv.timestampOf({ name: 'other', keyId: wv.keyId, signature: sig, line: '' }), 'malformed-cosignature');
  });

  it('a type-0x01 signature by the same key pair is not a cosignature', () => {
    const plain = signNote(cpText, [nobleSigner(witness)]);
    expectNoteError(() => openNote(plain, [wv]), 'no-verified-signature');
  });

  it('cosignCheckpoint checks its input', () => {
    expectNoteError(() => cosignCheckpoint('not a checkpoint\n', witness, T), 'malformed-checkpoint');
    expectNoteError(() => cosignCheckpoint(CHECKPOINT_15, witness, T), 'malformed-checkpoint'); // a note, not its text
    for (const t of [-1, 1.5, NaN, 2 ** 53, Infinity]) expectNoteError(() => cosignCheckpoint(cpText, witness, t), 'malformed-cosignature');
    expectNoteError(() => cosignCheckpoint(cpText, witness, T, () => new Uint8Array(63)), 'malformed-cosignature');
    expectNoteError(() => cosignCheckpoint(cpText, { ...witness, keyId: new Uint8Array(4) }, T), 'malformed-key');
    expect(cosignCheckpoint(cpText, witness, 0)).toMatch(/^— \S+ \S+\n$/);
    expect(KEY_TYPE_ED25519).toBe(1);
  });
});

function parseNoteCheckpoint() {
  return openCheckpoint(CHECKPOINT_15, logVerifier).checkpoint;
}
