import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Native kernels are synchronous and CPU-bound; threads would only
    // contend for this machine's cores.
    pool: 'forks',
    testTimeout: 60_000,
  },
});
