import { expect } from 'vitest';
import { NoteError } from '../../src/note/index.js';

/** Runs f and asserts it throws a NoteError (with `code`, if given); returns the error. */
export function expectNoteError(f: () => unknown, code?: string): NoteError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a NoteError').toBeInstanceOf(NoteError);
  if (code !== undefined) expect((thrown as NoteError).code).toBe(code);
  return thrown as NoteError;
}

/** Rethrows anything that is not a NoteError; true if f threw. */
export function throwsOnlyNoteError(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof NoteError) return true;
    throw e;
  }
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
export const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

export const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
export const SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
export const CHECKPOINT_15 =
  'example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n\n' +
  '— example.com/log/testdata M9e0luh4jTG+UMBqOUo9/q+yAEvx1ilBEniMvjf1zfcBOhg+CKubMt53MvIt/uEWP6zdkdIQzd/fmwlM/dlPWF74ewI=\n';
