import { LedgerError } from '../errors.js';

/**
 * A record (or manifest) that is not acceptable. `field` is the JSON path of the offending part
 * of the entry — `payload.works[3][0]`, `signatures[0].sig`, or `entry` for the bytes as a
 * whole — so the message reads `payload.works[3][0]: must be a work identifier …`.
 */
export class RecordError extends LedgerError {
  constructor(code: RecordErrorCode, message: string, field: string) {
    super(code, message, field);
  }
}

export type RecordErrorCode =
  | 'too-large'
  | 'bad-utf8'
  | 'malformed-json'
  | 'bad-json'
  | 'non-canonical'
  | 'bad-envelope'
  | 'bad-base64'
  | 'bad-signature'
  | 'unknown-type'
  | 'unknown-field'
  | 'missing-field'
  | 'bad-field'
  | 'bad-key'
  | 'bad-work-id'
  | 'bad-time'
  | 'bad-manifest'
  | 'root-mismatch'
  | 'count-mismatch'
  | 'not-admissible';

/** `payload` + ["works", 3, 0] → `payload.works[3][0]`. */
export function fieldPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
