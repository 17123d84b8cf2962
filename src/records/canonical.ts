/**
 * RFC 8785 (JSON Canonicalization Scheme) through the `canonicalize` package: sorted keys, no
 * insignificant whitespace, ECMAScript number serialisation. One JSON value, one byte string.
 */
import canonicalizeModule from 'canonicalize';
import { encodeUtf8 } from './encoding.js';

/*
 * The package is CommonJS with a TypeScript `export default`: under NodeNext the default import
 * is typed as the module namespace while at run time it is the function itself (and a bundler
 * may hand us either). Resolve it once.
 */
type Serialize = (value: unknown) => string | undefined;
const moduleValue = canonicalizeModule as unknown as Serialize | { default: Serialize };
const serialize: Serialize = typeof moduleValue === 'function' ? moduleValue : moduleValue.default;

/** The RFC 8785 text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = serialize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return encodeUtf8(canonicalJson(value));
}
