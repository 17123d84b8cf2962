/** A generated image corpus (photo-like and drawing-like) and the transforms the issue lists. */
import sharp from 'sharp';

const SIDE = 256;

/** Deterministic PRNG (mulberry32) so the corpus is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const colour = (r: () => number): string => `rgb(${Math.floor(r() * 256)},${Math.floor(r() * 256)},${Math.floor(r() * 256)})`;

function svgFor(seed: number): string {
  const r = rng(seed);
  const kind = seed % 3;
  const shapes: string[] = [];
  const n = 3 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const x = Math.floor(r() * SIDE), y = Math.floor(r() * SIDE), s = 20 + Math.floor(r() * 110);
    shapes.push(r() < 0.5
      ? `<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${colour(r)}"/>`
      : `<rect x="${x - s / 2}" y="${y - s / 2}" width="${s}" height="${s * (0.5 + r())}" fill="${colour(r)}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`);
  }
  const words = ['Atelier', 'Consent', 'Harbour', 'Ochre', 'Ledger', 'Umbra', 'Sketch', 'Lumen'];
  const text = kind === 2
    ? `<text x="${10 + r() * 60}" y="${80 + r() * 120}" font-size="${36 + r() * 30}" font-family="sans-serif" fill="${colour(r)}">${words[seed % words.length]} ${seed}</text>`
    : '';
  const angle = Math.floor(r() * 360);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIDE}" height="${SIDE}">
<defs><linearGradient id="g" gradientTransform="rotate(${angle} .5 .5)"><stop offset="0" stop-color="${colour(r)}"/><stop offset="1" stop-color="${colour(r)}"/></linearGradient></defs>
<rect width="100%" height="100%" fill="${kind === 1 ? '#ffffff' : 'url(#g)'}"/>${shapes.join('')}${text}</svg>`;
}

/** Base image `seed` as PNG: gradient or white background, random shapes, text for every third; photo-like ones get noise. */
export async function baseImage(seed: number): Promise<Buffer> {
  const drawn = await sharp(Buffer.from(svgFor(seed))).removeAlpha().raw().toBuffer();
  if (seed % 3 === 0) {
    const r = rng(seed * 7919);
    for (let i = 0; i < drawn.length; i++) drawn[i] = Math.max(0, Math.min(255, drawn[i] + Math.round((r() - 0.5) * 40)));
  }
  return sharp(drawn, { raw: { width: SIDE, height: SIDE, channels: 3 } }).png().toBuffer();
}

/** Kinds of the extra distinct images (distinctImage(seed) is of kind seed mod 4). */
export const DISTINCT_KINDS = ['gradient', 'shapes', 'noise', 'text'] as const;
const WORDS = 'atelier consent harbour ochre ledger umbra sketch lumen quiet river stone paper window garden north amber copper linen thread violet morning salt field ember'.split(' ');

/**
 * Extra distinct images for the false-match count (no transforms): a linear or radial gradient of
 * 2–4 random colours; 2–11 random circles, ellipses, rectangles and triangles on a flat colour;
 * smooth colour noise (a random 4–16 cell grid upscaled bicubically) with grain; or 2–10 lines of
 * rendered text (sans, serif or mono, 14–47 px) on a light background.
 */
