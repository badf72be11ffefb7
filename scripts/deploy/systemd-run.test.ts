// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's hardened unit (scripts/systemd/ebpf-k8s-agent.service), as
 * install.sh installs it, run by real systemd (a private manager of this
 * test's: user-manager.ts) against a lab node: every sandboxing directive is
 * applied by systemd, and the agent still enters the node's netns, attaches,
 * and its batches arrive with exact counts. Its process carries the
 * confinement (read-only root, seccomp, no new privileges, the four
 * capabilities); a stop is clean; the uninstall unit, under the same
 * confinement, removes its tc filters and pins.
 *
 * The unit runs unchanged but for its paths: the state, cache and runtime
 * directories move to where a user manager puts them, the env file to this
 * test's root. Everything is this test's own: lab "sdu", pin dir, cgroups,
 * the manager; all removed by pid and path in afterAll, also on failure.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiIf, Cluster, ping } from "../cluster.ts";
import { kernelMissing } from "../e2e/kernel.ts";
import { REPO, waitFor } from "../procs.ts";
import { toolMissing } from "./tools.ts";
import { startUserManager, SYSTEMD, type UserManager } from "./user-manager.ts";

const AGENT = "ebpf-k8s-agent.service";
const UNINSTALL = "ebpf-k8s-agent-uninstall.service";
const MONITORING = ["ifstats", "flows", "tcp", "drops"];
const N = 20;
const SIZE = 200;
/** CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21), CAP_PERFMON (38), CAP_BPF (39): the unit's bounding and ambient set. */
const FOUR_CAPS = (1n << 12n) | (1n << 21n) | (1n << 38n) | (1n << 39n);

const missing = kernelMissing() ?? toolMissing(SYSTEMD, "systemd") ?? toolMissing("/usr/bin/unshare", "util-linux");

