// SPDX-License-Identifier: Apache-2.0
/**
 * What goes into the images (k8s/images/), read from their Containerfiles: the agent's runtime
 * holds Deno, the agent, the wire contract, the eBPF objects it compiled and the node's packages,
 * nothing of the control plane; the control plane's holds compiled JavaScript and production
 * packages, no tsx, TypeScript or Deno. Building and running them takes minutes: that is
 * scripts/deploy/images.bench.ts, in npm run bench.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { readContainerfile, type Stage } from "./containerfiles.ts";

const AGENT = "k8s/images/agent.Containerfile";
const CONTROL = "k8s/images/control.Containerfile";
const contextCopies = (s: Stage) => s.copies.filter((c) => c.from === null).flatMap((c) => c.sources);
const stageCopies = (s: Stage) =>
  s.copies.filter((c) => c.from !== null).map((c) => `${c.from}:${c.sources.join(" ")}`);
const IGNORED = readFileSync(`${REPO}.dockerignore`, "utf8").split("\n").filter((l) => l && !l.startsWith("#"));

describe("agent image", () => {
  const stages = readContainerfile(AGENT);
  const runtime = stages.at(-1)!;

  it("runtime: Deno, zod, the agent, the wire contract, the compiled objects, the node's packages; nothing else", () => {
    expect(contextCopies(runtime).sort()).toEqual(
      ["agent", "control/wire", "deno.json", "package.json", "scripts/setup/agent-node.list", "scripts/setup/lib.sh"],
    );
    expect(stageCopies(runtime)).toEqual([
      "deno:/deps/node_modules/deno/deno",
      "deno:/deps/node_modules/zod",
      "bpf:/src/build/bpf",
    ]);
    expect(runtime.runs.join("\n")).toContain("list_packages /tmp/setup/agent-node.list");
    expect(runtime.entrypoint?.slice(0, 2)).toEqual(["deno", "run"]);
    expect(runtime.entrypoint).not.toContain("--allow-run");
  });

  it("compiles bpf/ in its own stage, with the build packages, not on the host", () => {
    const bpf = stages.find((s) => s.name === "bpf")!;
    expect(contextCopies(bpf).sort()).toEqual(
      ["bpf", "scripts/build-bpf.sh", "scripts/setup/bpf-build.list", "scripts/setup/lib.sh"],
    );
    expect(bpf.runs.join("\n")).toContain("list_packages scripts/setup/bpf-build.list");
    expect(bpf.runs.at(-1)).toBe("bash scripts/build-bpf.sh");
    expect(IGNORED).toContain("build"); // the host's build/ never reaches an image
  });
});

describe("control image", () => {
  const stages = readContainerfile(CONTROL);
  const runtime = stages.at(-1)!;

  it("runtime: compiled JavaScript and pruned production packages, run by node", () => {
    expect(contextCopies(runtime)).toEqual(["package.json"]);
    expect(stageCopies(runtime)).toEqual(["build:/src/node_modules", "build:/src/out/"]);
    expect(runtime.entrypoint).toEqual(["node", "control/main.js"]);
    const build = stages.find((s) => s.name === "build")!;
    const runs = build.runs.join("\n");
    expect(runs).toContain("tsc -p k8s/images/control.tsconfig.json");
    expect(runs).toContain("npm prune --omit=dev");
    expect(contextCopies(build).filter((p) => p.startsWith("agent") || p.startsWith("bpf"))).toEqual([]);
  });
});

describe("both", () => {
  it("copy only paths that exist and that .dockerignore lets through", () => {
    for (const file of [AGENT, CONTROL]) {
      for (const src of readContainerfile(file).flatMap(contextCopies)) {
        expect(existsSync(`${REPO}${src}`), `${file}: ${src}`).toBe(true);
        expect(IGNORED.filter((p) => src === p || src.startsWith(`${p}/`)), `${file}: ${src}`).toEqual([]);
      }
    }
  });

  it("take their bases as build arguments, so a machine without a registry passes its own", () => {
    for (const file of [AGENT, CONTROL]) {
      for (const stage of readContainerfile(file)) expect(stage.base, file).toMatch(/^\$\{(DEBIAN|NODE)_IMAGE\}$/);
    }
  });
});
