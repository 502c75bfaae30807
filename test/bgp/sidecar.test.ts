import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExabgpDriver } from '../../src/bgp/drivers/exabgp-driver.js';
import { runSidecar } from '../../src/bgp/run-sidecar.js';
import { Sidecar } from '../../src/bgp/sidecar.js';
import type { SidecarRunConfig } from '../../src/bgp/sidecar-config.js';
import type { ProbeResult } from '../../src/bgp/readiness.js';
import { sidecarSchema } from '../../src/config/schema.js';
import { sidecarMetrics } from '../../src/metrics.js';
import { DRAINING, FAILING, HEALTHY, OVERLOADED, REFUSED, RecordingDriver, TIMEOUT, fakeClock, memoryLogger } from './sidecar-fakes.js';

function config(over: Record<string, unknown> = {}): SidecarRunConfig {
  return { ...sidecarSchema.parse({ interval: '1s', fastInterval: '200ms', rise: 3, fall: 2, ...over }), readyz: 'http://10.255.0.2:9901/readyz' };
}

function setup(over: Record<string, unknown> = {}) {
  const cfg = config(over);
  const clock = fakeClock();
  const driver = new RecordingDriver();
  const { log, lines } = memoryLogger();
  const { registry, metrics } = sidecarMetrics();
  const sidecar = new Sidecar(cfg, { probe: async () => HEALTHY, driver, log, metrics, now: clock.now });
  /** Feeds results one probe interval apart, as the loop would. */
  const feed = async (...results: ProbeResult[]): Promise<void> => {
    for (const r of results) {
      clock.advance(sidecar.nextDelay());
      await sidecar.observe(r);
    }
  };
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    return m?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
  };
  return { cfg, clock, driver, lines, sidecar, feed, metric };
}