export async function distinctImage(seed: number): Promise<Buffer> {
  const r = rng(0x9e3779b9 ^ Math.imul(seed, 2654435761));
  const kind = DISTINCT_KINDS[seed % DISTINCT_KINDS.length];
  const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIDE}" height="${SIDE}">`;
  const png = (svg: string): Promise<Buffer> => sharp(Buffer.from(svg)).png().toBuffer();
  if (kind === 'gradient') {
    const n = 2 + Math.floor(r() * 3);
    const stops = Array.from({ length: n }, (_, i) => `<stop offset="${(i / (n - 1)).toFixed(2)}" stop-color="${colour(r)}"/>`).join('');
    const gradient = r() < 0.5
      ? `<linearGradient id="g" gradientTransform="rotate(${Math.floor(r() * 360)} .5 .5)">${stops}</linearGradient>`
      : `<radialGradient id="g" cx="${r().toFixed(2)}" cy="${r().toFixed(2)}" r="${(0.3 + r() * 0.7).toFixed(2)}">${stops}</radialGradient>`;
    return png(`${open}<defs>${gradient}</defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`);
  }
  if (kind === 'shapes') {
    const shapes: string[] = [];
    for (let i = 0, n = 2 + Math.floor(r() * 10); i < n; i++) {
      const x = Math.floor(r() * SIDE), y = Math.floor(r() * SIDE), s = 15 + Math.floor(r() * 140), t = r();
      shapes.push(t < 0.3 ? `<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${colour(r)}"/>`
        : t < 0.6 ? `<ellipse cx="${x}" cy="${y}" rx="${s / 2}" ry="${s / 4}" fill="${colour(r)}" transform="rotate(${Math.floor(r() * 180)} ${x} ${y})"/>`
        : t < 0.85 ? `<rect x="${x - s / 2}" y="${y - s / 2}" width="${s}" height="${s * (0.3 + r())}" fill="${colour(r)}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`
        : `<polygon points="${x},${y - s / 2} ${x + s / 2},${y + s / 2} ${x - s / 2},${y + s / 2}" fill="${colour(r)}"/>`);
    }
    return png(`${open}<rect width="100%" height="100%" fill="${colour(r)}"/>${shapes.join('')}</svg>`);
  }
  if (kind === 'noise') {
    const cells = 4 + Math.floor(r() * 13);
    const grid = Buffer.alloc(cells * cells * 3);
    for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(r() * 256);
    const px = await sharp(grid, { raw: { width: cells, height: cells, channels: 3 } }).resize(SIDE, SIDE, { kernel: 'cubic' }).raw().toBuffer();
    const grain = 10 + r() * 60;
    for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, px[i] + Math.round((r() - 0.5) * grain)));
    return sharp(px, { raw: { width: SIDE, height: SIDE, channels: 3 } }).png().toBuffer();
  }
  const size = 14 + Math.floor(r() * 34);
  const family = ['sans-serif', 'serif', 'monospace'][Math.floor(r() * 3)];
  const x0 = 4 + Math.floor(r() * 60);
  const count = 2 + Math.floor(r() * 9);
  const lines: string[] = [];
  for (let y = size + Math.floor(r() * 60); y < SIDE && lines.length < count; y += Math.floor(size * (1.1 + r() * 0.8))) {
    const words = Array.from({ length: 1 + Math.floor(r() * 4) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
    lines.push(`<text x="${x0 + Math.floor(r() * 20)}" y="${y}" font-size="${size}" font-family="${family}"${r() < 0.3 ? ' font-weight="bold"' : ''}>${words}</text>`);
  }
  const light = (): number => 200 + Math.floor(r() * 56);
  const dark = (): number => Math.floor(r() * 90);
  return png(`${open}<rect width="100%" height="100%" fill="rgb(${light()},${light()},${light()})"/><g fill="rgb(${dark()},${dark()},${dark()})">${lines.join('')}</g></svg>`);
}

const watermark = Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><rect width="120" height="30" fill="white" fill-opacity="0.5"/><text x="6" y="21" font-size="16" font-family="sans-serif" fill="black" fill-opacity="0.7">© stock</text></svg>`,
);

/** Centre crop removing `share` of the width and of the height (half from each side). */
function crop(img: Buffer, share: number): Promise<Buffer> {
  const cut = Math.round(SIDE * share);
  const side = SIDE - cut;
  return sharp(img).extract({ left: cut >> 1, top: cut >> 1, width: side, height: side }).png().toBuffer();
}

export const TRANSFORMS: Record<string, (img: Buffer) => Promise<Buffer>> = {
  'jpeg-q90': (img) => sharp(img).jpeg({ quality: 90 }).toBuffer(),
  'jpeg-q70': (img) => sharp(img).jpeg({ quality: 70 }).toBuffer(),
  'jpeg-q50': (img) => sharp(img).jpeg({ quality: 50 }).toBuffer(),
  webp: (img) => sharp(img).webp({ quality: 80 }).toBuffer(),
  'resize-50': (img) => sharp(img).resize(SIDE / 2, SIDE / 2).png().toBuffer(),
  'crop-5': (img) => crop(img, 0.05),
  'crop-10': (img) => crop(img, 0.1),
  'rotate-2': async (img) => {
    const rotated = await sharp(img).rotate(2, { background: '#808080' }).toBuffer({ resolveWithObject: true });
    const { width, height } = rotated.info;
    return sharp(rotated.data).extract({ left: (width - SIDE) >> 1, top: (height - SIDE) >> 1, width: SIDE, height: SIDE }).png().toBuffer();
  },
  watermark: (img) => sharp(img).composite([{ input: watermark, left: SIDE - 130, top: SIDE - 40 }]).png().toBuffer(),
};
