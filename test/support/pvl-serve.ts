/**
 * A real `pvl serve` process for CLI and page tests (needs `npm run build`): started on a free
 * port in `dir`, with the log's verifier key saved as `dir/log.vkey` for the commands under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const PVL_MAIN = resolve('dist/src/cli/main.js');

export async function startPvlServe(dir: string, args: string[] = []): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [PVL_MAIN, 'serve', '--data', join(dir, 'data'), '--port', '0', ...args], { cwd: dir });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`server exited ${code}: ${out}`)));
  });
  await writeFile(join(dir, 'log.vkey'), (await (await fetch(`${url}/log/vkey`)).text()).trim());
  return { server, url };
}
