import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['spec/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real threads and processes; two cores do not take more than two files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
})
