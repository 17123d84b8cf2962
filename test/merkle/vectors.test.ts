/**
 * Every case of the transparency-dev Merkle proof vectors (test/vectors/merkle): happy paths
 * verify, every other case is rejected with a MerkleError. The directory is enumerated at test
 * time, so a vector added later is covered without touching this file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MerkleError, defaultHasher, rootOf, verifyConsistency, verifyInclusion } from '../../src/merkle/index.js';

const ROOT = join(import.meta.dirname, '..', 'vectors', 'merkle');

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsonFiles(path);
      return name.endsWith('.json') ? [path] : [];
    });
}

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const hashes = (proof: string[] | null) => (proof ?? []).map(bytes);

/** 'ok' if f returns, 'rejected' if it throws a MerkleError; anything else is a bug and rethrown. */
function outcome(f: () => void): 'ok' | 'rejected' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof MerkleError) return 'rejected';
    throw e;
  }
}

function load<T>(kind: 'inclusion' | 'consistency'): Array<[string, T]> {
  const dir = join(ROOT, kind);
  return jsonFiles(dir).map((path) => [relative(dir, path), JSON.parse(readFileSync(path, 'utf8')) as T]);
}

const inclusionCases = load<InclusionCase>('inclusion');
const consistencyCases = load<ConsistencyCase>('consistency');

describe('merkle vectors: inclusion', () => {
  it('finds the cases', () => {
    expect(inclusionCases.length).toBeGreaterThan(0);
    expect(inclusionCases.filter(([, c]) => !c.wantErr).length).toBeGreaterThan(0);
    expect(inclusionCases.filter(([, c]) => c.wantErr).length).toBeGreaterThan(0);
  });

  it.each(inclusionCases)('%s', (name, c) => {
    // Happy paths must be marked as verifying; the flag then decides (two other cases also verify).
    if (name.endsWith('happy-path.json')) expect(c.wantErr).toBe(false);
    const result = outcome(() =>
      verifyInclusion(defaultHasher, c.leafIdx, c.treeSize, bytes(c.leafHash), hashes(c.proof), bytes(c.root)),
    );
    expect(result, c.desc).toBe(c.wantErr ? 'rejected' : 'ok');
  });
});

describe('merkle vectors: consistency', () => {
  it('finds the cases', () => {
    expect(consistencyCases.length).toBeGreaterThan(0);
    expect(consistencyCases.filter(([, c]) => !c.wantErr).length).toBeGreaterThan(0);
    expect(consistencyCases.filter(([, c]) => c.wantErr).length).toBeGreaterThan(0);
  });

  it.each(consistencyCases)('%s', (name, c) => {
    if (name.endsWith('happy-path.json')) expect(c.wantErr).toBe(false);
    const result = outcome(() =>
      verifyConsistency(defaultHasher, c.size1, c.size2, hashes(c.proof), bytes(c.root1), bytes(c.root2)),
    );
    expect(result, c.desc).toBe(c.wantErr ? 'rejected' : 'ok');
  });
});

describe('merkle vectors: the README roots', () => {
  // The eight leaf inputs and roots for sizes 1..8 listed in test/vectors/README.md.
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
  const roots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];

  it.each(roots.map((root, i) => [i + 1, root] as const))('size %i', (size, root) => {
    const leafHashes = leaves.slice(0, size).map((h) => defaultHasher.hashLeaf(new Uint8Array(Buffer.from(h, 'hex'))));
    expect(Buffer.from(rootOf(leafHashes)).toString('hex')).toBe(root);
  });
});
