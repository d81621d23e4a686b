import { defineConfig } from 'vitest/config';

// "source" makes workspace packages resolve to their TypeScript sources, so tests never run stale dist/.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // test/e2e and test/chart need helm, kube-apiserver and network namespaces: the e2e tier runs them.
    exclude: ['**/node_modules/**', '**/dist/**', 'test/e2e/**', 'test/chart/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
