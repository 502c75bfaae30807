// Runs autocannon in its own process (pinned away from the server) and prints one JSON line
// {"result": LoadResult}. Latency is recorded here from each response at sub-millisecond
// precision: autocannon's own histogram has 1 ms resolution, too coarse for loopback.
import { createRequire } from 'node:module';
import { Samples, percentile, type LoadResult, type LoadSpec } from './types.js';

interface AutocannonRequest { method?: string; path?: string; setupRequest?: (req: AutocannonRequest) => AutocannonRequest }
interface AutocannonResult { errors: number; timeouts: number; resets?: number; non2xx: number; '2xx': number; duration: number; requests: { total: number } }
interface AutocannonInstance { on(event: 'response', cb: (client: { conn?: object }, status: number, bytes: number, ms: number) => void): void }
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;

function requests(): AutocannonRequest[] | undefined {
  if (spec.workload === 'fixed') return undefined;
  let n = 0;
  const unique = (r: AutocannonRequest): AutocannonRequest => ({ ...r, path: `${spec.path}?miss=${spec.uniquePrefix}-${++n}` });
  const pick = spec.workload === 'unique' ? unique : (r: AutocannonRequest) => (Math.random() < 0.1 ? unique(r) : { ...r, path: spec.path });
  return [{ method: 'GET', path: spec.path, setupRequest: pick }];
}

function run(durationS: number, record: boolean): Promise<LoadResult> {
  const samples = new Samples();
  // Answers that were not the first on their connection: the first one's latency includes
  // the TLS handshake, and any wait before it (an overloaded server holding new connections).
  const later = new Samples();
  const seen = new WeakSet<object>();
  return new Promise((resolve, reject) => {
    const reqs = requests();
    const inst = autocannon({
      url: `https://127.0.0.1:${spec.port}${spec.path}`,
      connections: spec.connections,
      duration: durationS,
      pipelining: 1,
      timeout: 10,
      ...(spec.rate ? { overallRate: spec.rate } : {}),
      ...(reqs ? { requests: reqs } : {}),
    }, (err, res) => {
      if (err) { reject(err); return; }
      const sorted = samples.sorted();
      const laterSorted = later.sorted();
      resolve({
        generator: 'autocannon',
        rps: res['2xx'] / res.duration,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        responses: res['2xx'] + res.non2xx,
        non2xx: res.non2xx,
        errors: res.errors + res.timeouts + (res.resets ?? 0),
        durationS: res.duration,
        extra: { p99LaterMs: percentile(laterSorted, 99), firstOnConnection: sorted.length - laterSorted.length },
      });
    });
    if (record) {
      inst.on('response', (client, status, _b, ms) => {
        const conn = client.conn;
        const first = conn === undefined || !seen.has(conn);
        if (conn !== undefined) seen.add(conn);
        if (status < 200 || status >= 300) return;
        samples.push(ms);
        if (!first) later.push(ms);
      });
    }
  });
}

if (spec.warmupS > 0) await run(spec.warmupS, false);
const result = await run(spec.durationS, true);
process.stdout.write(`${JSON.stringify({ result })}\n`);
