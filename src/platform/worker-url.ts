/** Where a worker thread's compiled script is: beside this module, or in dist/ when running from TypeScript sources (tests; npm test builds first). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workerScript(name: string): URL {
  const beside = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL(`../../dist/src/platform/${name}.js`, import.meta.url);
}
