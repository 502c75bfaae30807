import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers and real processes: keep files in separate processes, and give slow
    // machines room. No test depends on wall-clock speed; timeouts only bound a hang.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The network-namespace tests share the host's routing tables: never run them in parallel.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
