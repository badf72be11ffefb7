// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the agent's modules as the control plane's desired state says.
 *
 * The desired state comes with every ack (and the join answer) and is
 * versioned: a version is applied once, at the next read (so within one
 * interval). Switching a module off detaches it and removes its pins;
 * switching it on starts it from zero. A module that fails to start reports
 * state "error" with the reason (and the head of the verifier log) until the
 * next version; the other modules and the agent go on. A module whose
 * kernel lacks a feature its programs need (`lacking`, requirements.ts) is
 * not started and reports "unsupported" naming what is missing, as are names
 * in MODULES this agent has no module for.
 */
import {
  DEFAULT_MODULES,
  type DesiredState,
  type InterfaceCounters,
  type MapInfo,
  type ModuleName,
  MODULES,
  type ModuleStatus,
  type ProgramInfo,
} from "../../control/wire/batch.ts";
import { VerifierError } from "../libbpf/mod.ts";
import type { Module, Reading } from "./module.ts";

type RunState = { state: "on" | "off" } | { state: "error" | "unsupported"; error: string };

/** The readings of all modules together. */
export type Merged = Reading & { interfaces: InterfaceCounters[] };

/** Longest error text reported (ModuleStatus.error allows 8192). */
const MAX_ERROR = 8000;
const VERIFIER_LOG_HEAD_LINES = 40;

export class ModuleManager {
  #wanted: Record<ModuleName, boolean>;
  /** Version of the desired state applied; null while running on the stored or default one. */
  #version: number | null = null;
  #pending: DesiredState | null = null;
  readonly #states = new Map<ModuleName, RunState>();
  /** The cumulative parts of each module's last reading (see read()). */
  readonly #cumulative = new Map<ModuleName, Reading>();

  constructor(
    private readonly modules: Module[],
    initial: DesiredState | null,
    private readonly log: (msg: string) => void,
    /** What the kernel lacks of what a module needs (requirements.ts KernelProbes.missing); none by default. */
    private readonly lacking: (name: ModuleName) => string[] = () => [],
  ) {
    this.#wanted = { ...(initial?.modules ?? DEFAULT_MODULES) };
    this.#version = initial?.version ?? null;
    for (const m of modules) this.#states.set(m.name, { state: "off" });
  }

