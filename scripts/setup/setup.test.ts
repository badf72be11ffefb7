// SPDX-License-Identifier: Apache-2.0
/**
 * The set-up is split by what a machine does (scripts/setup/): a node that runs the agent and a
 * machine that runs the control plane install nothing of development or tests; scripts/setup.sh
 * (npm test, npm run demo, npm run bench) runs all three parts.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { listPackages, LISTS, readList } from "./lists.ts";

const script = (path: string) => readFileSync(`${REPO}${path}`, "utf8");
/** The list files a script names. */
const listsNamed = (path: string) => [...script(path).matchAll(/scripts\/setup\/([a-z-]+)\.list/g)].map((m) => m[1]);
/** Packages a test, a benchmark or a build needs, which no runtime may install. */
const notRuntime = new Set([...listPackages("dev"), ...listPackages("bpf-build")]);

describe("set-up parts", () => {
  it("every list parses, and lib.sh reads the same packages", () => {
    for (const name of LISTS) {
      expect(readList(name).length, name).toBeGreaterThan(0);
      const r = spawnSync("bash", ["-c", `. scripts/setup/lib.sh && list_packages scripts/setup/${name}.list`], {
        cwd: REPO,
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split("\n"), name).toEqual(listPackages(name));
    }
  });

  it("a node's and a control plane's set-up install only their own lists, which hold no test or build package", () => {
    expect(listsNamed("scripts/setup/agent-node.sh")).toEqual(["agent-node"]);
    expect(listsNamed("scripts/setup/control.sh")).toEqual(["control"]);
    for (const name of ["agent-node", "control"] as const) {
      expect(listPackages(name).filter((p) => notRuntime.has(p)), name).toEqual([]);
    }
    // The control plane's npm packages: production only, unless scripts/setup.sh asks for development.
    expect(script("scripts/setup/control.sh")).toMatch(/omit=\(--omit=dev\)/);
    for (const name of ["agent-node", "control"]) {
      expect(script(`scripts/setup/${name}.sh`), name).not.toMatch(/build-bpf|build-tools|dev\.sh|dev\.list|bpf-build/);
    }
  });

  it("the test tools are in the development list", () => {
    const dev = listPackages("dev");
    for (const pkg of ["iperf3", "nginx", "redis-server", "chromium", "prometheus", "wrk", "openssl"]) {
      expect(dev).toContain(pkg);
    }
    expect(listPackages("bpf-build")).toEqual(["clang", "llvm", "bpftool", "libbpf-dev"]);
  });

  it("scripts/setup.sh runs all three parts, the control plane's with development packages", () => {
    const lines = script("scripts/setup.sh").split("\n").filter((l) => /^[^#].*scripts\/setup\//.test(l));
    expect(lines).toEqual([
      "bash scripts/setup/agent-node.sh",
      "EBPF_K8S_SETUP_DEV=1 bash scripts/setup/control.sh",
      "bash scripts/setup/dev.sh",
    ]);
  });
});
