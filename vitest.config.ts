import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Tensors are iterable: compare them by value in toEqual (the file says why).
    setupFiles: ['test/helpers/tensor_equality.ts'],
    // Native kernels are synchronous and CPU-bound; threads would only
    // contend for this machine's cores.
    pool: 'forks',
    testTimeout: 60_000,
  },
});
