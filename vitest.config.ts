import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suite has its own config and script (npm run test:reliability).
    exclude: [...configDefaults.exclude, 'test/reliability/**'],
    // Generous limits: on a loaded 2-core machine a test that spawns several CLI processes can take
    // well over 30 s without anything being wrong; a real hang still fails, only later.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Child-process and server tests share 2 cores: keep the pool small and predictable.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    pool: 'forks',
  },
});
