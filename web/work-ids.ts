/**
 * A dropped file's work identifiers, computed in this browser (spec/works.md §1): `sha256:` of the
 * exact bytes; `phash:` for images the browser can decode (its own decoder, createImageBitmap);
 * `tcode:` for UTF-8 text. Nothing is uploaded.
 */
import { type WorkId, workIdOfBytes } from '../src/records/works.js';
import { IMAGE_SIDE, imageWorkId, textWorkId } from '../src/works/index.js';

export interface FileWorkIds {
  name: string;
  sha256: WorkId;
  ids: WorkId[];
}

export async function workIdsOfFile(file: File): Promise<FileWorkIds> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const sha256 = workIdOfBytes(bytes);
  const ids: WorkId[] = [sha256];
  const perceptual = (await imageId(file)) ?? textId(bytes, file.name);
  if (perceptual) ids.push(perceptual);
  return { name: file.name, sha256, ids };
}

/** `phash:` of an image, or undefined when the browser cannot decode the file as one. */
async function imageId(file: File): Promise<WorkId | undefined> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch {
    return undefined;
  }
  try {
    return imageWorkId(grey32(bitmap));
  } finally {
    bitmap.close();
  }
}

/**
 * 32×32 greyscale pixels like the Node wrapper (alpha flattened on white, aspect ignored). The
 * image is read at full size and reduced here by area averaging, so the result does not depend on
 * the browser's canvas resampler; small differences from sharp's cubic kernel stay within the
 * match threshold (spec/works.md §2.1).
 */
function grey32(bitmap: ImageBitmap): Uint8Array {
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser cannot draw images');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  return areaAverage(luma(rgba, width * height), width, height);
}

/** ITU-R BT.601 luma of each RGBA pixel. */
function luma(rgba: Uint8ClampedArray, pixels: number): Float64Array {
  const out = new Float64Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
  return out;
}

/** Box-filter reduction of a width×height plane to IMAGE_SIDE×IMAGE_SIDE (fractional pixel overlaps weighted). */
function areaAverage(plane: Float64Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(IMAGE_SIDE * IMAGE_SIDE);
  const sx = width / IMAGE_SIDE;
  const sy = height / IMAGE_SIDE;
  for (let oy = 0; oy < IMAGE_SIDE; oy++) {
    for (let ox = 0; ox < IMAGE_SIDE; ox++) {
      let sum = 0;
      let weight = 0;
      for (let y = Math.floor(oy * sy); y < Math.min(height, Math.ceil((oy + 1) * sy)); y++) {
        const wy = Math.min(y + 1, (oy + 1) * sy) - Math.max(y, oy * sy);
        for (let x = Math.floor(ox * sx); x < Math.min(width, Math.ceil((ox + 1) * sx)); x++) {
          const w = wy * (Math.min(x + 1, (ox + 1) * sx) - Math.max(x, ox * sx));
          sum += w * plane[y * width + x];
          weight += w;
        }
      }
      out[oy * IMAGE_SIDE + ox] = Math.round(sum / weight);
    }
  }
  return out;
}

/** `tcode:` of UTF-8 text (visible text only for HTML), or undefined for other bytes. */
function textId(bytes: Uint8Array, name: string): WorkId | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const html = /\.html?$/i.test(name) || /^\s*(<!doctype html|<html)/i.test(text);
  return textWorkId(html ? visibleText(text) : text);
}

/** spec/works.md §1.3: drop script/style elements and tags, decode six entities in order. */
function visibleText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}
