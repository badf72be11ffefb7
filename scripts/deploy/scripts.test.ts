// SPDX-License-Identifier: Apache-2.0
/**
 * The cluster set-up scripts (k8s/scripts/) and the systemd installer are
 * shellcheck-clean, and refuse bad input with a message before changing
 * anything. (kubeadm itself cannot be installed on this machine: the scripts
 * are linted and their argument handling tested, not run against a cluster.)
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { toolMissing } from "./tools.ts";

const SHELLCHECK = "/usr/bin/shellcheck";
const shellcheckMissing = () => toolMissing(SHELLCHECK, "shellcheck");

const shellIn = (dir: string) =>
  readdirSync(`${REPO}${dir}`).filter((f) => f.endsWith(".sh")).map((f) => `${dir}/${f}`);
/** Every shell script of the repository: the cluster set-up, the installers, and npm's scripts and CI. */
const SCRIPTS = [
  ...shellIn("k8s/scripts"),
  "scripts/systemd/install.sh",
  ...shellIn("scripts"),
  ...shellIn("scripts/setup"),
  ".ci/run",
];
const run = (script: string, ...args: string[]) =>
  spawnSync("bash", [`${REPO}${script}`, ...args], {
    encoding: "utf8",
    env: { ...process.env, PATH: "/usr/bin:/bin" },
  });

describe("set-up scripts", () => {
  it("are the expected ones", () => {
    expect(SCRIPTS.sort()).toEqual([
      ".ci/run",
      "k8s/scripts/build-images.sh",
      "k8s/scripts/cluster-init.sh",
      "k8s/scripts/cluster-join.sh",
      "k8s/scripts/install.sh",
      "k8s/scripts/local-base-images.sh",
      "k8s/scripts/node-prep.sh",
      "scripts/bench.sh",
      "scripts/build-bpf.sh",
      "scripts/build-tools.sh",
      "scripts/ci-repeat.sh",
      "scripts/demo.sh",
      "scripts/setup.sh",
      "scripts/setup/agent-node.sh",
      "scripts/setup/control.sh",
      "scripts/setup/dev.sh",
      "scripts/setup/lib.sh",
      "scripts/systemd/install.sh",
      "scripts/test.sh",
    ]);
  });

  it.skipIf(shellcheckMissing())("shellcheck finds nothing, at any severity", () => {
    const r = spawnSync(SHELLCHECK, ["--severity=style", "--external-sources", ...SCRIPTS], {
      cwd: REPO,
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("say how to use them", () => {
    for (
      const [script, words] of [
        ["k8s/scripts/cluster-init.sh", "--advertise-address"],
        ["k8s/scripts/install.sh", "--libsql-url"],
        ["k8s/scripts/install.sh", "--rotate-join-token"],
        ["k8s/scripts/build-images.sh", "--push"],
        ["k8s/scripts/build-images.sh", "--local-base"],
        ["k8s/scripts/local-base-images.sh", "--rebuild"],
        ["scripts/systemd/install.sh", "--join-token"],
      ] as const
    ) {
      const r = run(script, "--help");
      expect(r.status, script).toBe(0);
      expect(r.stdout, script).toContain(words);
    }
  });

  it("refuse bad input before touching the machine", () => {
    for (const bad of [["0"], ["five"], ["2", "--bogus"]]) {
      const r = run("scripts/ci-repeat.sh", ...bad);
      expect(r.status, bad.join(" ")).toBe(2);
      expect(r.stderr, bad.join(" ")).toMatch(/ci-repeat: (N must be a positive whole number|unknown option)/);
    }
    const join = run("k8s/scripts/cluster-join.sh", "echo hello");
    expect(join.status).not.toBe(0);
    expect(join.stderr).toMatch(/not a kubeadm join command|run as root/);
    const noHash = run("k8s/scripts/cluster-join.sh", "kubeadm join 10.0.0.1:6443 --token abc.def");
    expect(noHash.status).not.toBe(0);
    expect(noHash.stderr).toMatch(/--discovery-token-ca-cert-hash|run as root/);
    expect(run("k8s/scripts/cluster-init.sh", "--bogus").status).toBe(2);
    for (const script of ["k8s/scripts/build-images.sh", "k8s/scripts/local-base-images.sh"]) {
      const r = run(script, "--bogus");
      expect(r.status, script).toBe(1);
      expect(r.stderr, script).toMatch(/unknown argument: --bogus/);
    }
    const prep = spawnSync("bash", [`${REPO}k8s/scripts/node-prep.sh`], {
      encoding: "utf8",
      env: { ...process.env, K8S_VERSION: "1.33.1" },
    });
    expect(prep.status).not.toBe(0);
    expect(prep.stderr).toMatch(/K8S_VERSION must look like v1\.33|run as root/);
    // no cluster here (and maybe no kubectl): the installer says so
    const install = run("k8s/scripts/install.sh");
    expect(install.status).not.toBe(0);
    expect(install.stderr).toMatch(/kubectl not found|kubectl cannot reach a cluster/);
    const rotateWith = run("k8s/scripts/install.sh", "--rotate-join-token", "--registry", "reg.example:5000");
    expect(rotateWith.status).toBe(1);
    expect(rotateWith.stderr).toContain("--rotate-join-token goes alone (it changes nothing but the join token)");
    const systemd = run(
      "scripts/systemd/install.sh",
      "agent",
      "--root",
      "/nonexistent-ek8s-test",
      "--no-copy",
      "--bogus",
    );
    expect(systemd.status).toBe(2);
  });
});
