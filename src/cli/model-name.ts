/** NAME@VERSION and [BUILDER/]NAME@VERSION arguments. */
import { parseModelId, type KeyRef, type ModelRef } from '../records/index.js';
import { UsageError } from './output.js';

export function parseNameVersion(s: string, flag = '--model'): { name: string; version: string } {
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) throw new UsageError(`${flag} must be NAME@VERSION, got ${s}`);
  return { name: s.slice(0, at), version: s.slice(at + 1) };
}

/** A model reference; without a builder key the model is the caller's own. */
export function parseModelRef(s: string, self: KeyRef, flag: string): ModelRef {
  if (s.startsWith('ed25519:')) return parseModelId(s, flag);
  return { builder: self, ...parseNameVersion(s, flag) };
}
