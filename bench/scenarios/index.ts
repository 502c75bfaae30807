// The scenarios of the issue, each a small declarative record: what the subject must speak,
// which generator measures it (the first one installed), and the load's shape. Connection
// counts are fixed per scenario so every subject sees the same offered load.
import { PATHS } from '../body.js';
import type { GeneratorName, LoadSpec } from '../load/types.js';
import type { Feature } from '../subjects/types.js';

export type ScenarioShape = Pick<LoadSpec, 'path' | 'workload' | 'connections'> & Partial<Pick<LoadSpec, 'streams' | 'handshake'>>;

export interface Scenario {
  name: string;
  title: string;
  needs: Feature;
  /** Tried in order; the first installed one measures (the report names it). */
  generators: GeneratorName[];
  shape: ScenarioShape;
  /** overload: peak, unloaded and 2× phases instead of one run. */
  kind: 'load' | 'overload';
  /** Part of --quick. */
  quick: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'hit-1k-h1', title: 'cache hit 1 KiB, HTTP/1.1 keep-alive (50 conns)', needs: 'h1', generators: ['autocannon'], shape: { path: PATHS.small, workload: 'fixed', connections: 50 }, kind: 'load', quick: true },
  { name: 'hit-1k-h1-wrk', title: 'cache hit 1 KiB, HTTP/1.1 keep-alive, wrk (50 conns; for peers that outrun autocannon)', needs: 'h1', generators: ['wrk'], shape: { path: PATHS.small, workload: 'fixed', connections: 50 }, kind: 'load', quick: false },
  { name: 'hit-1k-h2', title: 'cache hit 1 KiB, h2 (20 conns × 10 streams)', needs: 'h2', generators: ['h2load'], shape: { path: PATHS.small, workload: 'fixed', connections: 20, streams: 10 }, kind: 'load', quick: true },
  { name: 'hit-100k-h1', title: 'cache hit 100 KiB, HTTP/1.1 (50 conns)', needs: 'h1', generators: ['autocannon'], shape: { path: PATHS.large, workload: 'fixed', connections: 50 }, kind: 'load', quick: false },
  { name: 'static-1k-h1', title: 'static file 1 KiB, HTTP/1.1 (50 conns)', needs: 'static', generators: ['autocannon'], shape: { path: PATHS.static, workload: 'fixed', connections: 50 }, kind: 'load', quick: false },
  { name: 'miss-1k-h1', title: 'cache miss 1 KiB forwarded (unique query per request; 50 conns)', needs: 'h1', generators: ['autocannon'], shape: { path: PATHS.small, workload: 'unique', connections: 50 }, kind: 'load', quick: true },
  // One autocannon thread shares core 1 with the origin: in the 12-03 08:03 run it held every
  // forwarder (anyedge, undici, http-proxy) to the same ~5k req/s, so it measured itself.
  { name: 'miss-1k-h1-wrk', title: 'cache miss 1 KiB forwarded, wrk (unique query per request; 50 conns; the miss targets are read here when wrk is installed)', needs: 'h1', generators: ['wrk'], shape: { path: PATHS.small, workload: 'unique', connections: 50 }, kind: 'load', quick: false },
  { name: 'mixed-h1', title: 'mixed 90 % hits / 10 % misses, HTTP/1.1 (50 conns)', needs: 'h1', generators: ['autocannon'], shape: { path: PATHS.small, workload: 'mixed', connections: 50 }, kind: 'load', quick: false },
  { name: 'tls-full', title: 'new TLS connection per request, full handshake (16 loops)', needs: 'h1', generators: ['tls-loop'], shape: { path: PATHS.small, workload: 'fixed', connections: 16, handshake: 'full' }, kind: 'load', quick: true },
  { name: 'tls-resumed', title: 'new TLS connection per request, resumed with session tickets (16 loops)', needs: 'h1', generators: ['tls-loop'], shape: { path: PATHS.small, workload: 'fixed', connections: 16, handshake: 'resumed' }, kind: 'load', quick: false },
  { name: 'overload', title: 'overload: mixed 90/10 offered at 2× the peak rate over 400 conns (wrk paced by one schedule, else autocannon overallRate; peak: 50 conns)', needs: 'h1', generators: ['wrk', 'autocannon'], shape: { path: PATHS.small, workload: 'mixed', connections: 400 }, kind: 'overload', quick: false },
];

/** Not a load scenario: fills anyedge's cache and reads its heap (anyedge-1w only). */
export const MEMORY_SCENARIO = 'memory';

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
