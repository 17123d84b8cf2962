/**
 * The browser verifier (noble) and the server verifier (OpenSSL) must agree on every signature,
 * including the edge cases where Ed25519 implementations differ ("Taming the many EdDSAs"):
 * small-order public keys, R with a small-order component, non-canonical encodings, S ≥ L.
 */
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, nobleEd25519Verify } from '../../src/note/index.js';

const nobleSign = (seed: Uint8Array, message: Uint8Array) => ed.sign(message, seed);
import { nodeEd25519Verify } from '../../src/platform/node-signer.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (b: Uint8Array) => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const toLe = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const sha512 = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha512').update(Buffer.concat(parts)).digest());
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

/** The order-8 point T of the paper; R' = rB + T changes only the cofactored equation's answer. */
const T = ed.Point.fromBytes(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'), false);

function both(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): [boolean, boolean] {
  return [nobleEd25519Verify(publicKey, message, signature), nodeEd25519Verify(publicKey, message, signature)];
}

describe('Ed25519: browser and server verifiers agree', () => {
  it('on honest signatures and their one-bit mutations (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (seed, message, at, bit) => {
        const publicKey = ed25519PublicKey(seed);
        const signature = nobleSign(seed, message);
        expect(both(publicKey, message, signature)).toEqual([true, true]);
        const mutated = Uint8Array.from(signature);
        mutated[at % 64] ^= 1 << bit;
        const [noble, node] = both(publicKey, message, mutated);
        expect(noble).toBe(node);
        expect(noble).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a small-order public key on both sides', () => {
    const identityKey = hex('0100000000000000000000000000000000000000000000000000000000000000');
    const signature = Uint8Array.from([...identityKey, ...new Uint8Array(32)]);
    expect(both(identityKey, new TextEncoder().encode('any message'), signature)).toEqual([false, false]);
    for (const k of ['ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', '0000000000000000000000000000000000000000000000000000000000000080']) {
      expect(both(hex(k), new TextEncoder().encode('m'), signature)).toEqual([false, false]);
    }
  });

  it('refuses R with a small-order component on both sides', () => {
    const seed = new Uint8Array(32).fill(7);
    const { prefix, scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed);
    const message = new TextEncoder().encode('hello');
    const r = le(sha512(prefix, message)) % L;
    const rBytes = ed.Point.BASE.multiply(r).add(T).toBytes();
    const k = le(sha512(rBytes, pointBytes, message)) % L;
    const signature = Uint8Array.from([...rBytes, ...toLe((r + k * scalar) % L)]);
    expect(both(pointBytes, message, signature)).toEqual([false, false]);
  });

  it('refuses S ≥ L (malleability) on both sides', () => {
    const seed = new Uint8Array(32).fill(9);
    const message = new TextEncoder().encode('malleable?');
    const signature = nobleSign(seed, message);
    const s = le(signature.subarray(32)) + L;
    const forged = Uint8Array.from([...signature.subarray(0, 32), ...toLe(s)]);
    expect(both(ed25519PublicKey(seed), message, forged)).toEqual([false, false]);
  });
});
