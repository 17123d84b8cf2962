/**
 * Schema validation of decoded payloads, turning zod's issues into one RecordError that names
 * the offending field by its JSON path (`payload.works[3][0]: must be …`).
 */
import { z } from 'zod';
import { RecordError, fieldPath, type RecordErrorCode } from './errors.js';
import { preview } from './keys.js';
import { PAYLOAD_SCHEMAS, RECORD_TYPES, type RecordPayload, type RecordType } from './schema.js';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** What a JSON value is, for "must be a string, got a number" style messages. */
function describeJson(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  return `${typeof x} ${preview(x)}`;
}

/** Messages for zod's built-in issues in the project's `must be …, got …` style. */
function issueMessage(iss: RawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `must be ${iss.expected === 'array' || iss.expected === 'object' ? 'an' : 'a'} ${iss.expected}, got ${describeJson(iss.input)}`;
    case 'invalid_value':
      return `must be ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describeJson(iss.input)}`;
    case 'too_small':
      return `must be at least ${String(iss.minimum)}${iss.origin === 'array' ? ' items' : iss.origin === 'string' ? ' characters' : ''}`;
    case 'too_big':
      return `must be at most ${String(iss.maximum)}${iss.origin === 'array' ? ' items' : iss.origin === 'string' ? ' characters' : ''}`;
    default:
      return undefined;
  }
}

const PARSE_OPTIONS = { error: issueMessage, reportInput: true } as const;

export function issueToError(issue: Issue, root: string): RecordError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return new RecordError('unknown-field', 'is not a known field here (unknown fields are rejected)', fieldPath(root, [...issue.path, key]));
  }
  const field = fieldPath(root, issue.path) || 'entry';
  if (issue.code === 'invalid_type' && issue.input === undefined) return new RecordError('missing-field', 'is required', field);
  const code = issue.code === 'custom' ? (issue.params?.code as RecordErrorCode | undefined) : undefined;
  return new RecordError(code ?? 'bad-field', issue.message, field);
}

/**
 * Each schema's compiled twin (z.compile): generated code that accepts exactly what the schema
 * accepts, several times faster, and hands anything it does not accept to the schema itself — so
 * every error is still the schema's own first issue. Compiled on first use. Where code generation
 * is not allowed (zod's `jitless`, or a page whose CSP forbids eval — zod probes that once for its
 * own object fast path) the schema is used as it is.
 */
const compiled = new WeakMap<z.ZodType, z.ZodType>();

function fast<S extends z.ZodType>(schema: S): S {
  let c = compiled.get(schema);
  if (c === undefined) {
    c = z.core.util.allowsEval.value ? z.compile(schema) : schema;
    compiled.set(schema, c);
  }
  return c as S;
}

/** Parses with a schema, throwing the first issue as a RecordError under `root`. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = fast(schema).safeParse(value, PARSE_OPTIONS);
  if (!result.success) throw issueToError(result.error.issues[0], root);
  return result.data;
}

function isRecordType(t: unknown): t is RecordType {
  return (RECORD_TYPES as readonly unknown[]).includes(t);
}

/**
 * Checks a decoded payload against its record type's schema. The type is looked up first, so
 * an unknown type is reported as such rather than as a failed match against every schema.
 */
export function validatePayload(value: unknown, root = 'payload'): RecordPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordError('bad-field', `must be a JSON object, got ${describeJson(value)}`, root);
  }
  const type = (value as { type?: unknown }).type;
  if (type === undefined) throw new RecordError('missing-field', `is required (one of ${RECORD_TYPES.join(', ')})`, `${root}.type`);
  if (!isRecordType(type)) throw new RecordError('unknown-type', `must be one of ${RECORD_TYPES.join(', ')}, got ${preview(type)}`, `${root}.type`);
  return parseWith(PAYLOAD_SCHEMAS[type], value, root) as RecordPayload;
}
