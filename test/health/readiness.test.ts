import { describe, expect, it } from 'vitest';
import { computeReadiness, type ReadinessInput, type ReadinessState } from '../../src/health/readiness.js';

const healthy: ReadinessInput = {
  workersAlive: 4,
  workersExpected: 4,
  origins: [{ url: 'https://o1.internal', up: true }, { url: 'https://o2.internal', up: true }],
  overload: 'ok',
  draining: false,
  maintenance: { active: false },
  hasOrigins: true,
};
const down = (url: string) => ({ url, up: false });
const allDown = [down('https://o1.internal'), down('https://o2.internal')];
const oneDown = [{ url: 'https://o1.internal', up: true }, down('https://o2.internal')];

describe('computeReadiness', () => {
  const cases: Array<[string, Partial<ReadinessInput>, ReadinessState, 200 | 503, RegExp[]]> = [
    ['everything healthy', {}, 'ready', 200, []],
    ['draining beats everything', { draining: true, maintenance: { active: true }, workersAlive: 0, overload: 'failing', origins: allDown }, 'draining', 503,
      [/^draining/, /^maintenance/, /no worker alive/, /every origin is down/, /overload: a worker reports failing/]],
    ['maintenance beats failing', { maintenance: { active: true, reason: 'kernel upgrade' }, origins: allDown }, 'disabled', 503, [/^maintenance: kernel upgrade$/, /every origin is down/]],
    ['maintenance with an expiry names it', { maintenance: { active: true, until: Date.UTC(2030, 0, 1) } }, 'disabled', 503, [/^maintenance until 2030-01-01T00:00:00.000Z$/]],
    ['no worker alive', { workersAlive: 0 }, 'failing', 503, [/^no worker alive \(0 of 4\)$/]],
    ['every origin down', { origins: allDown }, 'failing', 503, [/^every origin is down: https:\/\/o1.internal, https:\/\/o2.internal$/]],
    ['overload failing', { overload: 'failing' }, 'failing', 503, [/overload: a worker reports failing/]],
    ['failing beats overloaded', { overload: 'failing', workersAlive: 1 }, 'failing', 503, [/overload: a worker reports failing/, /only 1 of 4 workers alive/]],
    ['overload overloaded', { overload: 'overloaded' }, 'overloaded', 200, [/overload: a worker reports overloaded/]],
    ['fewer than half the workers alive', { workersAlive: 1 }, 'overloaded', 200, [/^only 1 of 4 workers alive$/]],
    ['half the workers alive is a note only', { workersAlive: 2 }, 'ready', 200, [/^2 of 4 workers alive$/]],
    ['one origin of two down is a note only', { origins: oneDown }, 'ready', 200, [/^origin down: https:\/\/o2.internal \(1 of 2 up\)$/]],
    ['origins ignored without origin hosts', { hasOrigins: false, origins: allDown }, 'ready', 200, []],
    ['no checked origins (checks off) is not failing', { origins: [] }, 'ready', 200, []],
    ['no worker expected yet is not failing', { workersAlive: 0, workersExpected: 0 }, 'ready', 200, []],
  ];

  it.each(cases)('%s', (_name, input, state, httpStatus, reasons) => {
    const r = computeReadiness({ ...healthy, ...input });
    expect(r.state).toBe(state);
    expect(r.httpStatus).toBe(httpStatus);
    expect(r.ready).toBe(httpStatus === 200);
    expect(r.reasons).toHaveLength(reasons.length);
    reasons.forEach((re, i) => expect(r.reasons[i]).toMatch(re));
  });
});
