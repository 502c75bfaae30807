// Messages between the supervisor (cluster primary) and its workers. Small, JSON, typed.

export interface ListenerInfo {
  address: string;
  port: number;
  tls: boolean;
}

export interface WorkerStatus {
  /** From the overload manager: ok | overloaded | failing. */
  overload: 'ok' | 'overloaded' | 'failing';
  inflight: number;
  connections: number;
  /** Active overload actions and pressures, for /readyz detail. */
  actions: string[];
  pressure: Partial<Record<string, number>>;
}

export type ToWorker =
  | { type: 'reload-certificates'; id: number }
  | { type: 'shutdown'; deadlineMs: number }
  | { type: 'purge'; id: number; kind: 'url' | 'prefix' | 'tag' | 'all'; value: string; soft: boolean }
  | { type: 'origin-health'; url: string; up: boolean };

export type FromWorker =
  | { type: 'listening'; listeners: ListenerInfo[] }
  | { type: 'status'; status: WorkerStatus }
  | { type: 'reload-result'; id: number; ok: boolean; error?: string }
  | { type: 'purge-result'; id: number; count: number; error?: string };

export const ENV_CONFIG = 'ANYEDGE_CONFIG';
export const ENV_TICKET_KEYS = 'ANYEDGE_TICKET_KEYS';
export const ENV_WORKER_INDEX = 'ANYEDGE_WORKER_INDEX';

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
