// The worker's overload manager, wired to its runtime (filled in by the overload work).
import type { Logger } from '../log.js';
import type { Runtime } from '../server/runtime.js';
import type { WorkerStatus } from './ipc.js';

export interface WorkerOverload {
  status(): Pick<WorkerStatus, 'overload' | 'actions' | 'pressure'>;
  stop(): void;
}

export function attachWorkerOverload(_runtime: Runtime, _log: Logger): WorkerOverload {
  return { status: () => ({ overload: 'ok', actions: [], pressure: {} }), stop: () => undefined };
}
