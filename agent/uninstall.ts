// SPDX-License-Identifier: Apache-2.0
/**
 * `main.ts uninstall`: the only way the datapath is removed. An agent's
 * SIGTERM leaves load balancing, the gateway and the pinned counters running
 * for the next agent (agent.ts stop, handOver); this detaches every program
 * of the node and removes its attachments and pins, with no agent and no
 * control plane: what a predecessor recorded in <state-dir>/epoch.json says
 * where its tc filters (and the clsact qdiscs it created) and XDP programs
 * are, the pins say the rest (cgroup and tracepoint links are pinned). Each
 * module removes its own (Module.clean), newest first so that a qdisc's
 * creator finds the filters of the others gone. Refused while an agent runs
 * with the state directory (its lock); running it again finds nothing to do.
 * The state directory itself (credential, unsent batches) stays.
 */
import type { AgentConfig } from "./config.ts";
import { modulePinDir, nodeModules } from "./agent.ts";
import { pathExists, removeEmptyDir } from "./libbpf/mod.ts";
import type { ModuleEnv } from "./modules/module.ts";
import { PodTable } from "./pods/directory.ts";
import { StateDir } from "./state/state_dir.ts";

/** What was done; `errors` names each module whose removal failed (its epoch.json record is kept for another try). */
export interface UninstallReport {
  /** Whether a predecessor's epoch.json was found (where its filters are). */
  recorded: boolean;
  errors: string[];
}

export function uninstall(cfg: AgentConfig, log: (msg: string) => void): UninstallReport {
  // No state directory: no agent ever ran with it (it would have made it), so none runs now either.
  const state = pathExists(cfg.stateDir) ? StateDir.open(cfg.stateDir, log) : null;
  try {
    const epoch = state?.loadEpoch(cfg.node) ?? null;
    const env = (name: string): ModuleEnv => ({
      node: cfg.node,
      bpfDir: cfg.bpfDir,
      pinDir: modulePinDir(cfg, name),
      interfaces: [],
      netns: cfg.netns,
      netnsIno: 0,
      excludeInterfaces: cfg.excludeInterfaces,
      pods: new PodTable(null, true),
      log,
    });
    const errors: string[] = [];
    for (const m of nodeModules(cfg, env, null).reverse()) {
      try {
        m.clean(epoch?.modules[m.name]);
      } catch (e) {
        errors.push(`${m.name}: ${(e as Error).message}`);
      }
    }
    if (!errors.length) {
      state?.removeEpoch();
      removeEmptyDir(`${cfg.bpfPinDir}/${cfg.node}`);
      removeEmptyDir(cfg.bpfPinDir);
    }
    return { recorded: epoch !== null, errors };
  } finally {
    state?.close();
  }
}

/** main.ts uninstall: the exit status (0 done, 1 a removal failed). */
export function runUninstall(cfg: AgentConfig, log: (msg: string) => void): number {
  const r = uninstall(cfg, log);
  if (r.errors.length) {
    log(`uninstall of node ${cfg.node} incomplete: ${r.errors.join("; ")}`);
    return 1;
  }
  log(
    `node ${cfg.node}: uninstalled: no program, attachment or pin of it left under ${cfg.bpfPinDir}/${cfg.node}` +
      (r.recorded ? "" : " (no epoch.json: nothing was recorded as attached)"),
  );
  return 0;
}
