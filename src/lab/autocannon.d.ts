// The part of autocannon's API the lab uses (autocannon ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonClient extends EventEmitter {
    on(event: 'headers', listener: (info: { statusCode: number; headers: string[] }) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  interface AutocannonOptions {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Requests per second over all connections. */
    overallRate?: number;
    /** Seconds. */
    timeout?: number;
    headers?: Record<string, string>;
    servername?: string;
    setupClient?: (client: AutocannonClient) => void;
  }

  interface AutocannonInstance extends EventEmitter {
    stop(): void;
    on(event: 'reqError', listener: (err: NodeJS.ErrnoException) => void): this;
    on(event: 'done', listener: (result: { requests: { total: number }; errors: number; timeouts: number; non2xx: number }) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  function autocannon(opts: AutocannonOptions): AutocannonInstance;
  export default autocannon;
}