describe('sidecar loop (scripted probes, fake clock)', () => {
  it('withdraws at start, announces after rise, withdraws after fall, and counts both', async () => {
    const { sidecar, driver, feed, metric } = setup();
    await sidecar.start();
    expect(driver.applied).toEqual(['withdraw']);
    await feed(HEALTHY, HEALTHY);
    expect(sidecar.state).toBe('RISING');
    expect(driver.current).toBe('withdraw');
    await feed(HEALTHY);
    expect(sidecar.state).toBe('UP');
    expect(driver.applied).toEqual(['withdraw', 'announce']);
    await feed(REFUSED);
    expect(sidecar.state).toBe('FALLING');
    expect(driver.current).toBe('announce');
    await feed(TIMEOUT);
    expect(sidecar.state).toBe('DOWN');
    expect(driver.applied).toEqual(['withdraw', 'announce', 'withdraw']);
    expect(await metric('anyedge_sidecar_announcements_total', { kind: 'plain' })).toBe(1);
    expect(await metric('anyedge_sidecar_withdrawals_total')).toBe(2);
    expect(await metric('anyedge_sidecar_state', { state: 'DOWN' })).toBe(1);
    expect(await metric('anyedge_sidecar_state', { state: 'UP' })).toBe(0);
    expect(await metric('anyedge_sidecar_probes_total', { result: 'error' })).toBe(2);
    expect(await metric('anyedge_sidecar_dampening_penalty')).toBe(1000);
  });

  it('probes at the fast interval while a transition is pending', async () => {
    const { sidecar, feed } = setup();
    await sidecar.start();
    expect(sidecar.nextDelay()).toBe(200);
    await feed(HEALTHY, HEALTHY, HEALTHY);
    expect(sidecar.nextDelay()).toBe(1000);
    await feed(FAILING);
    expect(sidecar.nextDelay()).toBe(200);
  });

  it('logs every transition with its reason and the probe values', async () => {
    const { sidecar, lines, feed, clock, metric } = setup({ rise: 1, fall: 1 });
    await sidecar.start();
    await feed(HEALTHY, FAILING);
    const transitions = lines.filter((l) => l['event'] === 'transition');
    expect(transitions.map((l) => [l['from'], l['to']])).toEqual([['INIT', 'UP'], ['UP', 'DOWN']]);
    expect(transitions[1]).toMatchObject({
      reason: 'probe failed 1/1 (fall): failing (no origin up)',
      probe: { signal: 'failure', status: 503, state: 'failing', reasons: ['no origin up'] },
    });
    expect(await metric('anyedge_sidecar_last_transition_timestamp_seconds')).toBe(clock.now() / 1000);
  });

  it('overloaded announces prepended and back, without a fall count', async () => {
    const { sidecar, driver, feed, metric } = setup({ rise: 1 });
    await sidecar.start();
    await feed(HEALTHY, OVERLOADED);
    expect(sidecar.state).toBe('OVERLOADED');
    expect(driver.current).toBe('announce-prepended');
    await feed(HEALTHY);
    expect(driver.applied).toEqual(['withdraw', 'announce', 'announce-prepended', 'announce']);
    expect(await metric('anyedge_sidecar_announcements_total', { kind: 'prepended' })).toBe(1);
  });

  it('draining withdraws on the first probe (planned), and is not a flap', async () => {
    const { sidecar, driver, feed, metric } = setup({ fall: 5 });
    await sidecar.start();
    await feed(HEALTHY, HEALTHY, HEALTHY, DRAINING);
    expect(sidecar.state).toBe('DISABLED');
    expect(driver.current).toBe('withdraw');
    expect(await metric('anyedge_sidecar_dampening_penalty')).toBe(0);
  });

  it('a node that flaps every few seconds is suppressed until it has been stable', async () => {
    const { sidecar, driver, feed, lines, clock, metric } = setup({ rise: 1, fall: 1, interval: '1s', dampening: { halfLife: '10s', penalty: 1000, suppress: 2000, reuse: 750, maxSuppress: '60s' } });
    await sidecar.start();
    // Up 2 s, down 1 s, three times.
    for (let i = 0; i < 3; i++) await feed(HEALTHY, HEALTHY, FAILING);
    expect(sidecar.dampening.suppressed).toBe(true);
    expect(lines.some((l) => /route suppressed by dampening/.test(l.msg))).toBe(true);
    // Penalties 1000, ≈1800, ≈2600: the third flap suppresses.
    expect(driver.applied.filter((a) => a !== 'withdraw')).toHaveLength(3);
    // Healthy from now on: UP, but held back until the penalty decays below reuse.
    const suppressedAt = clock.now();
    await feed(HEALTHY);
    expect(driver.applied.filter((a) => a !== 'withdraw')).toHaveLength(3);
    expect(sidecar.state).toBe('UP');
    expect(driver.current).toBe('withdraw');
    expect(lines.some((l) => /route held back by dampening/.test(l.msg))).toBe(true);
    expect(await metric('anyedge_sidecar_dampening_suppressed')).toBe(1);
    let guard = 0;
    while (driver.current === 'withdraw' && guard++ < 200) await feed(HEALTHY);
    expect(driver.current).toBe('announce');
    const heldFor = clock.now() - suppressedAt;
    // Penalty ≈ 2.6k when suppressed → below 750 after ≈ log2(2.6k/750) ≈ 1.8 half-lives.
    expect(heldFor).toBeGreaterThan(15_000);
    expect(heldFor).toBeLessThan(25_000);
    expect(await metric('anyedge_sidecar_dampening_suppressed')).toBe(0);
    expect(lines.some((l) => /dampening released the route/.test(l.msg) && l['route'] === 'announce')).toBe(true);
  });

  it('retries a route change the speaker did not take', async () => {
    const { sidecar, driver, feed, lines } = setup({ rise: 1 });
    await sidecar.start();
    driver.failNext = 1;
    await feed(HEALTHY);
    expect(driver.current).toBe('withdraw');
    expect(sidecar.applied).toBeUndefined();
    expect(lines.some((l) => l.msg === 'could not announce; will retry')).toBe(true);
    await feed(HEALTHY);
    expect(driver.current).toBe('announce');
  });

  it('withdraws on stop and ends in EXIT', async () => {
    const { sidecar, driver, feed } = setup({ rise: 1 });
    await sidecar.start();
    await feed(OVERLOADED);
    await sidecar.stop('SIGTERM');
    expect(sidecar.state).toBe('EXIT');
    expect(driver.applied.at(-1)).toBe('withdraw');
    expect(driver.closed).toBe(true);
  });
});

describe('runSidecar', () => {
  it('runs the loop on injected timers, serves metrics, and withdraws when aborted', async () => {
    const clock = fakeClock();
    const driver = new RecordingDriver();
    const { log, lines } = memoryLogger();
    const abort = new AbortController();
    let probes = 0;
    let metricsUrl = '';
    let release!: () => void;
    const parked = new Promise<void>((r) => { release = r; });
    const probe = async (): Promise<ProbeResult> => {
      probes++;
      if (probes === 6) await parked; // hold the loop while the test looks at it
      return HEALTHY;
    };
    const run = runSidecar({ ...config({ rise: 2, refresh: '3s' }), metrics: '127.0.0.1:0' }, {
      log, signal: abort.signal, now: clock.now, timers: clock.timers, probe, driver,
      onMetricsListening: (l) => { metricsUrl = `http://127.0.0.1:${l.address.port}/metrics`; },
    });
    for (let i = 0; i < 200 && probes < 6; i++) await new Promise((r) => setImmediate(r));
    expect(probes).toBe(6);
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/anyedge_sidecar_state\{state="UP"\} 1/);
    expect(text).toMatch(/anyedge_sidecar_announcements_total\{kind="plain"\} 1/);
    // After the first probe (INIT → RISING) at the fast interval, then UP at the normal one.
    expect(clock.slept.slice(0, 4)).toEqual([200, 1000, 1000, 1000]);
    expect(driver.calls.some((c) => c.op === 'refresh' && c.intent === 'announce')).toBe(true);
    abort.abort('test says stop');
    release();
    await run;
    expect(driver.applied).toEqual(['withdraw', 'announce', 'withdraw']);
    expect(lines.some((l) => l['event'] === 'transition' && l['to'] === 'EXIT' && l['reason'] === 'test says stop')).toBe(true);
    await expect(fetch(metricsUrl)).rejects.toThrow();
  });

  it('refuses a readyz on the anycast address before doing anything', async () => {
    const driver = new RecordingDriver();
    await expect(runSidecar({ ...config(), readyz: 'http://192.0.2.1:9901/readyz' }, { driver, signal: AbortSignal.abort() })).rejects.toThrow(/inside an announced prefix/);
    expect(driver.calls).toEqual([]);
  });

  it('speaks ExaBGP\'s API on stdout and stops when ExaBGP closes stdin', async () => {
    const clock = fakeClock();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const written: string[] = [];
    stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        written.push(line);
        stdin.write('done\n'); // exabgp.api.ack=true
      }
    });
    const { log } = memoryLogger();
    let probes = 0;
    const run = runSidecar({ ...config({ speaker: 'exabgp', rise: 1, prepend: 2, localAs: 65001 }) }, {
      log, now: clock.now, timers: clock.timers, stdin, stdout, signal: new AbortController().signal,
      probe: async () => (++probes < 3 ? HEALTHY : OVERLOADED),
    });
    for (let i = 0; i < 500 && written.length < 3; i++) await new Promise((r) => setImmediate(r));
    stdin.end(); // ExaBGP went away
    await run;
    expect(written.slice(0, 3)).toEqual([
      'withdraw route 192.0.2.1/32 next-hop self',
      'announce route 192.0.2.1/32 next-hop self',
      'announce route 192.0.2.1/32 next-hop self as-path [ 65001 65001 65001 ]',
    ]);
  });
});

