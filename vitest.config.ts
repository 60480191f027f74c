import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The idle machine's limits (test/helpers/load.ts), scaled for each test file by the load
    // factor that the global setup measures once.
    testTimeout: 60_000,
    hookTimeout: 10_000,
    globalSetup: ["test/helpers/load-setup.ts"],
    setupFiles: ["test/helpers/scale-timeouts.ts"],
  },
});
