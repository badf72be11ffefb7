// SPDX-License-Identifier: Apache-2.0
/** Nodes, their modules and the probes' answers (control/queries/nodes.ts, queries/modules.ts, lease/status.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { DesiredState, Inventory, ModuleName, ModuleStatus } from "../../wire/batch.ts";
import { MonitoringStats } from "../../wire/monitoring.ts";
import { Count, IsoTime, TRAFFIC_RATES, TRAFFIC_TOTALS } from "./common.ts";

export const NodeSummary = named(
  "NodeSummary",
  z.strictObject({
    name: z.string(),
    status: z.enum(["Ready", "Stale", "Lost"]),
    lastSeen: IsoTime,
    lastSeenAgoSeconds: z.number().nonnegative(),
    bootId: z.string(),
    interfaces: Count,
    agentVersion: z.string().nullable(),
    kernel: z.string().nullable(),
  }),
);

export const InterfaceState = named(
  "InterfaceState",
  z.strictObject({
    ifname: z.string(),
    ifindex: z.number().int(),
    ...TRAFFIC_TOTALS,
    ...TRAFFIC_RATES,
    updatedAt: IsoTime,
  }),
);

export const ModuleView = named(
  "ModuleView",
  z.strictObject({
    name: ModuleName,
    desired: z.boolean(),
    inherited: z.boolean().describe("The cluster default (GET /api/v1/module-defaults); false: the node overrides it"),
    state: ModuleStatus.shape.state.nullable(),
    error: z.string().nullable(),
    pending: z.boolean(),
  }),
);

export const NodeDetail = named(
  "NodeDetail",
  NodeSummary.extend({
    interfaceStates: z.array(InterfaceState),
    inventory: Inventory.nullable(),
    inventoryReceivedAt: IsoTime.nullable(),
    desired: DesiredState,
    modules: z.array(ModuleView),
    monitoring: z.strictObject({
      agent: MonitoringStats.nullable(),
      flowKeysCut: Count,
      tcpKeysCut: Count,
      dropKeysCut: Count,
      dnsNameKeysCut: Count,
      dnsServerKeysCut: Count,
      flowDuplicates: Count,
    }),
  }),
);

const LeaseStatus = z.strictObject({
  replica: z.string(),
  held: z.boolean(),
  holder: z.string().nullable(),
  expiresAt: z.number().nullable(),
  acquisitions: Count,
  failures: Count,
});

export const Healthz = named("Healthz", z.strictObject({ ok: z.literal(true) }));

export const Ready = named(
  "Ready",
  z.strictObject({
    ok: z.literal(true),
    lease: z.strictObject({
      holder: z.string().nullable(),
      expiresAt: z.number().nullable(),
      self: LeaseStatus.optional(),
    }),
  }),
);

export const NotReady = named("NotReady", z.strictObject({ ok: z.literal(false), error: z.string() }));
