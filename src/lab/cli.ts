// `anyedge lab up | status | run | down`: an anycast internet in network namespaces on one
// Linux box, and fault scenarios measured from the clients' side. Needs root, iproute2,
// BIRD 2 and (for --speaker exabgp) ExaBGP.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../config/units.js';
import type { Speaker } from './configs.js';
import { LabControl } from './control.js';
import { labDown } from './lab-down.js';
import { labUp, UP_STEPS, type UpStep } from './lab-up.js';
import { runScenario } from './run.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';
import { DEFAULT_STATE_ROOT, readState, stateDir } from './state.js';
import { formatStatus, labStatus } from './status.js';

export const LAB_HELP = `Usage: anyedge lab <command> [options]

An anycast internet in network namespaces on this machine (root; BIRD 2; ExaBGP for
--speaker exabgp): two regions, each a router (BIRD) and a client, N edge nodes that all
bind 192.0.2.1 (anyedge with 1 worker, the sidecar, a BGP speaker) and an origin behind
private links. Only 10.255.0.0/16 and 192.0.2.0/24, only inside the lab's namespaces.

Commands:
  up [--nodes 3] [--speaker bird|exabgp] [--bfd] [--fail-after STEP]
                  build it; on any failure everything built so far is removed
                  (--fail-after: fail on purpose after a step, to test that)
  status [--json] which node each region reaches; each node's route at each router,
                  its /readyz and its sidecar state
  run SCENARIO [--duration 10s] [--json] [--results DIR]
                  load from the clients, one fault, measured: ${Object.keys(SCENARIOS).join(', ')}
  down [--all]    remove every namespace and process of the lab (also after a failed
                  up or a killed run); --all: every aelab-* lab on this machine

Common options:
  --lab NAME          lab name (default main): namespaces aelab-NAME-*
  --state-root DIR    where state, configs and logs live (default ${DEFAULT_STATE_ROOT})

Scenarios (each writes JSON and an SVG chart to --results, default ./lab-results):
${Object.entries(SCENARIOS).map(([k, v]) => `  ${k.padEnd(9)} ${v.summary}`).join('\n')}`;

const COMMON = {
  lab: { type: 'string', default: 'main' },
  'state-root': { type: 'string', default: DEFAULT_STATE_ROOT },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const stderr = (msg: string): void => { process.stderr.write(`${msg}\n`); };

export async function labMain(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'up': return await up(rest);
      case 'status': return await status(rest);
      case 'run': return await runCmd(rest);
      case 'down': return await down(rest);
      case undefined: case '-h': case '--help': case 'help':
        console.log(LAB_HELP);
        return;
      default:
        throw new UsageError(`unknown lab command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`anyedge lab: ${err.message}\n\n${LAB_HELP}`);
      process.exit(2);
    }
    stderr(`anyedge lab ${command}: ${(err as Error).message}`);
    process.exit(1);
  }
}

async function up(args: string[]): Promise<void> {
  const { values } = parse(args, {
    nodes: { type: 'string', default: '3' },
    speaker: { type: 'string', default: 'bird' },
    bfd: { type: 'boolean', default: false },
    'fail-after': { type: 'string' },
  });
  if (values.help) { console.log(LAB_HELP); return; }
  const speaker = values.speaker;
  if (speaker !== 'bird' && speaker !== 'exabgp') throw new UsageError(`--speaker: expected bird or exabgp, got "${speaker}"`);
  const failAfter = values['fail-after'];
  if (failAfter !== undefined && !(UP_STEPS as readonly string[]).includes(failAfter)) throw new UsageError(`--fail-after: one of ${UP_STEPS.join(', ')}`);
  await labUp({
    lab: values.lab,
    stateRoot: resolve(values['state-root']),
    nodes: Number(values.nodes),
    speaker: speaker as Speaker,
    bfd: values.bfd,
    failAfter: failAfter as UpStep | undefined,
    log: stderr,
  });
  console.log(`lab "${values.lab}" is up. Try: anyedge lab status${values.lab === 'main' ? '' : ` --lab ${values.lab}`}`);
}

function openLab(values: { lab: string; 'state-root': string }): LabControl {
  const dir = stateDir(resolve(values['state-root']), values.lab);
  const state = readState(dir);
  if (!state) throw new Error(`no lab "${values.lab}" (no state in ${dir}); run "anyedge lab up" first`);
  if (state.status !== 'up') throw new Error(`lab "${values.lab}" is ${state.status}; run "anyedge lab down" and "anyedge lab up"`);
  return new LabControl(state);
}

async function status(args: string[]): Promise<void> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  if (values.help) { console.log(LAB_HELP); return; }
  const s = await labStatus(openLab(values));
  console.log(values.json ? JSON.stringify(s) : formatStatus(s));
}

async function runCmd(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean', default: false },
    duration: { type: 'string' },
    results: { type: 'string', default: 'lab-results' },
  });
  if (values.help) { console.log(LAB_HELP); return; }
  const name = positionals[0];
  if (!name || !(name in SCENARIOS)) throw new UsageError(`run: expected a scenario (${Object.keys(SCENARIOS).join(', ')}), got ${name === undefined ? 'none' : `"${name}"`}`);
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = parseDuration(values.duration);
    if (duration === undefined || duration < 3000 || duration > 120_000) throw new UsageError(`--duration: expected 3s to 2m, got "${values.duration}"`);
  }
  const lab = openLab(values);
  const result = await runScenario(lab, name as ScenarioName, { ...(duration === undefined ? {} : { duration }), resultsDir: resolve(values.results), log: stderr });
  if (values.json) console.log(JSON.stringify(result.json));
  else console.log(result.text);
}

async function down(args: string[]): Promise<void> {
  const { values } = parse(args, { all: { type: 'boolean', default: false } });
  if (values.help) { console.log(LAB_HELP); return; }
  const r = await labDown({ lab: values.lab, stateRoot: resolve(values['state-root']), all: values.all, log: stderr });
  console.log(r.namespaces.length ? `lab ${values.all ? '(all)' : `"${values.lab}"`} removed: ${r.namespaces.length} namespace(s)` : 'nothing to remove');
}