describe('ExaBGP driver', () => {
  function exa(over: Partial<ConstructorParameters<typeof ExabgpDriver>[0]> = {}) {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: string[] = [];
    let ack: string | undefined = 'done';
    output.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n').filter(Boolean)) {
        lines.push(l);
        if (ack) input.write(`${ack}\n`);
      }
    });
    const { log, lines: logs } = memoryLogger();
    const driver = new ExabgpDriver({ input, output, prefixes: ['192.0.2.1/32', '198.51.100.0/24'], nextHop: 'self', prepend: 3, localAs: undefined, log, ackTimeout: 100, ...over });
    return { driver, input, lines, logs, setAck: (a: string | undefined) => { ack = a; } };
  }

  it('is idempotent and reports changes; one line per prefix', async () => {
    const { driver, lines } = exa();
    await driver.start();
    expect((await driver.apply('announce')).changed).toBe(true);
    expect((await driver.apply('announce')).changed).toBe(false);
    expect((await driver.apply('withdraw')).changed).toBe(true);
    expect(lines).toEqual([
      'announce route 192.0.2.1/32 next-hop self', 'announce route 198.51.100.0/24 next-hop self',
      'announce route 192.0.2.1/32 next-hop self', 'announce route 198.51.100.0/24 next-hop self',
      'withdraw route 192.0.2.1/32 next-hop self', 'withdraw route 198.51.100.0/24 next-hop self',
    ]);
  });

  it('learns the local AS from a neighbour message and re-announces when the peer comes up', async () => {
    const { driver, input, lines } = exa();
    await driver.start();
    await driver.apply('announce-prepended');
    expect(lines.at(-1)).toBe('announce route 198.51.100.0/24 next-hop self'); // AS unknown yet
    input.write('{ "exabgp": "4.0.1", "type": "state", "neighbor": { "address": { "local": "10.255.2.2", "peer": "10.255.2.1" }, "asn": { "local": 65002, "peer": 65000 }, "state": "up" } }\n');
    for (let i = 0; i < 50 && lines.length < 4; i++) await new Promise((r) => setImmediate(r));
    expect(driver.localAs).toBe(65002);
    expect(lines.slice(2)).toEqual([
      'announce route 192.0.2.1/32 next-hop self as-path [ 65002 65002 65002 65002 ]',
      'announce route 198.51.100.0/24 next-hop self as-path [ 65002 65002 65002 65002 ]',
    ]);
  });

  it('throws when ExaBGP answers error, warns once when it does not answer', async () => {
    const { driver, setAck, logs } = exa();
    await driver.start();
    setAck('error');
    await expect(driver.apply('announce')).rejects.toThrow(/ExaBGP refused/);
    setAck(undefined);
    await driver.apply('withdraw');
    expect(logs.filter((l) => /exabgp\.api\.ack=true/.test(l.msg))).toHaveLength(1);
  });

  it('is gone when stdin closes, or when ExaBGP says shutdown', async () => {
    const a = exa();
    await a.driver.start();
    a.input.end();
    await expect(a.driver.gone).resolves.toMatch(/closed our stdin/);
    await expect(a.driver.apply('withdraw')).rejects.toThrow(/gone/);
    const b = exa();
    await b.driver.start();
    b.input.write('{ "exabgp": "4.0.1", "type": "notification", "notification": "shutdown" }\n');
    await expect(b.driver.gone).resolves.toMatch(/shutting down/);
  });
});
