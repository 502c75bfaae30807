// Where the harness finds itself and its compiled child entry points. The harness runs from
// dist/bench (npm run bench) or from bench/ under vitest; children always run compiled JS.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.build.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: cannot find the repository root above ${from}`);
    dir = up;
  }
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const DIST_BENCH = resolve(REPO_ROOT, 'dist/bench');
export const ANYEDGE_CLI = resolve(REPO_ROOT, 'dist/src/cli.js');
export const PEERS_DIR = resolve(REPO_ROOT, 'bench/peers');

/** A compiled child entry under dist/bench, e.g. "subjects/bare-node-server.js"; throws if not built. */
export function childScript(rel: string): string {
  const p = resolve(DIST_BENCH, rel);
  if (!existsSync(p)) throw new Error(`bench: ${p} is missing; build first (npx tsc -p tsconfig.build.json)`);
  return p;
}
