// SPDX-License-Identifier: Apache-2.0
/**
 * Each module as an admin needs to see it: what the node should run (desired
 * state) next to what its agent last reported running (inventory).
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { nodeInventories } from "../db/schema.ts";
import { desiredStateOf, type ModuleValues, overridesOf } from "../registry/desired-state.ts";
import { type DesiredState, type Inventory, type ModuleName, MODULES, type ModuleStatus } from "../wire/batch.ts";

export interface ModuleView {
  name: ModuleName;
  /** What the node should run now. */
  desired: boolean;
  /** True when that is the cluster default (GET /api/v1/module-defaults); false when the node overrides it. */
  inherited: boolean;
  /** What the agent last reported; null before its first inventory, or when it did not mention the module. */
  state: ModuleStatus["state"] | null;
  error: string | null;
  /** The agent's last report predates the current desired value: the switch has not been applied yet. */
  pending: boolean;
}

export function moduleViews(
  desired: DesiredState,
  overrides: ModuleValues,
  inventory: Inventory | null,
): ModuleView[] {
  const reported = new Map(inventory?.modules.map((m) => [m.name, m]));
  return MODULES.map((name) => {
    const status = reported.get(name);
    return {
      name,
      desired: desired.modules[name],
      inherited: typeof overrides[name] !== "boolean",
      state: status?.state ?? null,
      error: status?.error ?? null,
      pending: status !== undefined && status.desired !== desired.modules[name],
    };
  });
}

/** For any node name, reported or not: a pre-provisioned node shows its desired state with no states yet. */
export async function listModules(db: Db, node: string): Promise<ModuleView[]> {
  const [desired, overrides, row] = await Promise.all([
    desiredStateOf(db, node),
    overridesOf(db, node),
    db.select({ inventory: nodeInventories.inventory }).from(nodeInventories).where(eq(nodeInventories.node, node))
      .get(),
  ]);
  return moduleViews(desired, overrides, row?.inventory ?? null);
}
