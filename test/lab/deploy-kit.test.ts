// The deployment kit agrees with the code: every metric the dashboard and the alerts query
// exists (src/metrics.ts, or prom-client's defaults under anyedge_worker_), the YAML files
// parse, the node's unit drains instead of killing, and the sysctls exist on Linux.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sidecarMetrics, supervisorMetrics } from '../../src/metrics.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
const read = (p: string) => readFileSync(join(DEPLOY, p), 'utf8');
const METRICS_SRC = readFileSync(join(import.meta.dirname, '../../src/metrics.ts'), 'utf8');

/** Every series name anyedge exports (histograms as _bucket/_sum/_count). */
async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of METRICS_SRC.matchAll(/name: '(anyedge_[a-z0-9_]+)'/g)) names.add(m[1]!);
  for (const reg of [supervisorMetrics(new Registry()).registry, sidecarMetrics(new Registry()).registry]) {
    for (const m of await reg.getMetricsAsJSON()) names.add(m.name);
  }
  // prom-client's default metrics, registered by workers with the prefix anyedge_worker_.
  const { collectDefaultMetrics } = await import('prom-client');
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults, prefix: 'anyedge_worker_' });
  for (const m of await defaults.getMetricsAsJSON()) names.add(m.name);
  for (const n of [...names]) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${n}${suffix}`);
  return names;
}

function queried(exprs: string[]): Set<string> {
  const out = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\b(anyedge_[a-z0-9_]+)/g)) out.add(m[1]!);
  return out;
}

describe('deploy/observability', () => {
  it('the Grafana dashboard queries only metrics anyedge exports, and covers each group', async () => {
    const dash = JSON.parse(read('observability/grafana-dashboard.json')) as { panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>; templating: unknown };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const names = queried(exprs);
    const known = await exported();
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
    for (const must of ['anyedge_ready', 'anyedge_readiness_state', 'anyedge_sidecar_state', 'anyedge_requests_total', 'anyedge_request_duration_seconds_bucket',
      'anyedge_upstream_errors_total', 'anyedge_cache_lookups_total', 'anyedge_overload_pressure', 'anyedge_overload_action_active', 'anyedge_worker_process_cpu_seconds_total']) {
      expect(names, must).toContain(must);
    }
    expect(new Set(dash.panels.map((p) => p.title)).size).toBe(dash.panels.length);
  });

  it('the alerts query only exported metrics; the scrape config and log shipping parse', async () => {
    const rules = parse(read('observability/anyedge-alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const known = await exported();
    const names = queried(rules.groups.flatMap((g) => g.rules.map((r) => r.expr)));
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
    const prom = parse(read('observability/prometheus.yml')) as { scrape_configs: Array<{ job_name: string; authorization?: unknown }> };
    expect(prom.scrape_configs.map((s) => s.job_name)).toEqual(['anyedge', 'anyedge-sidecar']);
    expect(prom.scrape_configs[0]!.authorization).toMatchObject({ type: 'Bearer' });
    const vector = parse(read('observability/vector.yaml')) as { sources: Record<string, { type: string }> };
    expect(vector.sources['anyedge_journal']?.type).toBe('journald');
  });
});

describe('deploy/systemd and deploy/anycast', () => {
  it('stopping the node is a drain: SIGTERM to the supervisor only, time for grace + deadline', () => {
    const unit = read('systemd/anyedge.service');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/anyedge start --config \/etc\/anyedge\/anyedge\.yaml$/m);
    expect(unit).toMatch(/^KillMode=mixed$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    const stop = Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)?.[1]);
    expect(stop).toBeGreaterThan(30 + 5); // shutdown.deadline default 30 s + a grace
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/anyedge$/m); // the maintenance file
  });

  it('binds the anycast address on lo, and every sysctl exists on this kernel', () => {
    expect(read('anycast/anyedge-anycast-address.service')).toMatch(/^ExecStart=\/usr\/sbin\/ip address replace 192\.0\.2\.1\/32 dev lo$/m);
    const keys = read('anycast/99-anyedge-anycast.conf').split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => l.split('=')[0]!.trim());
    expect(keys.length).toBeGreaterThan(5);
    if (process.platform === 'linux') {
      for (const k of keys) expect(existsSync(`/proc/sys/${k.replace(/\./g, '/')}`), k).toBe(true);
    }
  });
});
