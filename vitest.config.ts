import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // tshark runs dominate: give them time, and run files in parallel on the machine's cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
