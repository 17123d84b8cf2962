/** Node wrapper: decode a file with sharp and compute its work identifiers. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { type WorkId, workIdOfBytes } from '../records/works.js';
import { IMAGE_SIDE, imageWorkId } from './image-code.js';
import { textWorkId } from './text-code.js';

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);

/** Greyscale 32×32 pixels (sharp: EXIF-rotated, alpha flattened on white, bicubic resize ignoring aspect). */
export async function grey32(input: Uint8Array | string): Promise<Uint8Array> {
  const { data } = await sharp(input)
    .rotate()
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(IMAGE_SIDE, IMAGE_SIDE, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, IMAGE_SIDE * IMAGE_SIDE);
}

async function imageFormat(bytes: Uint8Array): Promise<string | undefined> {
  try {
    return (await sharp(bytes).metadata()).format;
  } catch {
    return undefined;
  }
}

/** Drop script/style, tags and a few entities; keep the visible text. */
export function htmlToText(html: string): string {
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

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** sha256 of the bytes, plus `phash:` for images or `tcode:` for UTF-8 text (HTML stripped). */
export async function workIdsOfBytes(bytes: Uint8Array, name = ''): Promise<WorkId[]> {
  const ids: WorkId[] = [workIdOfBytes(bytes)];
  const format = await imageFormat(bytes);
  if (format && IMAGE_FORMATS.has(format)) {
    ids.push(imageWorkId(await grey32(bytes)));
    return ids;
  }
  const text = utf8OrUndefined(bytes);
  if (text !== undefined) {
    const isHtml = /^\.html?$/i.test(extname(name)) || /^\s*<(!doctype html|html)/i.test(text);
    ids.push(textWorkId(isHtml ? htmlToText(text) : text));
  }
  return ids;
}

export async function workIdsOfFile(path: string): Promise<WorkId[]> {
  return workIdsOfBytes(new Uint8Array(await readFile(path)), path);
}
