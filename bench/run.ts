// npm run bench [-- options]: runs the benchmark and writes bench/results/<time>.{json,md,svg}
// plus latest.*. See HELP, and bench/README.md for the method.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBench, type BenchOptions, type BenchRun } from './harness.js';
import { REPO_ROOT } from './paths.js';
import { BenchError } from './processes.js';
import { summariseProfiles } from './profile.js';
import { writeReport } from './report.js';
import { MEMORY_SCENARIO, SCENARIOS } from './scenarios/index.js';
import { SUBJECTS } from './subjects/index.js';

const HELP = `Usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

  --quick              < 2 min: ${SCENARIOS.filter((s) => s.quick).map((s) => s.name).join(', ')}; 1 round of 1 s
  --scenarios a,b      ${[...SCENARIOS.map((s) => s.name), MEMORY_SCENARIO].join(', ')}
  --subjects x,y       ${SUBJECTS.map((s) => s.name).join(', ')}
                       (default: all; nginx/haproxy skipped with a note when not installed;
                        a subject named here that cannot run is an error)
  --duration S         seconds measured per scenario and round (default 8; quick 1)
  --warmup S           seconds of load before each measurement (default 2; quick 0.5)
  --rounds N           rounds, subject order alternating (default 3; quick 1)
  --memory-objects N   objects for the memory scenario (default 100000)
  --pairs N            after the rounds, each target again in N pairs of windows, A B B A,
                       both subjects up at once (default 8; quick 0: none)
  --pair-window S      seconds per paired window (default 2)
  --out DIR            results directory (default bench/results)
  --profile DIR        run anyedge under node --cpu-prof: a .cpuprofile per process and round
                       in DIR/<subject>-r<round>/, each with a .txt summary (top functions)
                       and a .folded file (collapsed stacks, for a flame graph)
  -h, --help`;

export interface CliOptions extends BenchOptions { outDir: string }

export function parseCli(argv: string[]): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      scenarios: { type: 'string' },
      subjects: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      'memory-objects': { type: 'string' },
      pairs: { type: 'string' },
      'pair-window': { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const num = (name: string, v: string | undefined, def: number, min: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new BenchError('command line', `--${name}: expected a number ≥ ${min}, got "${v}"`);
    return n;
  };
  const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
  const o: CliOptions = {
    quick,
    durationS: num('duration', values.duration, quick ? 1 : 8, 0.5),
    warmupS: num('warmup', values.warmup, quick ? 0.5 : 2, 0),
    rounds: Math.round(num('rounds', values.rounds, quick ? 1 : 3, 1)),
    memoryObjects: Math.round(num('memory-objects', values['memory-objects'], 100_000, 1)),
    pairs: Math.round(num('pairs', values.pairs, quick ? 0 : 8, 0)),
    pairWindowS: num('pair-window', values['pair-window'], 2, 0.5),
    outDir: resolve(values.out ?? resolve(REPO_ROOT, 'bench/results')),
  };
  const scenarios = list(values.scenarios);
  const subjects = list(values.subjects);
  if (scenarios) o.scenarios = scenarios;
  if (subjects) o.subjects = subjects;
  if (values.profile !== undefined) o.profileDir = resolve(values.profile);
  return o;
}

export async function main(argv: string[]): Promise<number> {
  let opts: CliOptions | 'help';
  try { opts = parseCli(argv); } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (opts === 'help') { process.stdout.write(`${HELP}\n`); return 0; }
  let run: BenchRun;
  try {
    run = await runBench(opts);
  } catch (err) {
    const partial = (err as { partial?: BenchRun }).partial;
    if (partial && partial.records.length) {
      const p = writeReport(partial, opts.outDir);
      process.stderr.write(`bench: partial results in ${p.md}\n`);
    }
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    return 1;
  }
  const p = writeReport(run, opts.outDir);
  process.stdout.write(`bench: wrote ${p.md}, ${p.json}, ${p.svg} (and latest.*)\n`);
  if (opts.profileDir !== undefined) {
    const summaries = summariseProfiles(opts.profileDir);
    if (summaries.length === 0) {
      process.stderr.write(`bench: --profile: no .cpuprofile was written under ${opts.profileDir} (was anyedge among the subjects?)\n`);
      return 1;
    }
    process.stdout.write(`bench: profiles summarised: ${summaries.join(', ')}\n`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
