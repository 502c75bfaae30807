// Makes `anyedge sidecar` runnable by a child process inside a namespace (or by ExaBGP as its
// API process) without a build: transpiles src/bgp/sidecar-cli.ts and everything it imports
// into a temporary directory, with a node_modules symlink to the repo's (so bare imports
// resolve) and a main.mjs that calls sidecarMain(process.argv).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface SidecarBundle {
  /** node <main> [flags…] runs `anyedge sidecar`. */
  main: string;
  dir: string;
  remove(): void;
}

export function bundleSidecar(): SidecarBundle {
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-sidecar-bundle-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const seen = new Set<string>();
  const queue = [join(ROOT, 'src/bgp/sidecar-cli.ts')];
  for (let guard = 0; queue.length && guard < 500; guard++) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
    }).outputText;
    const target = join(dir, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out);
    // Follow relative imports of values (type-only imports are gone from the output).
    for (const m of out.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      queue.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const main = join(dir, 'main.mjs');
  writeFileSync(main, "import { sidecarMain } from './src/bgp/sidecar-cli.js';\nawait sidecarMain(process.argv.slice(2));\n");
  return { main, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
