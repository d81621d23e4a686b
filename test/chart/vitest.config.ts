import { defineConfig } from 'vitest/config';

// The chart tier needs helm (and, for apply.test.ts, a kube-apiserver), so it runs with the e2e tier:
// `npx vitest run --config test/chart/vitest.config.ts`.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/chart/**/*.test.ts'],
    testTimeout: 60_000,
    // beforeAll may build helm (a few minutes on 2 cores) or start kube-apiserver.
    hookTimeout: 15 * 60_000,
    pool: 'forks',
  },
});
