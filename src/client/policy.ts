/**
 * The trust a verifier places in checkpoints, from command-line style inputs: a log key alone,
 * a log key plus witness keys and a quorum, or a C2SP tlog-policy text. Browser-safe.
 */
import { LedgerError } from '../errors.js';
import { type Ed25519Verify, type TrustPolicy, type Verifier, nobleEd25519Verify, parsePolicy, parseVerifierKey, simplePolicy } from '../note/index.js';

const sameKey = (a: Verifier, b: Verifier) => a.name === b.name && a.keyId.length === b.keyId.length && a.keyId.every((x, i) => x === b.keyId[i]);

export interface TrustInputs {
  /** The log's verifier key text (needed unless a policy text is given). */
  vkey?: string;
  /** Witness cosigner verifier keys (type 0x04). */
  witnesses?: string[];
  /** How many of `witnesses` must cosign; default all of them. */
  quorum?: number;
  /** A C2SP tlog-policy file's text; excludes `witnesses`/`quorum`. */
  policyText?: string;
}

/**
 * The policy for the inputs, or undefined when only a log key is given (plain log-signature
 * checking). A policy file's log key must equal `vkey` when both are given.
 */
export function trustPolicyFrom(inputs: TrustInputs, verify: Ed25519Verify = nobleEd25519Verify): TrustPolicy | undefined {
  const witnesses = inputs.witnesses ?? [];
  if (inputs.policyText !== undefined) {
    if (witnesses.length > 0 || inputs.quorum !== undefined) throw new LedgerError('bad-policy', 'give a policy file or --witness/--quorum, not both', 'policy');
    const policy = parsePolicy(inputs.policyText, verify);
    if (inputs.vkey !== undefined && !sameKey(policy.log, parseVerifierKey(inputs.vkey, verify))) {
      throw new LedgerError('bad-policy', "the policy's log key is not the --vkey key", 'policy');
    }
    return policy;
  }
  if (inputs.vkey === undefined) throw new LedgerError('bad-policy', 'a log verifier key is required', 'vkey');
  if (witnesses.length === 0) {
    if (inputs.quorum !== undefined && inputs.quorum !== 0) throw new LedgerError('bad-policy', 'a quorum needs witness keys', 'quorum');
    return undefined;
  }
  return simplePolicy(inputs.vkey, witnesses, inputs.quorum ?? witnesses.length, verify);
}