  /** Takes a desired state from the control plane; true when it is a version not applied yet. */
  offer(desired: DesiredState): boolean {
    // "differs", not "greater": a control plane whose database was reset starts counting again
    if (desired.version === (this.#pending?.version ?? this.#version)) return false;
    this.#pending = desired;
    return true;
  }

  /** Whether every counting module to start has pins a predecessor left (so its counters can continue). */
  canAdopt(): boolean {
    return this.modules.filter((m) => m.counting && this.#wanted[m.name]).every((m) => m.hasPins());
  }

  /**
   * First start: adopts or starts fresh the wanted modules, cleans up after
   * the others. Returns the counting modules that failed to start.
   */
  startAll(adopt: boolean, previous: Record<string, unknown> = {}): ModuleName[] {
    for (const m of this.modules) {
      if (this.#wanted[m.name]) this.#start(m, { adopt, previous: previous[m.name] });
      else this.#guard(m, "clean up after", () => m.clean(previous[m.name]));
    }
    return this.modules.filter((m) => m.counting && this.#states.get(m.name)!.state === "error").map((m) => m.name);
  }

  /** Starts these modules from zero (after a failed adoption; the agent began a new epoch). */
  startFresh(names: ModuleName[]): void {
    for (const m of this.modules) if (names.includes(m.name)) this.#start(m, { adopt: false });
  }

  /**
   * Applies the pending desired state, if any. `beforeFreshCount` runs
   * before a counting module starts from zero (the agent begins a new epoch).
   */
  apply(beforeFreshCount: () => void): boolean {
    const d = this.#pending;
    if (!d) return false;
    this.#pending = null;
    this.#version = d.version;
    this.#wanted = { ...d.modules };
    for (const m of this.modules) {
      const want = this.#wanted[m.name];
      const s = this.#states.get(m.name)!.state;
      if (want && s !== "on") {
        if (m.counting) beforeFreshCount();
        this.#start(m, { adopt: false });
      } else if (!want && s === "on") {
        this.#stop(m);
      } else if (!want && (s === "error" || s === "unsupported")) {
        this.#states.set(m.name, { state: "off" });
      }
    }
    return true;
  }

  /** Stops every running module; throws an AggregateError naming each that failed. */
  stopAll(): void {
    this.#endAll(() => false);
  }

  /**
   * The hand-over to the next agent (SIGTERM): modules with pins let go and
   * stay attached (Module.release), the others stop. Throws like stopAll.
   */
  releaseAll(): void {
    this.#endAll((m) => m.release !== undefined);
  }

  #endAll(keep: (m: Module) => boolean): void {
    const errors: Error[] = [];
    for (const m of this.modules) {
      if (this.#states.get(m.name)!.state !== "on") continue;
      const ended = keep(m) ? this.#release(m) : this.#stop(m);
      if (!ended) errors.push(new Error(`${m.name}: ${(this.#states.get(m.name) as { error: string }).error}`));
    }
    if (errors.length) {
      throw new AggregateError(
        errors,
        `stopping modules failed: ${errors.map((e) => e.message).join("; ")}`,
      );
    }
  }

  isOn(name: ModuleName): boolean {
    return this.#states.get(name)?.state === "on";
  }

  statuses(): ModuleStatus[] {
    return MODULES.map((name) => {
      const s = this.#states.get(name);
      const base = { name, desired: this.#wanted[name] };
      if (!s) return { ...base, state: "unsupported" as const };
      return "error" in s ? { ...base, state: s.state, error: s.error } : { ...base, state: s.state };
    });
  }

  /**
   * What the running modules add to a batch, merged: `interfaces` is empty
   * when none counts them, the other parts are absent when no module made
   * them. The cumulative parts a module reported (pod drops, table and cap
   * counts) stand while it is switched off, so that they never go down
   * within a boot; a module that is on again reports its own anew.
   */
  read(): Merged {
    const out: Merged = { interfaces: [] };
    for (const m of this.modules) {
      const on = this.#states.get(m.name)!.state === "on";
      let r: Reading;
      if (on) {
        try {
          r = m.read();
          this.#cumulative.set(m.name, { podDrops: r.podDrops, monitoring: r.monitoring });
        } catch (e) {
          // one module's failed read must not cost the batch the others' readings
          this.log(`module ${m.name}: read failed: ${(e as Error).message}`);
          r = this.#cumulative.get(m.name) ?? {};
        }
      } else {
        r = this.#cumulative.get(m.name) ?? {};
      }
      out.interfaces.push(...(r.interfaces ?? []));
      if (r.podTraffic) out.podTraffic = new Map([...(out.podTraffic ?? []), ...r.podTraffic]);
      if (r.podDrops) out.podDrops = new Map([...(out.podDrops ?? []), ...r.podDrops]);
      for (const k of ["flows", "tcp", "drops"] as const) if (r[k]) out[k] = [...(out[k] ?? []), ...r[k]] as never;
      if (r.monitoring) out.monitoring = { ...out.monitoring, ...r.monitoring };
      if (on && r.lb) out.lb = r.lb; // deltas: never repeated from a module that is off
      if (on && r.accel) out.accel = r.accel;
      if (on && r.gateway) out.gateway = r.gateway;
      if (on && r.dns) out.dns = r.dns;
    }
    return out;
  }

  /** Resolves once every stopped module has let go of what it left running (see Module.settled). */
  async settled(): Promise<void> {
    await Promise.all(this.modules.map((m) => m.settled?.()));
  }

  /** Tells the running modules that the pod list changed (each failure is logged, none stops the others). */
  podsChanged(): void {
    for (const m of this.#running()) {
      try {
        m.podsChanged?.();
      } catch (e) {
        this.log(`module ${m.name}: following the pod change failed: ${(e as Error).message}`);
      }
    }
  }

  /** Records of a module's kind the agent left out of a batch (too big): the module counts them as cut. */
  recordsCut(name: ModuleName, n: number, list?: string): void {
    if (n > 0) this.modules.find((m) => m.name === name)?.recordsCut?.(n, list);
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    return this.#running().flatMap((m) => this.#inventory(m, () => m.programs(bpfStats)));
  }

  maps(): MapInfo[] {
    return this.#running().flatMap((m) => this.#inventory(m, () => m.maps()));
  }

  /** What each running module recorded for a successor (epoch.json); `handOver`: see Module.record. */
  records(handOver = false): Record<string, unknown> {
    return Object.fromEntries(this.#running().map((m) => [m.name, m.record(handOver)]));
  }

  #running(): Module[] {
    return this.modules.filter((m) => this.#states.get(m.name)!.state === "on");
  }

  #start(m: Module, options: { adopt: boolean; previous?: unknown }): void {
    const lacks = this.#lacks(m);
    if (lacks.length) {
      const error = `this kernel lacks what the module's programs need: ${lacks.join(", ")}`;
      this.#states.set(m.name, { state: "unsupported", error });
      this.log(`module ${m.name}: not started: ${error}`);
      return;
    }
    if (this.#guard(m, "start", () => m.start(options))) {
      this.#states.set(m.name, { state: "on" });
      this.log(`module ${m.name}: on${options.adopt ? " (adopted the pinned maps of the previous run)" : ""}`);
    }
  }

  #stop(m: Module): boolean {
    if (!this.#guard(m, "stop", () => m.stop())) return false;
    this.#states.set(m.name, { state: "off" });
    this.log(`module ${m.name}: off`);
    return true;
  }

  #release(m: Module): boolean {
    if (!this.#guard(m, "let go of", () => m.release!())) return false;
    this.#states.set(m.name, { state: "off" });
    this.log(`module ${m.name}: left attached and pinned for the next agent`);
    return true;
  }

  /** Probed before each start (a kernel does not change, but the objects may with an upgrade); a failed probe: none. */
  #lacks(m: Module): string[] {
    try {
      return this.lacking(m.name);
    } catch (e) {
      this.log(`module ${m.name}: cannot tell what the kernel lacks: ${(e as Error).message}`);
      return [];
    }
  }

  /** Runs a lifecycle step; a failure puts the module in state "error" with the reason. */
  #guard(m: Module, what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      const error = describeError(e);
      this.#states.set(m.name, { state: "error", error });
      this.log(`module ${m.name}: cannot ${what}: ${error}`);
      return false;
    }
  }

  /** Inventory is best effort: a module that cannot describe itself must not cost the batch. */
  #inventory<T>(m: Module, fn: () => T[]): T[] {
    try {
      return fn();
    } catch (e) {
      this.log(`module ${m.name}: inventory failed: ${(e as Error).message}`);
      return [];
    }
  }
}

/** An error as the control plane shows it: the message, and for a rejected program the head of the verifier log. */
export function describeError(e: unknown): string {
  if (e instanceof VerifierError) {
    const head = e.log.trimEnd().split("\n").slice(0, VERIFIER_LOG_HEAD_LINES).join("\n");
    return `${e.message.split("\n")[0]}\nverifier log of program '${e.program ?? "?"}' (head):\n${head || "(empty)"}`
      .slice(0, MAX_ERROR);
  }
  const msg = e instanceof AggregateError
    ? [e.message, ...e.errors.map((x) => String(x?.message ?? x))].join("\n")
    : e instanceof Error
    ? e.message
    : String(e);
  return msg.slice(0, MAX_ERROR);
}
