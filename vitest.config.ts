import { defineConfig } from "vitest/config";

export default defineConfig({
  // Pages are Hono JSX; say so explicitly rather than rely on tsconfig discovery.
  oxc: { jsx: { runtime: "automatic", importSource: "hono/jsx" } },
  test: {
    include: ["control/**/*.test.{ts,tsx}", "web/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    // Kernel end-to-end tests share the machine's bpf programs list: no file parallelism surprises there.
    hookTimeout: 60_000,
    environment: "node",
  },
});
