/**
 * Evidence a verifier fetches itself to tie a key to names people recognise (spec/policy.md,
 * "Domain and profile evidence"): the creator's website lists the key at a well-known path, or a
 * profile page links back to it (Mastodon / IndieWeb rel="me"). The log operator has no part in
 * it. A fetch that fails is "not verified" with the reason, never an exception: one dead website
 * must not stop an audit.
 */
import { type KeyRef, isKeyRef } from '../records/index.js';

export const WELL_KNOWN_PATH = '/.well-known/provenance-ledger.json';
/** The `<meta name=…>` a profile page may carry instead of a rel="me" link. */
export const PROFILE_META_NAME = 'provenance-ledger';

export type EvidenceKind = 'domain' | 'profile';

export interface EvidenceResult {
  kind: EvidenceKind;
  /** The URL fetched (the well-known file, or the profile page). */
  url: string;
  verified: boolean;
  /** The key found (verified), or why none was (not verified). */
  key?: KeyRef;
  reason: string;
}

export interface EvidenceOptions {
  /** Per fetch, redirects and body included. */
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

type Fetched = { ok: true; url: string; body: string } | { ok: false; reason: string };

/** Checks domain and profile evidence, fetching each URL at most once per checker (one per run). */
export class EvidenceChecker {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxRedirects: number;
  private readonly fetched = new Map<string, Promise<Fetched>>();

  constructor(opts: EvidenceOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
    this.maxRedirects = opts.maxRedirects ?? 3;
  }

  /** Whether `<origin of website>/.well-known/provenance-ledger.json` lists one of `keys`. */
  async checkDomain(website: string, keys: readonly KeyRef[]): Promise<EvidenceResult> {
    const url = wellKnownUrl(website);
    if (!url) return { kind: 'domain', url: website, verified: false, reason: `${website} is not an http(s) URL` };
    const fetched = await this.fetchText(url);
    if (!fetched.ok) return { kind: 'domain', url, verified: false, reason: fetched.reason };
    const listed = listedKeys(fetched.body);
    if (typeof listed === 'string') return { kind: 'domain', url, verified: false, reason: listed };
    const key = keys.find((k) => listed.includes(k));
    if (!key) return { kind: 'domain', url, verified: false, reason: `lists ${listed.length} key(s), none of them this identity's` };
    return { kind: 'domain', url, verified: true, key, reason: `${url} lists ${key}` };
  }

  /** Whether the profile page links back to one of `keys` (rel="me" link, or the provenance-ledger meta tag). */
  async checkProfile(profile: string, keys: readonly KeyRef[]): Promise<EvidenceResult> {
    const fetched = await this.fetchText(profile);
    if (!fetched.ok) return { kind: 'profile', url: profile, verified: false, reason: fetched.reason };
    const key = keys.find((k) => linksBackTo(fetched.body, k));
    if (!key) return { kind: 'profile', url: profile, verified: false, reason: 'the page has no rel="me" link or provenance-ledger meta tag naming this identity\'s keys' };
    return { kind: 'profile', url: profile, verified: true, key, reason: `${profile} links back to ${key}` };
  }

  private fetchText(url: string): Promise<Fetched> {
    let pending = this.fetched.get(url);
    if (!pending) this.fetched.set(url, (pending = this.fetchFollowing(url)));
    return pending;
  }

  /** GET with redirects followed by hand (only to http(s), at most maxRedirects) and the body capped. */
  private async fetchFollowing(start: string): Promise<Fetched> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      let url = start;
      for (let redirects = 0; ; redirects++) {
        if (!isHttp(url)) return { ok: false, reason: `${url} is not an http(s) URL` };
        const response = await fetch(url, { redirect: 'manual', signal: abort.signal, headers: { accept: 'application/json, text/html;q=0.9' } });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel();
          if (redirects >= this.maxRedirects) return { ok: false, reason: `more than ${this.maxRedirects} redirects (last to ${location})` };
          url = new URL(location, url).href;
          continue;
        }
        if (!response.ok) {
          await response.body?.cancel();
          return { ok: false, reason: `${url} answered HTTP ${response.status}` };
        }
        const body = await this.readCapped(response);
        return body === undefined ? { ok: false, reason: `${url} sent more than ${this.maxBytes} bytes` } : { ok: true, url, body };
      }
    } catch (e) {
      if (abort.signal.aborted) return { ok: false, reason: `${start} did not answer within ${this.timeoutMs / 1000} s` };
      return { ok: false, reason: `${start} could not be fetched: ${describe(e)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The body as text, or undefined past maxBytes (the rest is not read). */
  private async readCapped(response: Response): Promise<string | undefined> {
    if (!response.body) return '';
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > this.maxBytes) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all);
  }
}

function isHttp(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The well-known file of a website's origin (whatever path the website claim has). */
export function wellKnownUrl(website: string): string | undefined {
  if (!isHttp(website)) return undefined;
  return new URL(WELL_KNOWN_PATH, new URL(website).origin).href;
}

/** The keys a well-known file lists, or what is wrong with it. */
function listedKeys(body: string): KeyRef[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return 'the file is not JSON';
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'the file has no "keys" list';
  return keys.filter((k): k is KeyRef => typeof k === 'string' && isKeyRef(k));
}

const TAG = /<(a|link|meta)\b([^>]*)>/gi;
const ATTRIBUTE = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;

/** Whether an HTML page links back to `key`: <a>/<link> with rel containing "me" and href naming it, or the meta tag. */
export function linksBackTo(html: string, key: KeyRef): boolean {
  for (const [, tag, attributeText] of html.matchAll(TAG)) {
    const attributes = parseAttributes(attributeText);
    if (tag.toLowerCase() === 'meta') {
      if (attributes.get('name')?.toLowerCase() === PROFILE_META_NAME && attributes.get('content')?.trim() === key) return true;
      continue;
    }
    const rel = (attributes.get('rel') ?? '').toLowerCase().split(/\s+/);
    if (rel.includes('me') && decoded(attributes.get('href') ?? '').includes(key)) return true;
  }
  return false;
}

function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const [, name, double, single, bare] of text.matchAll(ATTRIBUTE)) {
    const lower = name.toLowerCase();
    if (!attributes.has(lower)) attributes.set(lower, unescapeHtml(double ?? single ?? bare ?? ''));
  }
  return attributes;
}

function unescapeHtml(s: string): string {
  return s.replace(/&(amp|quot|apos|lt|gt|#58|#x3a);/gi, (_, name: string) => ({ amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', '#58': ':', '#x3a': ':' })[name.toLowerCase()]!);
}

/** An href as a key would appear in it: percent-escapes (`ed25519%3A…`) decoded where they are valid. */
function decoded(href: string): string {
  try {
    return decodeURIComponent(href);
  } catch {
    return href;
  }
}

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
