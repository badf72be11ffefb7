// SPDX-License-Identifier: Apache-2.0
/**
 * The systemd units of scripts/systemd/, installed by their install script
 * into a temp root (code left in place: --prefix this repository), pass
 * `systemd-analyze verify` with no complaint; and every setting they give the
 * agent and the control plane is one the code reads, with a value it accepts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { Config as ControlConfig, parseConfig as parseControlConfig } from "../../control/config.ts";
import { parseConfig as parseAgentConfig, USAGE } from "../../agent/config.ts";
import { REPO } from "../procs.ts";
import { toolMissing } from "./tools.ts";
import {
  agentUnitDenoFlags,
  confinement,
  execStart,
  UNIT_DIR,
  unitEnvironment,
  UNITS,
  unitSettings,
  unitValues,
} from "./units.ts";

const ANALYZE = "/usr/bin/systemd-analyze";
const analyzeMissing = () => toolMissing(ANALYZE, "systemd");

/** Runtime variables of Deno itself, set by the unit, not read by our code. */
const RUNTIME_ENV = new Set(["DENO_DIR", "DENO_NO_UPDATE_CHECK"]);
const agentEnvNames = new Set([...USAGE.matchAll(/\((EBPF_K8S_[A-Z_]+)/g)].map((m) => m[1]!));
const readEnvFile = (path: string) =>
  Object.fromEntries(
    readFileSync(path, "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

describe("systemd units", () => {
  const root = mkdtempSync(`${tmpdir()}/ek8s-systemd-`);
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const install = (...args: string[]) =>
    execFileSync("bash", [
      `${REPO}scripts/systemd/install.sh`,
      ...args,
      "--root",
      root,
      "--prefix",
      REPO.replace(/\/$/, ""),
      "--no-copy",
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

  it.skipIf(analyzeMissing())(
    "install.sh writes both units and their env files; systemd-analyze verify has nothing to say",
    () => {
      install("control");
      install(
        "agent",
        "--control",
        "http://10.0.0.10:8080",
        "--join-token",
        "ek8s_join_0123456789abcdef0123456789abcdef",
        "--interfaces",
        "eth1",
        "--metrics-port",
        "9810",
      );
      const units = UNITS.map((u) => `${root}/etc/systemd/system/${u}`);
      const verify = spawnSync(ANALYZE, ["verify", ...units], { encoding: "utf8" });
      expect(verify.stdout + verify.stderr).toBe("");
      expect(verify.status).toBe(0);
      // the units point at the code where it is
      expect(readFileSync(units[0]!, "utf8")).toContain(`ExecStart=${REPO}node_modules/.bin/deno run`);

      // the env files: private, and what the code accepts
      for (const f of ["agent.env", "control.env"]) {
        expect(statSync(`${root}/etc/ebpf-k8s/${f}`).mode & 0o777).toBe(
          0o600,
        );
      }
      const agentEnv = {
        ...unitEnvironment("ebpf-k8s-agent.service"),
        ...readEnvFile(`${root}/etc/ebpf-k8s/agent.env`),
      };
      const agent = parseAgentConfig([], (k) => agentEnv[k]);
      expect(agent).toMatchObject({
        control: "http://10.0.0.10:8080",
        interfaces: ["eth1"],
        metricsPort: 9810,
        stateDir: "/var/lib/ebpf-k8s/agent",
        bpfDir: "/opt/ebpf-k8s/build/bpf",
      });
      expect(agent.node).toMatch(/^[a-z0-9]/); // systemd sets no HOSTNAME: the installer names the node
      const controlEnv = {
        ...unitEnvironment("ebpf-k8s-control.service"),
        ...readEnvFile(`${root}/etc/ebpf-k8s/control.env`),
      };
      expect(parseControlConfig(controlEnv).EBPF_K8S_ADMIN_TOKEN).toHaveLength(32);

      // running it again keeps the admin token and replaces only what is given
      const before = readEnvFile(`${root}/etc/ebpf-k8s/control.env`).EBPF_K8S_ADMIN_TOKEN;
      install("control", "--port", "8081");
      expect(readEnvFile(`${root}/etc/ebpf-k8s/control.env`)).toEqual({ EBPF_K8S_ADMIN_TOKEN: before, PORT: "8081" });
    },
  );

  it("every variable the units and the installer set is read by the code", () => {
    const controlNames = new Set(Object.keys(ControlConfig.shape));
    for (const name of Object.keys(unitEnvironment("ebpf-k8s-agent.service"))) {
      expect(RUNTIME_ENV.has(name) || agentEnvNames.has(name), name).toBe(true);
    }
    for (const name of Object.keys(unitEnvironment("ebpf-k8s-control.service"))) {
      expect(controlNames, name).toContain(name);
    }
    const installer = readFileSync(`${REPO}scripts/systemd/install.sh`, "utf8");
    for (const [, name] of installer.matchAll(/set\[([A-Z_0-9]+)\]=/g)) {
      expect(agentEnvNames.has(name!) || controlNames.has(name!), name).toBe(true);
    }
  });

  it("the agent's Deno permissions are narrow: no --allow-all, no --allow-run, read/write/env/sys lists; the paths it needs are in them", () => {
    const flags = agentUnitDenoFlags();
    expect(flags.filter((f) => /^(-A|--allow-all|--allow-run)/.test(f))).toEqual([]);
    const list = (flag: string) => flags.find((f) => f.startsWith(`${flag}=`))?.split("=")[1]?.split(",");
    const env = unitEnvironment("ebpf-k8s-agent.service");
    const stateDir = env.EBPF_K8S_STATE_DIR!;
    expect(list("--allow-write")!.some((p) => stateDir.startsWith(`${p}/`))).toBe(true);
    expect(list("--allow-read")!.some((p) => stateDir.startsWith(`${p}/`))).toBe(true);
    // the lab's and an operator's pods file live under the runtime directory
    expect(list("--allow-read")).toContain("/run/ebpf-k8s");
    expect(unitValues("ebpf-k8s-agent.service", "RuntimeDirectory")).toEqual(["ebpf-k8s"]);
    // --control-ca is read through Deno: the file docs/systemd.md tells an operator to use must be readable, or an
    // agent given it stops at start (--no-prompt: "Requires read access")
    const controlCa = "/etc/ebpf-k8s/control-ca.pem";
    expect(readFileSync(`${REPO}/docs/systemd.md`, "utf8")).toContain(`EBPF_K8S_CONTROL_CA=${controlCa}`);
    expect(list("--allow-read")).toContain(controlCa);
    expect(list("--allow-env")).toEqual([
      "EBPF_K8S_*",
      "HOSTNAME",
      "KUBERNETES_SERVICE_HOST",
      "KUBERNETES_SERVICE_PORT",
    ]);
    expect(list("--allow-sys")).toEqual(["osRelease"]);
    expect(execStart("ebpf-k8s-agent.service").at(-1)).toBe("agent/main.ts");
    expect(execStart("ebpf-k8s-control.service")).toEqual(["/opt/ebpf-k8s/node_modules/.bin/tsx", "control/main.ts"]);
    // configuration errors (exit 2) are not restarted
    expect(unitValues("ebpf-k8s-agent.service", "RestartPreventExitStatus")).toEqual(["2"]);
  });

  it("the uninstall unit runs `agent/main.ts uninstall` as the agent runs: same settings, flags and capabilities; it stops the agent first", () => {
    const [agent, removal] = ["ebpf-k8s-agent.service", "ebpf-k8s-agent-uninstall.service"] as const;
    expect(execStart(removal).slice(-2)).toEqual(["agent/main.ts", "uninstall"]);
    expect(agentUnitDenoFlags(removal)).toEqual(agentUnitDenoFlags(agent));
    expect(unitEnvironment(removal)).toEqual(unitEnvironment(agent));
    for (const key of ["EnvironmentFile", "WorkingDirectory"]) {
      expect(unitValues(removal, key), key).toEqual(unitValues(agent, key));
    }
    // confined exactly as the agent: capabilities, sandbox, system calls
    expect(confinement(removal)).toEqual(confinement(agent));
    expect(unitValues(removal, "Type")).toEqual(["oneshot"]);
    expect(unitValues(removal, "Conflicts")).toEqual([agent]);
    // no removal on the agent's own stop: a restart must leave the datapath in place
    expect(unitValues(agent, "ExecStopPost")).toEqual([]);
  });

  it("the agent's unit confines it: each directive with the value the agent works under (systemd-run.test.ts runs it)", () => {
    const agent = "ebpf-k8s-agent.service";
    const settings = Object.fromEntries(
      confinement(agent).filter((x) => x.key !== "SystemCallFilter").map((x) => [x.key, x.value]),
    );
    expect(settings).toMatchObject({
      ProtectSystem: "strict",
      // what it writes besides its State/Cache/RuntimeDirectory, which systemd opens itself
      ReadWritePaths: "/sys/fs/bpf",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      ProtectKernelModules: "yes",
      ProtectKernelLogs: "yes",
      ProtectControlGroups: "yes",
      RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
      // --netns: setns(CLONE_NEWNET) and nothing else
      RestrictNamespaces: "net",
      SystemCallArchitectures: "native",
      SystemCallErrorNumber: "EPERM",
      LockPersonality: "yes",
      NoNewPrivileges: "yes",
      CapabilityBoundingSet: "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN",
      AmbientCapabilities: "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN",
    });
    // V8's JIT needs writable executable memory; ProtectKernelTunables would make bpffs read-only
    expect(settings.MemoryDenyWriteExecute).toBeUndefined();
    expect(settings.ProtectKernelTunables).toBeUndefined();
    // a deny list, then perf_event_open (of @debug) let through again for the tracepoints
    expect(unitValues(agent, "SystemCallFilter")).toEqual([
      "~@clock @cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap",
      "perf_event_open",
    ]);
  });

  it.skipIf(analyzeMissing())(
    "systemd-analyze security: the agent's exposure is 3.1 (7.1 before its hardening), the control plane's 4.5 as before",
    () => {
      const exposure = (unit: string) => {
        const r = spawnSync(ANALYZE, ["security", "--offline=yes", "--no-pager", `${UNIT_DIR}/${unit}`], {
          encoding: "utf8",
        });
        const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
        if (!m) throw new Error(`systemd-analyze security ${unit}: ${r.stdout}${r.stderr}`);
        return Number(m[1]);
      };
      // systemd 252 (Debian 12) scoring; docs/systemd.md quotes these figures: any change to a unit shows here
      expect(exposure("ebpf-k8s-agent.service")).toBe(3.1);
      expect(exposure("ebpf-k8s-agent-uninstall.service")).toBe(3.1);
      expect(exposure("ebpf-k8s-control.service")).toBe(4.5);
      expect(unitSettings("ebpf-k8s-control.service").filter((x) => x.key === "ProtectSystem")).toEqual([
        { key: "ProtectSystem", value: "strict" },
      ]);
    },
  );
});
