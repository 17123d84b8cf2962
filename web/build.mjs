// Builds the creator page into dist/web: one ES module bundle (esbuild) plus the static shell.
// No CDN, fonts or scripts from elsewhere: the page works on a closed network.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'web');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'app.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) await copyFile(join(here, f), join(out, f));
