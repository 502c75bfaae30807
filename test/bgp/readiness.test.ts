import { describe, expect, it } from 'vitest';
import { classifyReadiness, type HealthSignal, type ProbeResultLabel } from '../../src/bgp/readiness.js';

const body = (state: unknown, ready: unknown, reasons: unknown = []) => JSON.stringify({ ready, state, reasons });

describe('readiness contract → signal', () => {
  it.each<[string, number, string, HealthSignal, ProbeResultLabel]>([
    ['ready', 200, body('ready', true), 'healthy', 'ready'],
    ['overloaded', 200, body('overloaded', true, ['event loop delay 600ms']), 'overloaded', 'overloaded'],
    ['draining', 503, body('draining', false, ['SIGTERM']), 'disabled', 'not_ready'],
    ['disabled (maintenance file)', 503, body('disabled', false), 'disabled', 'not_ready'],
    ['failing', 503, body('failing', false, ['no origin up']), 'failure', 'not_ready'],
    ['ready with 503 contradicts the contract', 503, body('ready', true), 'failure', 'error'],
    ['ready:false with 200', 200, body('ready', false), 'failure', 'error'],
    ['unknown state', 200, body('splendid', true), 'failure', 'error'],
    ['no state', 200, JSON.stringify({ ready: true }), 'failure', 'error'],
    ['HTML error page', 502, '<html>Bad Gateway</html>', 'failure', 'error'],
    ['empty body', 200, '', 'failure', 'error'],
    ['JSON array', 200, '[]', 'failure', 'error'],
  ])('%s', (_name, status, text, signal, result) => {
    expect(classifyReadiness(status, text)).toMatchObject({ signal, result, status });
  });

  it('keeps the node\'s reasons for the log line', () => {
    const r = classifyReadiness(200, body('overloaded', true, ['inflight 9000', 42]));
    expect(r.reasons).toEqual(['inflight 9000']);
    expect(r.detail).toBe('overloaded (inflight 9000)');
  });
});