describe.skipIf(missing)("the hardened agent unit under systemd", () => {
  let c: Cluster;
  let m: UserManager | undefined;
  const root = mkdtempSync(`${tmpdir()}/ek8s-sdunit-`);
  const pinDir = `/sys/fs/bpf/ek8s-sdunit-${process.pid}`;
  const log = `${root}/units.log`;

  beforeAll(async () => {
    c = new Cluster({ name: "sdu", index: 6, nodes: 1, pods: 2, port: 22_000 + (process.pid % 400), interval: 0.5 });
    await c.startControl();
    await c.createJoinToken();
    m = await startUserManager("ek8s-sdunit");
  }, 90_000);

  afterAll(async () => {
    await m?.stop();
    await c?.down();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  const tcFilters = (netns: string, dev: string) =>
    JSON.parse(
      execFileSync("ip", ["netns", "exec", netns, "tc", "-j", "filter", "show", "dev", dev, "ingress"], {
        encoding: "utf8",
      }) || "[]",
    ) as unknown[];
  const logs = () => `${existsSync(log) ? readFileSync(log, "utf8").slice(-4000) : "(no unit output)"}\n${c.logs()}`;

  it(
    "enters the node's netns, attaches and reports exact counts; confined as the unit says; stops and uninstalls cleanly",
    async () => {
      const node = c.node(0);
      const [p1, p2] = node.pods;
      execFileSync("bash", [
        `${REPO}scripts/systemd/install.sh`,
        "agent",
        ...["--root", root, "--prefix", REPO.replace(/\/$/, ""), "--no-copy"],
        ...["--control", `http://${c.lab.topology.hostIp}:${c.port}`, "--join-token", c.joinToken],
        ...["--node", c.nodeName(node), "--interfaces", `${p1.hostVeth},${p2.hostVeth}`, "--metrics-port", "0"],
      ], { stdio: ["ignore", "pipe", "pipe"] });
      // what install.sh has no flag for: the lab node's netns, this test's pins, a short interval
      appendFileSync(
        `${root}/etc/ebpf-k8s/agent.env`,
        `EBPF_K8S_NETNS=${node.netns}\nEBPF_K8S_BPF_PIN_DIR=${pinDir}\nEBPF_K8S_INTERVAL=0.5\n`,
      );
      const moved = (text: string) =>
        text
          .replaceAll("/var/lib/ebpf-k8s", `${m!.home}/.config/ebpf-k8s`)
          .replaceAll("/var/cache/ebpf-k8s", `${m!.home}/.cache/ebpf-k8s`)
          .replaceAll("/run/ebpf-k8s", `${m!.runtimeDir}/ebpf-k8s`)
          .replaceAll("/etc/ebpf-k8s/", `${root}/etc/ebpf-k8s/`);
      // Test-only drop-in: the units' output to a file (this manager has no journal); and a checkout under a home
      // directory, which ProtectHome=yes hides (an installed agent lives in /opt): empty homes instead, with the
      // checkout bound into them read-only (a bind into ProtectHome=yes's inaccessible directory finds no mount point).
      const exposed = [REPO, realpathSync(`${REPO}node_modules`)].filter((p) =>
        /^\/(home|root|run\/user)(\/|$)/.test(p)
      );
      // And a checkout under /tmp (CI's clones), which PrivateTmp=yes hides behind an empty /tmp of the unit's own.
      const inTmp = [REPO, realpathSync(`${REPO}node_modules`)].some((p) => /^\/(var\/)?tmp(\/|$)/.test(p));
      const dropIn = [
        "[Service]",
        `StandardOutput=append:${log}`,
        `StandardError=append:${log}`,
        ...(exposed.length
          ? ["ProtectHome=tmpfs", ...exposed.map((p) => `BindReadOnlyPaths=${p.replace(/\/$/, "")}`)]
          : []),
        ...(inTmp ? ["PrivateTmp=no"] : []),
        "",
      ].join("\n");
      for (const unit of [AGENT, UNINSTALL]) {
        m!.addUnit(unit, moved(readFileSync(`${root}/etc/systemd/system/${unit}`, "utf8")));
        m!.addUnit(`${unit}.d/test.conf`, dropIn);
      }
      m!.reload();
      m!.systemctl("start", AGENT);

      await waitFor(
        "the agent's first batch",
        async () => (await c.interfaces(node).catch(() => ({}) as Record<string, ApiIf>))[p2.hostVeth],
        60_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${JSON.stringify(m!.show(AGENT, "ActiveState", "Result"))}\n${logs()}`);
      });
      // attached inside the node's netns, through rtnetlink (AF_NETLINK, setns allowed by RestrictNamespaces=net)
      expect(tcFilters(node.netns, p1.hostVeth).length).toBeGreaterThan(0);
      // every monitoring module on: tc programs (ifstats, flows), tracepoints through perf_event_open (tcp, drops)
      const states = () =>
        c.get<{ name: string; state: string | null; error: string | null }[]>(
          `/api/v1/nodes/${c.nodeName(node)}/modules`,
        ).then((ms) =>
          Object.fromEntries(ms.filter((x) => MONITORING.includes(x.name)).map((x) => [x.name, x.error ?? x.state]))
        );
      const on = Object.fromEntries(MONITORING.map((name) => [name, "on"]));
      await waitFor(
        "the monitoring modules on",
        async () => JSON.stringify(await states()) === JSON.stringify(on),
        20_000,
      )
        .catch(async (e) => {
          throw new Error(`${e.message}: ${JSON.stringify(await states())}\n${logs()}`);
        });

      // The confinement, read from the running process itself.
      const pid = Number(m!.show(AGENT, "MainPID").MainPID);
      expect(pid).toBeGreaterThan(0);
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(status)?.[1];
      expect(field("NoNewPrivs")).toBe("1");
      expect(field("Seccomp")).toBe("2"); // a filter: SystemCallFilter, RestrictAddressFamilies, RestrictNamespaces…
      expect(BigInt(`0x${field("CapBnd")}`)).toBe(FOUR_CAPS);
      expect(BigInt(`0x${field("CapEff")}`)).toBe(FOUR_CAPS);
      const mountOpts = (path: string) => {
        const lines = readFileSync(`/proc/${pid}/mountinfo`, "utf8").trim().split("\n").map((l) => l.split(" "));
        const last = lines.filter((f) => f[4] === path).at(-1); // the topmost mount on that path
        return last?.[5]?.split(",") ?? [];
      };
      expect(mountOpts("/")).toContain("ro"); // ProtectSystem=strict
      expect(mountOpts("/sys/fs/cgroup")).toContain("ro"); // ProtectControlGroups
      expect(mountOpts("/sys/fs/bpf")).toContain("rw"); // ReadWritePaths: its pins
      expect(mountOpts(`${m!.home}/.config/ebpf-k8s`)).toContain("rw"); // StateDirectory
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("agent/main.ts");

      // Exact counts: echo requests into the host side of pod 1's veth, settled over a few intervals.
      ping(p1, p2.ip, N, SIZE);
      const settled = await waitFor("the API totals to settle", async () => {
        const a = (await c.interfaces(node))[p1.hostVeth]!;
        await new Promise((r) => setTimeout(r, 1_500));
        const b = (await c.interfaces(node))[p1.hostVeth]!;
        return a.rxBytes === b.rxBytes && b.rxPackets >= N ? b : null;
      }, 30_000);
      expect(settled.rxPackets).toBe(N);
      expect(settled.rxBytes).toBe(N * (SIZE + 8 + 20 + 14));

      // A stop (SIGTERM) is clean; the uninstall unit, confined the same way, removes what it attached and pinned.
      m!.systemctl("stop", AGENT);
      expect(m!.show(AGENT, "ActiveState", "Result", "ExecMainStatus"), logs()).toEqual({
        ActiveState: "inactive",
        Result: "success",
        ExecMainStatus: "0",
      });
      m!.systemctl("start", UNINSTALL);
      expect(m!.show(UNINSTALL, "Result", "ExecMainStatus"), logs()).toEqual({
        Result: "success",
        ExecMainStatus: "0",
      });
      expect(tcFilters(node.netns, p1.hostVeth)).toEqual([]);
      expect(existsSync(pinDir)).toBe(false);
    },
    180_000,
  );
});
