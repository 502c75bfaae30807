// What a subject is to the harness: something that starts, answers HTTPS on loopback with
// the shared certificate and origin, reports which kinds of scenario it can take, and stops.
import type { Managed, ProcessSet } from '../processes.js';

/** What a scenario needs from a subject. */
export type Feature = 'h1' | 'h2' | 'static';

export interface CpuPlan {
  /** Cores for a single-process subject (taskset list), e.g. "0". */
  server: string | undefined;
  /** Cores for multi-worker subjects: every core (they compete with the generator, by design). */
  all: string | undefined;
  /** Cores for the load generator and the origin. */
  load: string | undefined;
}

export interface BenchPki {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** cert + key in one file (HAProxy). */
  pemFile: string;
}

export interface SubjectContext {
  procs: ProcessSet;
  /** Private temp directory for this subject's configs, logs and cache files. */
  dir: string;
  pki: BenchPki;
  originUrl: string;
  /** Directory holding the static file (file-1k.bin). */
  staticRoot: string;
  cpus: CpuPlan;
  workers: number;
  freePort(): Promise<number>;
  /** Set with --profile: a subject that can, runs under `node --cpu-prof` writing here. */
  profileDir?: string;
}

export interface RunningSubject {
  /** HTTPS port answering HTTP/1.1 (ALPN http/1.1), when the subject has one. */
  h1Port?: number;
  /** HTTPS port answering h2 (ALPN h2), when the subject has one. */
  h2Port?: number;
  /** anyedge's admin plane, for the memory scenario. */
  adminUrl?: string;
  /** Processes started (the first is the main one). */
  processes: Managed[];
}

export interface SubjectDef {
  name: string;
  /** One line for the report. */
  description: string;
  /** Binaries it needs on PATH; a default run skips the subject with a note when one is missing. */
  requires: string[];
  features: readonly Feature[];
  /** Only run when named in --subjects (a diagnostic variant, not a subject of the issue). */
  optional?: boolean;
  /** The A/A control (bare-again): left out of a --quick run unless named. */
  noiseFloor?: boolean;
  /** Cores it is pinned to ("server" or "all"). */
  pin: keyof Pick<CpuPlan, 'server' | 'all'>;
  start(ctx: SubjectContext): Promise<RunningSubject>;
}
