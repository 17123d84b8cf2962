/**
 * The creator page end to end: headless Chromium (playwright-core; the browser comes from the npm package @sparticuz/chromium, test/support/chromium.ts) against a real `pvl serve`
 * process (needs `npm run build`, which also builds dist/web). A creator works only in the page;
 * a builder uses the CLI. Independent expectations: work ids recomputed here with node:crypto and
 * sharp (src/works/node.ts), verdicts derived from the policy rules (spec/policy.md), and a proxy
 * that corrupts proof bundles so the page must show the failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { tempDir } from '../support/tmp.js';
import { startPvlServe } from '../support/pvl-serve.js';
import { workIdsOfBytes } from '../../src/works/node.js';
import { parsePrivateKey } from '../../src/note/index.js';
import { formatKeyRef } from '../../src/records/index.js';

const MAIN = resolve('dist/src/cli/main.js');
/** Where screenshots go: a temporary folder, so that `npm test` leaves the checkout clean; PVL_SCREENSHOTS=docs/screenshots refreshes the README's. */
const SCREENSHOTS = resolve(process.env.PVL_SCREENSHOTS ?? join(tmpdir(), 'pvl-page-screenshots'));
const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let server: ChildProcess;
let url: string;
let proxy: Server;
let proxyUrl: string;
let proxyMode: 'flip' | 'relabel' | 'none' = 'none';
let browser: Browser;
let vkey: string;

