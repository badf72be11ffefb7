// SPDX-License-Identifier: Apache-2.0
/**
 * Desired state: which modules each node should run, versioned per node.
 *
 * A module's value for a node is the node's override when an admin set one
 * (desired_states), else the cluster-wide default (module_defaults), else
 * DEFAULT_MODULES. Setting an override records it even when the value equals
 * the default (so a later change of the default leaves the node alone);
 * resetting it lets the node follow the default again.
 *
 * Versions: the agent applies a desired state whose version differs from
 * the one it runs (agent/modules/manager.ts), so a change must give every
 * node it touches a version that node has not had. A node's version is the
 * larger of its own row's and the defaults' (a node without a row: the
 * defaults'). A node change sets its row to one above its current version; a
 * change of the defaults sets theirs to one above every node's, so every
 * node moves (those whose modules are all overridden re-apply the same
 * state, which changes nothing). Nothing that changes no value changes a version.
 * A node nobody switched in a cluster whose defaults nobody set runs
 * DEFAULT_MODULES at version 0. Switching a node that has never joined is
 * allowed (pre-provisioning): the row waits, and the node's JoinResponse and
 * first BatchAck already carry it.
 */
import { eq, max } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { desiredStates, moduleDefaults } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { DEFAULT_MODULES, type DesiredState, type ModuleName, MODULES } from "../wire/batch.ts";

export type ModuleValues = Partial<Record<ModuleName, boolean>>;

/** A stored layer of module values: a node's overrides or the cluster's defaults. */
export interface ModuleLayer {
  version: number;
  modules: ModuleValues;
}

const NO_LAYER: ModuleLayer = { version: 0, modules: {} };
/** module_defaults holds one row. */
const DEFAULTS_ROW = 1;

/** The cluster defaults as an admin sees them: every module, and which ones were set (the rest are built in). */
export interface ModuleDefaultsView {
  version: number;
  modules: Record<ModuleName, boolean>;
  set: ModuleName[];
}

export async function moduleDefaultsLayer(db: Queryable): Promise<ModuleLayer> {
  const row = await db.select().from(moduleDefaults).where(eq(moduleDefaults.id, DEFAULTS_ROW)).get();
  return row ?? NO_LAYER;
}

async function nodeLayer(db: Queryable, node: string): Promise<ModuleLayer | undefined> {
  return await db.select().from(desiredStates).where(eq(desiredStates.node, node)).get();
}

export async function moduleDefaultsOf(db: Queryable): Promise<ModuleDefaultsView> {
  const defaults = await moduleDefaultsLayer(db);
  return {
    version: defaults.version,
    modules: toDesiredState(defaults, NO_LAYER).modules,
    set: MODULES.filter((m) => typeof defaults.modules[m] === "boolean"),
  };
}

export async function desiredStateOf(db: Queryable, node: string): Promise<DesiredState> {
  const [defaults, own] = await Promise.all([moduleDefaultsLayer(db), nodeLayer(db, node)]);
  return toDesiredState(defaults, own ?? NO_LAYER);
}

/** A node's overrides (the modules it does not inherit from the defaults). */
export async function overridesOf(db: Queryable, node: string): Promise<ModuleValues> {
  return (await nodeLayer(db, node))?.modules ?? {};
}

/** Sets (enabled: a boolean) or resets (undefined: follow the default again) one module's override of a node. */
export function switchModule(
  db: Db,
  node: string,
  module: ModuleName,
  enabled: boolean | undefined,
  now: number,
): Promise<DesiredState> {
  return writeTransaction(db, async (tx) => {
    const [defaults, own = NO_LAYER] = await Promise.all([moduleDefaultsLayer(tx), nodeLayer(tx, node)]);
    const current = toDesiredState(defaults, own);
    if (own.modules[module] === enabled) return current;

    const modules: ModuleValues = { ...own.modules };
    if (enabled === undefined) delete modules[module];
    else modules[module] = enabled;
    const next = toDesiredState(defaults, { version: own.version, modules });
    // a new override of the value already inherited is kept, but moves no version
    const version = sameModules(next, current) ? own.version : current.version + 1;
    await tx
      .insert(desiredStates)
      .values({ node, version, modules, updatedAt: now })
      .onConflictDoUpdate({ target: desiredStates.node, set: { version, modules, updatedAt: now } });
    return toDesiredState(defaults, { version, modules });
  });
}

/** Sets the cluster defaults of the modules named (the others keep theirs); answers the new defaults. */
export function setModuleDefaults(db: Db, changes: ModuleValues, now: number): Promise<ModuleDefaultsView> {
  return writeTransaction(db, async (tx) => {
    const defaults = await moduleDefaultsLayer(tx);
    const modules: ModuleValues = { ...defaults.modules, ...changes };
    if (MODULES.every((m) => modules[m] === defaults.modules[m])) return moduleDefaultsOf(tx);
    // A module set to the value it has built in is recorded (it stays if DEFAULT_MODULES changes) but moves no version.
    const changed = !sameModules(toDesiredState({ version: 0, modules }, NO_LAYER), toDesiredState(defaults, NO_LAYER));
    const version = changed ? await aboveEveryNode(tx, defaults) : defaults.version;
    await tx
      .insert(moduleDefaults)
      .values({ id: DEFAULTS_ROW, version, modules, updatedAt: now })
      .onConflictDoUpdate({ target: moduleDefaults.id, set: { version, modules, updatedAt: now } });
    return moduleDefaultsOf(tx);
  });
}

/**
 * Removes a node's desired state (the node is deleted; call inside that transaction); false when it had none.
 * When the node had overrides at a version no higher than the defaults', the same version would now stand for
 * the defaults alone, and an agent of the deleted node that joins again would take it for the state it runs:
 * the defaults' version moves above every node's, so every node sees a new one (the others' state is unchanged).
 */
export async function forgetDesiredState(tx: Queryable, node: string, now: number): Promise<boolean> {
  const [defaults, own] = await Promise.all([moduleDefaultsLayer(tx), nodeLayer(tx, node)]);
  if (own === undefined) return false;
  await tx.delete(desiredStates).where(eq(desiredStates.node, node));
  if (Object.keys(own.modules).length === 0 || own.version > defaults.version) return true;
  const version = await aboveEveryNode(tx, { ...defaults, version: Math.max(defaults.version, own.version) });
  await tx
    .insert(moduleDefaults)
    .values({ id: DEFAULTS_ROW, version, modules: defaults.modules, updatedAt: now })
    .onConflictDoUpdate({ target: moduleDefaults.id, set: { version, updatedAt: now } });
  return true;
}

/** A defaults version above every node's: each node inheriting it sees a version it has not had. */
async function aboveEveryNode(tx: Queryable, defaults: ModuleLayer): Promise<number> {
  const highest = await tx.select({ v: max(desiredStates.version) }).from(desiredStates).get();
  return Math.max(defaults.version, highest?.v ?? 0) + 1;
}

/**
 * The node's desired state: its overrides over the defaults over DEFAULT_MODULES (a module added to MODULES
 * later starts at its built-in default), at the larger of the two versions.
 */
export function toDesiredState(defaults: ModuleLayer, own: ModuleLayer): DesiredState {
  const modules = { ...DEFAULT_MODULES };
  for (const name of MODULES) {
    const value = own.modules[name] ?? defaults.modules[name];
    if (typeof value === "boolean") modules[name] = value;
  }
  return { version: Math.max(own.version, defaults.version), modules };
}

function sameModules(a: DesiredState, b: DesiredState): boolean {
  return MODULES.every((m) => a.modules[m] === b.modules[m]);
}
