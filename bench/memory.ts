// The memory scenario: start anyedge (1 worker), fill its cache with N distinct 1 KiB
// objects, and compare the worker's heap before and after → bytes per object, and their
// ratio to the 1 KiB payload (target: < 1.5×).
// Two readings: the admin /metrics gauge anyedge_worker_nodejs_heap_size_used_bytes (what an
// operator sees; includes garbage not yet collected), and the worker's heapUsed right after a
// full GC forced through the inspector (node --inspect=127.0.0.1:0 for this instance only),
// which is the figure the target is about.
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { PATHS } from './body.js';
import { BenchError } from './processes.js';
import type { RunningSubject, SubjectContext, SubjectDef } from './subjects/types.js';

export interface MemoryResult {
  subject: string;
  objects: number;
  payloadBytes: number;
  /** From /metrics (no forced GC). */
  metricsBefore: number;
  metricsAfter: number;
  /** heapUsed after a forced full GC (inspector); NaN when the inspector could not be reached. */
  gcBefore: number;
  gcAfter: number;
  /** external (Buffers) after the same GC. */
  externalBefore: number;
  externalAfter: number;
  /** (heapUsed + external) growth per object after GC; heapUsed growth (metrics) without it. */
  bytesPerObject: number;
  /** heapUsed growth alone per object. */
  heapBytesPerObject: number;
  ratioToPayload: number;
  /** Share of a sample of the objects answered from cache afterwards (Cache-Status hit). */
  sampleHitFraction: number;
  fillSeconds: number;
  note: string;
}

const METRIC = 'anyedge_worker_nodejs_heap_size_used_bytes';

async function metricsHeap(adminUrl: string): Promise<number> {
  const res = await request(`${adminUrl}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(METRIC)) { sum += Number(line.slice(line.lastIndexOf(' ') + 1)); found = true; }
  }
  if (!found) throw new BenchError('memory', `${adminUrl}/metrics has no ${METRIC}`);
  return sum;
}

/** Evaluates expressions in one inspector target; collectGarbage first when asked. */
async function inspect(wsUrl: string, exprs: string[], gc: boolean): Promise<unknown[]> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: { result?: { value?: unknown } } };
    if (msg.id !== undefined) { pending.get(msg.id)?.(msg.result?.result?.value); pending.delete(msg.id); }
  });
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> => new Promise((resolve) => {
    const n = ++id;
    pending.set(n, resolve);
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  try {
    if (gc) { await call('HeapProfiler.enable'); await call('HeapProfiler.collectGarbage'); await call('HeapProfiler.collectGarbage'); }
    const out: unknown[] = [];
    for (const expression of exprs) out.push(await call('Runtime.evaluate', { expression, returnByValue: true }));
    return out;
  } finally {
    ws.close();
  }
}

interface GcMemory { heapUsed: number; external: number }

/**
 * heapUsed and external (Buffers live outside the V8 heap: a cache holding bodies as Buffers
 * shows them there, not in heapUsed) summed over the worker processes — every process but
 * the supervisor — after a forced full GC.
 */
async function gcHeap(inspectorUrls: string[], supervisorPid: number): Promise<GcMemory> {
  const sum: GcMemory = { heapUsed: 0, external: 0 };
  let workers = 0;
  for (const url of inspectorUrls) {
    const [pid] = await inspect(url, ['process.pid'], false);
    if (pid === supervisorPid) continue;
    const [mem] = await inspect(url, ['(({ heapUsed, external }) => ({ heapUsed, external }))(process.memoryUsage())'], true);
    sum.heapUsed += Number((mem as GcMemory).heapUsed);
    sum.external += Number((mem as GcMemory).external);
    workers++;
  }
  if (workers === 0) throw new Error('no worker inspector answered');
  return sum;
}

async function fill(port: number, from: number, count: number, concurrency: number, dispatcher: Agent, seen?: { hits: number }): Promise<void> {
  let next = from;
  const end = from + count;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < end) {
      const i = next++;
      const res = await request(`https://127.0.0.1:${port}${PATHS.small}?obj=${i}`, { dispatcher });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new BenchError('memory', `GET ${PATHS.small}?obj=${i} answered ${res.statusCode}`);
      const cs = String(res.headers['cache-status'] ?? '');
      if (seen && /hit/i.test(cs) && !/fwd=/i.test(cs)) seen.hits++;
    }
  }));
}

