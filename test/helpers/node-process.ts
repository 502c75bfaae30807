// A real anyedge node as operators run it: `node dist/src/cli.js start --config FILE`, with
// its supervisor and workers. Needs the build (npm test builds first).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

export interface NodeProcess {
  proc: ChildProcess;
  port: number;
  adminUrl: string;
  /** Parsed JSON log lines so far (supervisor and workers). */
  logs: Array<Record<string, unknown>>;
  stdout: () => string;
  stderr: () => string;
  configFile: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM and wait (bounded); SIGKILL if it will not go. */
  stop(): Promise<number | null>;
}

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
}

export async function startNodeProcess(config: Record<string, unknown>, args: string[] = []): Promise<NodeProcess> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-node-'));
  const configFile = join(dir, 'anyedge.yaml');
  writeFileSync(configFile, stringify(config));
  const proc = spawn(process.execPath, [CLI, 'start', '--config', configFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
  let out = '';
  let err = '';
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) { try { logs.push(JSON.parse(l)); } catch { /* not ours */ } }
  });
  proc.stderr!.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const ready = await waitFor(() => logs.find((l) => l['msg'] === 'anyedge ready'), 20_000, () => `node did not become ready.\nstdout:\n${out}\nstderr:\n${err}`, exited);
  const listeners = ready['listeners'] as Array<{ port: number }>;
  const node: NodeProcess = {
    proc, logs, configFile, exited,
    port: listeners[0]!.port,
    adminUrl: ready['admin'] as string,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  return node;
}

/** Polls until fn returns a truthy value; bounded by timeoutMs. */
export async function waitFor<T>(fn: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs: number, describe: () => string = () => 'condition', abortOn?: Promise<unknown>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  void abortOn?.then(() => { aborted = true; });
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (aborted) {
      await new Promise((r) => setTimeout(r, 50));
      const again = await fn();
      if (again) return again;
      throw new Error(`process exited while waiting: ${describe()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
