/**
 * Dispute rulings (spec/policy.md §2, Rulings): an attester says who owns a work. They settle a
 * dispute only for a verifier whose trust policy names the attester; the server trusts nobody,
 * so for it they change no verdict and are listed as claims.
 */
import type { KeyRef } from '../records/index.js';

export interface RulingState {
  index: number;
  /** The attester. */
  author: KeyRef;
  owner: KeyRef;
  /** The work's identifiers, as the ruling names them. */
  work: readonly string[];
}

/** The latest ruling logged before `before` by an attester in `attesters`, if any (rulings in log order). */
export function latestTrustedRuling(rulings: readonly RulingState[], attesters: ReadonlySet<KeyRef>, before: number): RulingState | undefined {
  for (let i = rulings.length - 1; i >= 0; i--) {
    const r = rulings[i];
    if (r.index < before && attesters.has(r.author)) return r;
  }
  return undefined;
}
