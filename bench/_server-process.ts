/** Running a real `pvl serve` from benchmarks and test harnesses: a free port, start, wait for it to listen. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Compiled, this file is dist/bench/; run from source (vitest), the CLI is in dist/ (npm test builds first). */
export const cliPath = [join(here, '..', 'src', 'cli', 'main.js'), join(here, '..', 'dist', 'src', 'cli', 'main.js')].find((p) => existsSync(p))!;

/** As `npm start` and the pvl launcher run the server (larger semi-spaces: fewer scavenges under load). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];
/** `npm start`'s launcher: node with SERVER_NODE_FLAGS, and jemalloc when the machine has it. */
export const serveLauncher = [join(here, '..', 'bin', 'serve.sh'), join(here, '..', '..', 'bin', 'serve.sh')].find((p) => existsSync(p))!;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `pvl serve` on `dataDir` and `port` as `npm start` does (bin/serve.sh, which execs node:
 * the child's pid is the server's); resolves with the process and what it printed up to "listening on".
 */
export async function startServer(dataDir: string, port: number, extraArgs: string[] = []): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn('sh', [serveLauncher, '--data', dataDir, '--port', String(port), ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/listening on/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`)));
  });
  return { child, output };
}