export async function runMemory(def: SubjectDef, ctx: SubjectContext, objects: number, stop: (s: RunningSubject) => Promise<void>, log: (s: string) => void): Promise<MemoryResult> {
  // The inspector is for this instance only (and the forced GC); port 0: never a fixed port.
  const prev = process.env['NODE_OPTIONS'];
  process.env['NODE_OPTIONS'] = `${prev ?? ''} --inspect=127.0.0.1:0`.trim();
  let running: RunningSubject;
  try { running = await def.start(ctx); } finally { if (prev === undefined) delete process.env['NODE_OPTIONS']; else process.env['NODE_OPTIONS'] = prev; }
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, connections: 32, pipelining: 1 });
  try {
    const main = running.processes[0]!;
    const port = running.h1Port!;
    if (!running.adminUrl) throw new BenchError(def.name, 'no admin URL: cannot read heap metrics');
    const inspectorUrls = [...main.tail().matchAll(/Debugger listening on (ws:\/\/\S+)/g)].map((m) => m[1]!);
    // Warm the code paths (and one cached object) so JIT code and pools are not counted.
    await fill(port, 0, 2000, 32, dispatcher);
    await new Promise((r) => setTimeout(r, 1000));
    let gcBefore: GcMemory | undefined;
    let note = '';
    try { gcBefore = await gcHeap(inspectorUrls, main.pid); } catch (err) { note = `forced GC unavailable (${(err as Error).message}); figures from /metrics only. `; }
    const metricsBefore = await metricsHeap(running.adminUrl);
    const t0 = performance.now();
    log(`memory: filling ${objects} objects`);
    await fill(port, 1_000_000, objects, 64, dispatcher);
    const fillSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const metricsAfter = await metricsHeap(running.adminUrl);
    const gcAfter = gcBefore ? await gcHeap(inspectorUrls, main.pid) : undefined;
    // Re-request a sample: were the objects stored at all?
    const sample = Math.min(500, objects);
    const seen = { hits: 0 };
    const step = Math.max(1, Math.floor(objects / sample));
    for (let k = 0; k < sample; k++) await fill(port, 1_000_000 + k * step, 1, 1, dispatcher, seen);
    const sampleHitFraction = seen.hits / sample;
    const heapBytesPerObject = ((gcAfter?.heapUsed ?? metricsAfter) - (gcBefore?.heapUsed ?? metricsBefore)) / objects;
    const bytesPerObject = gcBefore && gcAfter ? (gcAfter.heapUsed + gcAfter.external - gcBefore.heapUsed - gcBefore.external) / objects : heapBytesPerObject;
    if (sampleHitFraction < 0.9) note += `only ${(sampleHitFraction * 100).toFixed(0)} % of a sample was answered from cache: the node did not keep the objects, so the figure is not the cache's cost. `;
    return {
      subject: def.name, objects, payloadBytes: 1024, metricsBefore, metricsAfter,
      gcBefore: gcBefore?.heapUsed ?? Number.NaN, gcAfter: gcAfter?.heapUsed ?? Number.NaN,
      externalBefore: gcBefore?.external ?? Number.NaN, externalAfter: gcAfter?.external ?? Number.NaN,
      bytesPerObject, heapBytesPerObject, ratioToPayload: bytesPerObject / 1024, sampleHitFraction, fillSeconds, note: note.trim() };
  } finally {
    await dispatcher.close();
    await stop(running);
  }
}