const sha256Id = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function pvl(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('node', [MAIN, ...args, '--json'], { cwd: dir });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Two distinct 256×256 images of large shapes (so a re-encoding keeps their perceptual code). */
async function makeImage(seed: number): Promise<Buffer> {
  const shapes = [0, 1, 2, 3, 4, 5]
    .map((i) => {
      const x = (seed * 53 + i * 71) % 200;
      const y = (seed * 31 + i * 97) % 200;
      const grey = (seed * 40 + i * 45) % 256;
      return `<rect x="${x}" y="${y}" width="${60 + ((i * 13) % 40)}" height="${50 + ((i * 29) % 50)}" fill="rgb(${grey},${grey},${grey})"/>`;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="rgb(${seed * 60 % 256},${seed * 60 % 256},${seed * 60 % 256})"/>${shapes}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Forwards to the real server, changing answers about uses by `tamper()`: 'flip' flips one bit of
 * every bundle's first inclusion-proof hash; 'relabel' renames the model shown beside the bundle.
 */
function startProxy(target: string, tamper: () => 'flip' | 'relabel' | 'none'): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const mode = tamper();
      if (mode === 'none' || !/^\/(works|creators)\/[^/]+\/uses/.test(req.url ?? '')) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { uses: Array<{ model: { name: string }; bundle: { log: { inclusionProof: string[] } } }> };
        for (const use of body.uses) {
          if (mode === 'relabel') {
            use.model.name = 'innocent';
            continue;
          }
          const proof = use.bundle.log.inclusionProof;
          expect(proof.length).toBeGreaterThan(0);
          const hash = Buffer.from(proof[0], 'base64');
          hash[0] ^= 1;
          proof[0] = hash.toString('base64');
        }
        const out = Buffer.from(JSON.stringify(body));
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': String(out.length) });
        res.end(out);
      });
    });
    req.pipe(up);
  });
  return new Promise((ok) => proxy.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`)));
}

async function openPage(base: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  expect(errors).toEqual([]);
  return page;
}

async function pinKey(page: Page, key: string): Promise<void> {
  await page.getByLabel('Log key you trust').fill(key);
  await page.getByRole('button', { name: 'Pin key' }).click();
  await expect.poll(() => page.locator('#trust-status').textContent()).toContain('Pinned');
}

/** The rows of every "Training uses" table, as [card title, model, verdict, match, proof mark]. */
async function useRows(page: Page): Promise<string[][]> {
  return page.$$eval('#works article', (cards) =>
    cards.flatMap((card) =>
      Array.from(card.querySelectorAll('table'))
        .filter((t) => t.querySelector('caption')?.textContent === 'Training uses')
        .flatMap((t) => Array.from(t.querySelectorAll('tbody tr')))
        .map((tr) => {
          const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '');
          return [card.querySelector('h3')?.textContent ?? '', cells[0], cells[2], cells[3], (tr.querySelector('.mark') as HTMLElement | null)?.dataset.outcome ?? 'pending'];
        }),
    ),
  );
}

/** The rows of every "Consents" table, as [card title, log index, status, proof mark]. */
async function consentRows(page: Page): Promise<string[][]> {
  return page.$$eval('#works article', (cards) =>
    cards.flatMap((card) =>
      Array.from(card.querySelectorAll('table'))
        .filter((t) => t.querySelector('caption')?.textContent === 'Consents')
        .flatMap((t) => Array.from(t.querySelectorAll('tbody tr')))
        .map((tr) => {
          const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '');
          return [card.querySelector('h3')?.textContent ?? '', cells[0], cells[2], (tr.querySelector('.mark') as HTMLElement | null)?.dataset.outcome ?? 'pending'];
        }),
    ),
  );
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-web-'));
  ({ server, url } = await startPvlServe(dir));
  vkey = (await (await fetch(`${url}/log/vkey`)).text()).trim();
  proxyUrl = await startProxy(url, () => proxyMode);
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
}, 30000);

afterAll(async () => {
  await browser?.close();
  proxy?.close();
  server?.kill('SIGTERM');
  await cleanup?.();
});

describe('the creator page', () => {
  it('serves the built page and its assets from the server itself, same origin only', async () => {
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/(src|href)="?(https?:)?\/\//);
    for (const [path, type] of [
      ['/app.js', /^text\/javascript/],
      ['/style.css', /^text\/css/],
      ['/app.js.map', /^application\/json/],
    ] as const) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
    }
    const statsAnswer = await fetch(`${url}/stats`);
    expect(statsAnswer.headers.get('access-control-allow-origin')).toBe('*');
    const stats = (await statsAnswer.json()) as { treeSize: number; history: unknown[] };
    expect(stats.treeSize).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(stats.history)).toBe(true);
  });

  it('creator grants in the page, builder declares via the CLI, the page verifies, detects tampering and reflects a revocation', async () => {
    const pngA = await makeImage(1);
    const pngB = await makeImage(2);
    const jpegB = await sharp(pngB).jpeg({ quality: 90 }).toBuffer();
    await writeFile(join(dir, 'a.png'), pngA);
    await writeFile(join(dir, 'b.png'), pngB);
    const page = await openPage(url);

    // Tabs work from the keyboard (arrow keys move between them).
    await page.locator('#tab-check').focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('#view-identity').isVisible()).toBe(true);
    expect(await page.locator('#tab-identity').getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-identity');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.locator('#view-check').isVisible()).toBe(true);

    // Every form control has a label.
    const unlabelled = await page.$$eval('input, select, textarea', (els) => els.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id));
    expect(unlabelled).toEqual([]);

    await pinKey(page, vkey);

    // A key made in the page, a creator registration and a grant for both images.
    await page.locator('#tab-identity').click();
    await page.getByLabel('Name for a new key').fill('alice');
    await page.getByRole('button', { name: 'Create a key' }).click();
    const keyRef = (await page.locator('#identity code').textContent())!;
    expect(keyRef).toMatch(/^ed25519:[0-9a-f]{64}$/);
    // The key file the page offers is the one `pvl keygen` writes: the CLI signs with it.
    const [keyDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download my key file' }).click()]);
    await keyDownload.saveAs(join(dir, 'alice.key'));
    expect(formatKeyRef(parsePrivateKey((await readFile(join(dir, 'alice.key'), 'utf8')).trim()).publicKey)).toBe(keyRef);
    await page.getByLabel('Name shown to others').fill('Alice');
    await page.getByRole('button', { name: 'Sign and register' }).click();
    await expect.poll(() => page.locator('#identity-status').textContent()).toMatch(/^Registered: log entry 1/); // after the log's first clock record (spec/policy.md "The clock")

    await page.locator('#tab-check').click();
    await page.locator('#files').setInputFiles([join(dir, 'a.png'), join(dir, 'b.png')]);
    await expect.poll(() => page.locator('#works article').count()).toBe(2);
    const idsShown = await page.locator('#works article .ids').allTextContents();
    expect(idsShown[0].split(/\s+/)[0]).toBe(sha256Id(pngA));
    expect(idsShown[1].split(/\s+/)[0]).toBe(sha256Id(pngB));
    const pagePhashB = idsShown[1].split(/\s+/)[1];
    expect(pagePhashB).toMatch(/^phash:[0-9a-f]{16}$/);

    await page.locator('#tab-identity').click();
    await page.getByLabel('Training other AI (classifiers, search, recommendation)').check();
    await page.getByRole('button', { name: 'Sign and grant' }).click();
    await expect.poll(() => page.locator('#identity-status').textContent()).toMatch(/^Consent granted: log entry \d+/);
    // Next after the registration, unless a clock record of the log's for a new second came first.
    const grantIndex = Number(/log entry (\d+)/.exec((await page.locator('#identity-status').textContent())!)![1]);
    expect([2, 3]).toContain(grantIndex);
    await page.screenshot({ path: join(SCREENSHOTS, 'identity.png'), fullPage: true });

    // The builder's own ids, computed with sharp: the original A, and a JPEG re-encoding of B.
    const idsA = await workIdsOfBytes(pngA, 'a.png');
    const idsJpegB = await workIdsOfBytes(jpegB, 'b.jpg');
    expect(idsJpegB[0]).toBe(sha256Id(jpegB));
    // The re-encoded copy keeps the perceptual code the browser computed for the original.
    expect(idsJpegB[1]).toBe(pagePhashB);
    await pvl('keygen', '--name', 'builder', '--out', 'builder.key');
    const server = ['--server', url, '--vkey', 'log.vkey', '--key', 'builder.key'];
    await writeFile(join(dir, 'items.jsonl'), `${JSON.stringify({ work: idsA, consent: grantIndex })}\n${JSON.stringify({ work: idsJpegB, consent: grantIndex })}\n`);
    const use = await pvl('use', 'declare', ...server, '--model', 'painter@1', '--items', 'items.jsonl');
    const useIndex = Number(use.index);
    expect(useIndex).toBeGreaterThan(grantIndex);

    // Both uses, consented, each verified in the browser against the pinned key.
    await page.locator('#tab-check').click();
    await page.getByRole('button', { name: 'Check again' }).click();
    await expect.poll(() => useRows(page), { timeout: 10000 }).toEqual([
      ['a.png', 'painter@1', 'consented', 'exact (sha256)', 'verified'],
      ['b.png', 'painter@1', 'consented', 'exact (phash)', 'verified'],
    ]);
    await expect.poll(() => consentRows(page)).toEqual([
      ['a.png', String(grantIndex), 'active', 'verified'],
      ['b.png', String(grantIndex), 'active', 'verified'],
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'check.png'), fullPage: true });

    // A downloaded proof bundle verifies offline with the CLI.
    const [bundleDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download proof' }).first().click()]);
    await bundleDownload.saveAs(join(dir, 'bundle.json'));
    expect(await pvl('verify', 'bundle.json', '--vkey', 'log.vkey')).toMatchObject({ ok: true, kind: 'proof-bundle', index: useIndex });

    // The same uses arrived live as notifications.
    await page.locator('#tab-notify').click();
    await expect.poll(() => page.locator('#notifications li').count()).toBe(2);
    await expect.poll(() => page.locator('#notifications .mark[data-outcome=verified]').count()).toBe(2);
    expect(await page.locator('#notify-count').textContent()).toBe('2');
    await page.screenshot({ path: join(SCREENSHOTS, 'notifications.png'), fullPage: true });

    // A proof corrupted on the way (proxy) is shown as failed, never as verified.
    proxyMode = 'flip';
    const tampered = await openPage(proxyUrl);
    await pinKey(tampered, vkey);
    await tampered.locator('#files').setInputFiles([join(dir, 'a.png'), join(dir, 'b.png')]);
    await expect.poll(() => useRows(tampered), { timeout: 10000 }).toEqual([
      ['a.png', 'painter@1', 'consented', 'exact (sha256)', 'failed'],
      ['b.png', 'painter@1', 'consented', 'exact (phash)', 'failed'],
    ]);
    expect(await tampered.locator('.mark.failed').first().textContent()).toContain('check failed');
    expect(await tampered.locator('.mark.failed .reason').first().textContent()).toContain('inclusion proof');
    await tampered.screenshot({ path: join(SCREENSHOTS, 'tampered.png'), fullPage: true });
    // A valid bundle beside a model name the proven record does not carry: failed too.
    proxyMode = 'relabel';
    await tampered.getByRole('button', { name: 'Check again' }).click();
    await expect.poll(() => useRows(tampered), { timeout: 10000 }).toEqual([
      ['a.png', 'innocent@1', 'consented', 'exact (sha256)', 'failed'],
      ['b.png', 'innocent@1', 'consented', 'exact (phash)', 'failed'],
    ]);
    expect(await tampered.locator('.mark.failed .reason').first().textContent()).toContain('the proven record is painter@1');
    proxyMode = 'none';
    await tampered.getByRole('button', { name: 'Check again' }).click();
    await expect.poll(() => useRows(tampered), { timeout: 10000 }).toEqual([
      ['a.png', 'painter@1', 'consented', 'exact (sha256)', 'verified'],
      ['b.png', 'painter@1', 'consented', 'exact (phash)', 'verified'],
    ]);
    // Importing keys: a broken file is refused with a readable line; the downloaded key file is taken.
    await tampered.locator('#tab-identity').click();
    await writeFile(join(dir, 'broken.key'), 'PRIVATE+KEY+alice+00000000+AAAA\n');
    await tampered.locator('#key-import').setInputFiles(join(dir, 'broken.key'));
    await expect.poll(() => tampered.locator('#identity-status').textContent()).toMatch(/^Not done: ./);
    expect(await tampered.locator('#identity code').count()).toBe(0);
    await tampered.locator('#key-import').setInputFiles(join(dir, 'alice.key'));
    await expect.poll(() => tampered.locator('#identity code').textContent()).toBe(keyRef);
    await tampered.context().close();

    // Revoking in the page: a later use relying on the grant is judged "revoked".
    await page.locator('#tab-identity').click();
    await page.getByRole('button', { name: `Revoke grant ${grantIndex}` }).click();
    await expect.poll(() => page.locator('#identity-status').textContent()).toMatch(new RegExp(`^Grant ${grantIndex} revoked \\(log entry \\d+\\)`));
    await writeFile(join(dir, 'later.jsonl'), `${JSON.stringify({ work: idsA, consent: grantIndex })}\n`);
    await pvl('use', 'declare', ...server, '--model', 'painter@2', '--items', 'later.jsonl');
    await page.locator('#tab-check').click();
    await page.getByRole('button', { name: 'Check again' }).click();
    await expect.poll(() => useRows(page), { timeout: 10000 }).toEqual([
      ['a.png', 'painter@1', 'consented', 'exact (sha256)', 'verified'],
      ['a.png', 'painter@2', 'revoked', 'exact (sha256)', 'verified'],
      ['b.png', 'painter@1', 'consented', 'exact (phash)', 'verified'],
    ]);

    // Auditor view: verified checkpoint, history and verdict totals from /stats. The totals are
    // tallied behind the index (spec/api.md, /stats): wait until they cover the whole tree.
    await expect
      .poll(async () => {
        const s = (await (await fetch(`${url}/stats`)).json()) as { treeSize: number; indexed: number; judged: number };
        return s.judged === s.treeSize && s.indexed === s.treeSize;
      })
      .toBe(true);
    await page.locator('#tab-audit').click();
    await expect.poll(() => page.locator('#audit .mark.verified').count()).toBe(1);
    const audit = await page.locator('#audit').textContent();
    expect(audit).toContain('signature verified against your pinned key');
    const verdicts = await page.$$eval('#audit table', (tables) => {
      const t = tables.find((x) => x.querySelector('caption')?.textContent === 'Verdict totals')!;
      return Object.fromEntries(Array.from(t.querySelectorAll('tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    });
    expect(verdicts).toEqual({ consented: '2', revoked: '1' });
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });

    // Phone-sized screen: nothing wider than the viewport.
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(url);
    await phone.locator('#files').setInputFiles([join(dir, 'a.png')]);
    await expect.poll(() => useRows(phone), { timeout: 10000 }).toEqual([
      ['a.png', 'painter@1', 'consented', 'exact (sha256)', 'verified'],
      ['a.png', 'painter@2', 'revoked', 'exact (sha256)', 'verified'],
    ]);
    const wide = await phone.$$eval('body *', (els) => els.filter((e) => e.getBoundingClientRect().right > 391).map((e) => `${e.tagName}#${e.id}.${e.className}:${Math.round(e.getBoundingClientRect().right)}`));
    expect(wide).toEqual([]);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(SCREENSHOTS, 'phone.png'), fullPage: true });

    // Auditor view: a witness is listed only if its cosignature verifies against a key the user
    // configured; a line that merely names a configured witness, or an unknown one, is counted.
    const { cosignCheckpoint, formatCosignerVerifierKey, generatePrivateKey, keyId, KEY_TYPE_COSIGNATURE } = await import('../../src/note/index.js');
    const { randomBytes } = await import('node:crypto');
    const [witnessA, witnessB] = [generatePrivateKey('witness-a.example'), generatePrivateKey('witness-b.example')];
    await page.getByLabel('Witness keys you trust').fill([witnessA, witnessB].map((k) => formatCosignerVerifierKey(k.name, k.publicKey)).join('\n'));
    await page.getByRole('button', { name: 'Pin key' }).click();
    await expect.poll(() => page.locator('#trust-status').textContent()).toContain('2 witness key(s)');
    await page.route('**/checkpoint', async (route) => {
      const answer = await route.fetch();
      const note = await answer.text();
      const signed = cosignCheckpoint(note.slice(0, note.indexOf('\n\n') + 1), witnessA, Math.floor(Date.now() / 1000));
      const forged = Buffer.concat([keyId(witnessB.name, KEY_TYPE_COSIGNATURE, witnessB.publicKey), randomBytes(72)]).toString('base64');
      await route.fulfill({ response: answer, body: `${note}${signed}\u2014 ${witnessB.name} ${forged}\n\u2014 stranger.example ${randomBytes(76).toString('base64')}\n` });
    });
    await page.locator('#tab-check').click();
    await page.locator('#tab-audit').click();
    await expect.poll(() => page.locator('#unverified-cosignatures').textContent()).toBe('unverified cosignature lines: 2');
    const witnessRows = await page.$$eval('#audit table', (tables) => {
      const t = tables.find((x) => x.querySelector('caption')?.textContent === 'Witnesses');
      return t ? Array.from(t.querySelectorAll('tbody tr')).map((tr) => tr.querySelector('td')?.textContent) : [];
    });
    expect(witnessRows).toEqual(['witness-a.example']);
    expect(await page.locator('#audit').textContent()).not.toContain('stranger.example');
    await page.unroute('**/checkpoint');

    // Notifications: a use is shown only as its proof shows it, and only if the proven item is one
    // of the creator's works. Events from a lying server: an inflated index, another creator's
    // work (a valid bundle), a relabelled `via` model; and one honest event.
    const fx = await import('../records/fixtures.js');
    const { formatRecordTime, signRecord } = await import('../../src/records/index.js');
    const now = formatRecordTime(new Date());
    const post = async (payload: Parameters<typeof signRecord>[0], by: typeof fx.carol) => {
      const res = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(signRecord(payload, by.signer, { verify: fx.verify })).toString('utf8') });
      return ((await res.json()) as { index: number }).index;
    };
    const workC = fx.sha256Id('carol: a song');
    const carolGrant = await post(fx.grant(fx.carol, [[workC]], { time: now }), fx.carol);
    await post(fx.use(fx.builder1, 'singer@1', [fx.item(workC, { index: carolGrant })], { time: now }), fx.builder1);
    type Reported = { useIndex: number; position: number; model: { name: string } };
    const alicesUse = ((await (await fetch(`${url}/works/${sha256Id(pngA)}/uses`)).json()) as { uses: Reported[] }).uses[0];
    const carolsUse = ((await (await fetch(`${url}/works/${workC}/uses`)).json()) as { uses: Reported[] }).uses[0];
    const event = (use: Reported, id = `${use.useIndex}.${use.position}`) => `id: ${id}\nevent: use\ndata: ${JSON.stringify(use)}\n\n`;
    const stream = [event(alicesUse), event({ ...alicesUse, useIndex: 9007199254740000 }), event(carolsUse), event({ ...alicesUse, via: { lineageIndex: 0, model: { ...alicesUse.model, name: 'innocent' } } } as Reported)].join('');
    const watcher = await openPage(url);
    await pinKey(watcher, vkey);
    await watcher.route('**/events?*', (route) => route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: `retry: 600000\n\n${stream}` }));
    await watcher.locator('#tab-identity').click();
    await watcher.locator('#key-import').setInputFiles(join(dir, 'alice.key'));
    await watcher.locator('#tab-notify').click();
    await expect.poll(() => watcher.locator('#notifications li .mark[data-outcome]').count(), { timeout: 10000 }).toBe(4);
    expect(await watcher.locator('#notifications li.fault').count()).toBe(3);
    expect(await watcher.locator('#notifications li .mark[data-outcome=verified]').count()).toBe(1);
    expect(await watcher.locator('#notify-count').textContent()).toBe('1');
    const reasons = (await watcher.locator('#notifications li.fault .reason').allTextContents()).join('\n');
    expect(reasons).toContain(`use 9007199254740000.${alicesUse.position}: the server says use 9007199254740000.${alicesUse.position}, but its bundle proves log index ${alicesUse.useIndex}`);
    expect(reasons).toContain(`is none of the works of ${keyRef}`);
    expect(reasons).toContain('the server says innocent@1');
    expect(await watcher.locator('#notifications li:not(.fault) strong').textContent()).toBe(`Declared use by ${alicesUse.model.name}@1`);
    await watcher.context().close();
  }, 120000);
});
