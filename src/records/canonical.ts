/**
 * RFC 8785 (JSON Canonicalization Scheme) through the `canonicalize` package: sorted keys, no
 * insignificant whitespace, ECMAScript number serialisation. One JSON value, one byte string.
 *
 * Values that are plain JSON whose object keys already come in RFC 8785 order (every record
 * payload parsed from its canonical text) take a shortcut through JSON.stringify, which gives
 * the same bytes; anything else goes through the package (test/records/properties.test.ts
 * compares the two on arbitrary JSON values and on every record type).
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
  const text = inCanonicalOrder(value, 0) ? JSON.stringify(value) : serialize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return encodeUtf8(canonicalJson(value));
}

/** Deeper than this the shortcut is not taken (the package then decides, as it always did). */
const MAX_SHORTCUT_DEPTH = 64;

/**
 * Whether JSON.stringify(value) is already its RFC 8785 form: only strings, booleans, null,
 * finite numbers (JSON.stringify and RFC 8785 both write them as ECMAScript Number::toString, and
 * strings with the same escapes — the package itself uses JSON.stringify for both), dense arrays
 * and plain objects, neither with a toJSON member; and in every object the keys JSON.stringify
 * walks (Object.keys order: integer-like keys first, then insertion order) already sorted by
 * UTF-16 code units, the order RFC 8785 writes them in. Anything else — undefined, functions,
 * symbols, NaN, holes, class instances, keys out of order — answers false and is left to the
 * package, whose output (or exception) stays authoritative.
 */
function inCanonicalOrder(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_SHORTCUT_DEPTH) return false;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Array.prototype) {
        const array = value as unknown[];
        if ((array as { toJSON?: unknown }).toJSON !== undefined) return false;
        for (let i = 0; i < array.length; i++) {
          // A hole reads as undefined and is refused with it.
          if (!inCanonicalOrder(array[i], depth + 1)) return false;
        }
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      const object = value as Record<string, unknown>;
      if (object.toJSON !== undefined) return false; // own or inherited, enumerable or not
      const keys = Object.keys(object);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0 && !(keys[i - 1] < keys[i])) return false;
        if (!inCanonicalOrder(object[keys[i]], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
