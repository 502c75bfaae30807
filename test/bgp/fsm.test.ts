import { describe, expect, it } from 'vitest';
import { INITIAL_FSM, intentFor, isFlap, isPending, stepFsm, type FsmSnapshot, type SidecarState } from '../../src/bgp/fsm.js';
import type { HealthSignal } from '../../src/bgp/readiness.js';

const T = { rise: 3, fall: 2 };

/** Runs signals from INIT; returns the states visited after each signal. */
function run(signals: HealthSignal[], t = T, start: FsmSnapshot = INITIAL_FSM): SidecarState[] {
  let fsm = start;
  return signals.map((s) => (fsm = stepFsm(fsm, s, t).next).state);
}

describe('sidecar state machine', () => {
  it.each<[string, HealthSignal[], SidecarState[]]>([
    ['rises after `rise` good probes', ['healthy', 'healthy', 'healthy'], ['RISING', 'RISING', 'UP']],
    ['a failure while rising starts over from DOWN', ['healthy', 'healthy', 'failure', 'healthy'], ['RISING', 'RISING', 'DOWN', 'RISING']],
    ['INIT goes straight to DOWN on failure', ['failure'], ['DOWN']],
    ['falls after `fall` bad probes', ['healthy', 'healthy', 'healthy', 'failure', 'failure'], ['RISING', 'RISING', 'UP', 'FALLING', 'DOWN']],
    ['one good probe while falling goes back up', ['healthy', 'healthy', 'healthy', 'failure', 'healthy'], ['RISING', 'RISING', 'UP', 'FALLING', 'UP']],
    ['overloaded counts as good for rise and ends OVERLOADED', ['healthy', 'overloaded', 'overloaded'], ['RISING', 'RISING', 'OVERLOADED']],
    ['UP ↔ OVERLOADED without a count', ['healthy', 'healthy', 'healthy', 'overloaded', 'healthy'], ['RISING', 'RISING', 'UP', 'OVERLOADED', 'UP']],
    ['disabled withdraws at once, from any state', ['healthy', 'healthy', 'healthy', 'disabled'], ['RISING', 'RISING', 'UP', 'DISABLED']],
    ['disabled while falling', ['healthy', 'healthy', 'healthy', 'failure', 'disabled'], ['RISING', 'RISING', 'UP', 'FALLING', 'DISABLED']],
    ['after DISABLED the node must rise again', ['disabled', 'healthy', 'healthy', 'healthy'], ['DISABLED', 'RISING', 'RISING', 'UP']],
    ['DOWN stays DOWN on failure', ['failure', 'failure', 'failure'], ['DOWN', 'DOWN', 'DOWN']],
  ])('%s', (_name, signals, states) => {
    expect(run(signals)).toEqual(states);
  });

  it('rise 1 and fall 1 skip the pending states', () => {
    expect(run(['healthy', 'failure', 'overloaded'], { rise: 1, fall: 1 })).toEqual(['UP', 'DOWN', 'OVERLOADED']);
  });

  it('FALLING keeps announcing what it announced before: prepended if it was OVERLOADED', () => {
    let fsm = INITIAL_FSM;
    for (const s of ['overloaded', 'overloaded', 'overloaded', 'failure'] as const) fsm = stepFsm(fsm, s, T).next;
    expect(fsm.state).toBe('FALLING');
    expect(intentFor(fsm)).toBe('announce-prepended');
    fsm = stepFsm(INITIAL_FSM, 'healthy', { rise: 1, fall: 2 }).next;
    fsm = stepFsm(fsm, 'failure', T).next;
    expect(intentFor(fsm)).toBe('announce');
  });

  it.each<[SidecarState, ReturnType<typeof intentFor>]>([
    ['INIT', 'withdraw'], ['RISING', 'withdraw'], ['UP', 'announce'], ['OVERLOADED', 'announce-prepended'],
    ['DOWN', 'withdraw'], ['DISABLED', 'withdraw'], ['EXIT', 'withdraw'],
  ])('%s → %s', (state, intent) => {
    expect(intentFor({ state, count: 0, holding: undefined })).toBe(intent);
  });

  it('reasons carry the counts and the probe detail', () => {
    const a = stepFsm(INITIAL_FSM, 'healthy', T, 'ready');
    expect(a).toMatchObject({ from: 'INIT', changed: true, reason: 'probe ok 1/3 (rise): ready' });
    const b = stepFsm({ state: 'FALLING', count: 1, holding: 'UP' }, 'failure', T, 'probe failed: ECONNREFUSED');
    expect(b).toMatchObject({ from: 'FALLING', changed: true, reason: 'probe failed 2/2 (fall): probe failed: ECONNREFUSED' });
    const c = stepFsm({ state: 'RISING', count: 1, holding: undefined }, 'healthy', T);
    expect(c.changed).toBe(false);
    expect(c.next.count).toBe(2);
  });

  it('EXIT ignores further signals', () => {
    const exit: FsmSnapshot = { state: 'EXIT', count: 0, holding: undefined };
    expect(stepFsm(exit, 'healthy', T).next.state).toBe('EXIT');
  });

  it('flaps are failures of a serving node, not planned withdrawals', () => {
    const up: FsmSnapshot = { state: 'UP', count: 0, holding: undefined };
    expect(isFlap(stepFsm(up, 'failure', { rise: 1, fall: 1 }))).toBe(true);
    expect(isFlap(stepFsm({ state: 'FALLING', count: 1, holding: 'OVERLOADED' }, 'failure', T))).toBe(true);
    expect(isFlap(stepFsm(up, 'disabled', T))).toBe(false);
    expect(isFlap(stepFsm({ state: 'RISING', count: 2, holding: undefined }, 'failure', T))).toBe(false);
  });

  it('probes fast only while a transition is pending', () => {
    expect(['INIT', 'RISING', 'FALLING'].every((s) => isPending(s as SidecarState))).toBe(true);
    expect(['UP', 'DOWN', 'OVERLOADED', 'DISABLED'].some((s) => isPending(s as SidecarState))).toBe(false);
  });
});
