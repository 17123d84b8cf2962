/** C2SP tlog-tiles entry bundles: each entry as a big-endian uint16 length and its bytes. */
import { LedgerError } from '../errors.js';

export const MAX_ENTRY_SIZE = 0xffff;

export function encodeBundle(entries: Uint8Array[]): Uint8Array {
  const total = entries.reduce((n, e) => n + 2 + e.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

export function decodeBundle(bundle: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (at + 2 > bundle.length) throw new LedgerError('bad-bundle', `truncated length at byte ${at}`, 'bundle');
    const len = (bundle[at] << 8) | bundle[at + 1];
    if (at + 2 + len > bundle.length) throw new LedgerError('bad-bundle', `entry ${entries.length} runs past the end`, 'bundle');
    entries.push(bundle.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return entries;
}
