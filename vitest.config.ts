// SPDX-License-Identifier: Apache-2.0
import { defineConfig } from "vitest/config";

/**
 * Two groups, run one after the other (groupOrder):
 *
 * 1. `unit`: in-process tests (the app through app.request(), an in-memory or temp-file libSQL,
 *    pure functions, manifests). They share nothing but the CPU, so files run in parallel.
 *
 * 2. `system`: tests that start real processes (control plane, agents, Chromium, Prometheus),
 *    build lab namespaces and load programs into the kernel. Each asserts only on what it created
 *    (its program ids, pins, netns, cgroups, ports), so they would be correct side by side; they run
 *    one file at a time anyway because they are timing-sensitive on a 2-core machine (agents on a
 *    0.5 s interval, alerts with 2 s holds, Chromium polls): two of them at once, plus vitest's
 *    workers, starve each other into timeouts. Sequential keeps CI repeatable: the group takes
 *    about five minutes, and the whole of npm test stays under ten.
 *
 * A new test that starts a process or touches the kernel belongs in SYSTEM.
 */
const SYSTEM = [
  "scripts/e2e/**/*.test.ts",
  "scripts/browser/**/*.test.ts",
  "scripts/readme/**/*.test.ts",
  "scripts/deploy/prometheus.test.ts",
  "scripts/deploy/deno-control.test.ts",
  "scripts/deploy/systemd-run.test.ts",
  "control/**/*.process.test.ts",
];

const shared = {
  // Pages are Hono JSX; say so explicitly rather than rely on tsconfig discovery.
  oxc: { jsx: { runtime: "automatic" as const, importSource: "hono/jsx" } },
};

export default defineConfig({
  ...shared,
  test: {
    hookTimeout: 60_000,
    environment: "node",
    projects: [
      {
        ...shared,
        test: {
          name: "unit",
          include: ["control/**/*.test.{ts,tsx}", "web/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
          exclude: SYSTEM,
          hookTimeout: 60_000,
          environment: "node",
          sequence: { groupOrder: 0 },
        },
      },
      {
        ...shared,
        test: {
          name: "system",
          include: SYSTEM,
          hookTimeout: 60_000,
          environment: "node",
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
