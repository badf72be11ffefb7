// SPDX-License-Identifier: Apache-2.0
/**
 * A private systemd service manager for tests: a unit file of scripts/systemd/
 * runs under real systemd, with every sandboxing directive applied by systemd
 * itself, on machines whose PID 1 is not systemd (containers, this VM) as on
 * those where it is, without touching the machine's own manager.
 *
 * It is `systemd --user` run as root, which has the capabilities to set up
 * mount namespaces, seccomp filters and capability sets exactly as the system
 * manager does. Differences from a system unit, which tests must map: the
 * state, cache and runtime directories live under its own home
 * (StateDirectory= → ~/.config, CacheDirectory= → ~/.cache, RuntimeDirectory=
 * → $XDG_RUNTIME_DIR), and cgroup controllers (memory, devices) are not
 * delegated to it.
 *
 * What it needs set up first, each in its own place:
 *  - its home under /run, not /tmp: PrivateTmp= hides /tmp from the units;
 *  - a mount namespace of its own (unshare), in which /run is a mount point
 *    (on a systemd machine it is a tmpfs; where it is not, systemd would
 *    mount an empty /run over it for units with ProtectKernelTunables= or
 *    ProtectControlGroups=, hiding /run/netns), and /run/systemd is a
 *    directory of this manager's with `system/` (systemd refuses to start a
 *    user manager unless the machine looks booted with systemd) and
 *    `inaccessible/` (what ProtectKernelLogs= and friends mount over hidden
 *    paths); mounts made on the host later (lab netns) propagate into it;
 *  - a child cgroup of this process's own in each hierarchy systemd tracks
 *    processes in (cgroup v2, and name=systemd on hybrid hosts), removed with it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { removeCgroupTree } from "../lab/cgroup.ts";
import { type Proc, start, waitFor } from "../procs.ts";

export const SYSTEMD = "/lib/systemd/systemd";

export interface UserManager {
  /** Its home: where StateDirectory= and CacheDirectory= of its units go (.config, .cache). */
  home: string;
  /** $XDG_RUNTIME_DIR: where RuntimeDirectory= goes. */
  runtimeDir: string;
  /** Installs a unit file (or a drop-in, `NAME.d/FILE.conf`) for it to load; reload() after. */
  addUnit(name: string, text: string): void;
  reload(): void;
  /** systemctl --user against this manager; throws with its output unless it exits 0. */
  systemctl(...args: string[]): string;
  /** A unit's properties, as `systemctl show` gives them. */
  show(unit: string, ...props: string[]): Record<string, string>;
  /** Stops the manager (and whatever it still runs) by pid, removes its cgroups and home. */
  stop(): Promise<void>;
}

/** The cgroup hierarchies systemd tracks processes in: [mount point, this process's cgroup in it]. */
function trackingHierarchies(): [string, string][] {
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "));
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  const out: [string, string][] = [];
  const v2 = mounts.find((m) => m[2] === "cgroup2");
  const v2Own = own.find((c) => c[0] === "0" && c[1] === "");
  if (v2 && v2Own) out.push([v2[1]!, v2Own[2]!]);
  const named = mounts.find((m) => m[2] === "cgroup" && m[3]!.split(",").includes("name=systemd"));
  const namedOwn = own.find((c) => c[1] === "name=systemd");
  if (named && namedOwn) out.push([named[1]!, namedOwn[2]!]);
  if (!out.length) throw new Error("no cgroup hierarchy for systemd to track processes in");
  return out;
}

export async function startUserManager(prefix: string): Promise<UserManager> {
  const home = mkdtempSync(`/run/${prefix}-`);
  const runtimeDir = `${home}/run`;
  const fakeRunSystemd = `${home}/run-systemd`;
  mkdirSync(runtimeDir, { mode: 0o700 });
  mkdirSync(`${fakeRunSystemd}/system`, { recursive: true });
  // The manager makes its inaccessible nodes under its runtime directory; mounts look for them under /run/systemd.
  symlinkSync(`${runtimeDir}/systemd/inaccessible`, `${fakeRunSystemd}/inaccessible`);
  const unitDir = `${home}/.config/systemd/user`;
  mkdirSync(unitDir, { recursive: true });

  const cgroups = trackingHierarchies().map(([mount, own]) =>
    `${mount}${own.replace(/\/$/, "")}/${prefix}-${process.pid}`
  );
  for (const cg of cgroups) mkdirSync(cg, { recursive: true });

  const env = { XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: "" };
  const script = [
    ...cgroups.map((cg) => `echo $$ > '${cg}/cgroup.procs'`),
    `exec unshare --mount --propagation slave sh -c 'mount --rbind /run /run && mount --bind "$0" /run/systemd && exec "$@"' '${fakeRunSystemd}' ` +
    `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME='${home}' XDG_RUNTIME_DIR='${runtimeDir}' ${SYSTEMD} --user`,
  ].join("\n");
  const manager: Proc = start(prefix, ["bash", "-c", script]);

  const systemctl = (...args: string[]): string => {
    const r = spawnSync("systemctl", ["--user", "--no-pager", ...args], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    if (r.status !== 0) throw new Error(`systemctl --user ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const stop = async () => {
    await manager.stop(10_000);
    for (const cg of cgroups) removeCgroupTree(cg);
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor("the private systemd manager", async () => {
      if (manager.child.exitCode !== null) throw new Error(`it exited ${manager.child.exitCode}: ${manager.output()}`);
      // `is-system-running` would say "offline" (it looks at the host's PID 1): ask the manager itself
      return existsSync(`${runtimeDir}/systemd/private`) &&
        ["running", "degraded"].includes(systemctl("show", "--property=SystemState", "--value").trim());
    }, 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    home,
    runtimeDir,
    addUnit(name, text) {
      mkdirSync(dirname(`${unitDir}/${name}`), { recursive: true });
      writeFileSync(`${unitDir}/${name}`, text);
    },
    reload: () => void systemctl("daemon-reload"),
    systemctl,
    show(unit, ...props) {
      const out = systemctl("show", unit, ...props.map((p) => `--property=${p}`));
      return Object.fromEntries(
        out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
    },
    stop,
  };
}
