// SPDX-License-Identifier: Apache-2.0
/** Load-balanced services and acceleration rules (control/services/views.ts, accel/rules.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { AccelRule } from "../../wire/accel.ts";
import { GATEWAY_FRONTEND_COUNTERS, LbBackend, LbService } from "../../wire/services.ts";
import { Count, IsoTime, WindowJson } from "./common.ts";

const Share = z.number().min(0).max(1).nullable();

const GatewayEvents = z.strictObject(
  Object.fromEntries(GATEWAY_FRONTEND_COUNTERS.map((c) => [c, Count])) as Record<
    (typeof GATEWAY_FRONTEND_COUNTERS)[number],
    typeof Count
  >,
);

export const ServiceView = named(
  "ServiceView",
  LbService.omit({ backends: true }).extend({
    source: z.enum(["api", "kubernetes"]),
    version: Count,
    createdAt: IsoTime,
    updatedAt: IsoTime,
    connections: Count,
    refused: Count,
    backends: z.array(LbBackend.extend({ connections: Count, share: Share, expectedShare: Share })),
    gateway: z.strictObject({
      packetsIn: Count,
      bytesIn: Count,
      packetsOut: Count,
      bytesOut: Count,
      events: GatewayEvents,
      frontends: z.array(
        GatewayEvents.extend({ frontend: z.string(), address: z.string().nullable(), port: z.number().int() }),
      ),
    }),
    accel: z.strictObject({ connections: Count, bytes: Count, rules: z.array(z.number().int()) }),
    health: z.strictObject({
      active: Count,
      terminating: Count,
      unhealthy: Count,
      nodes: z.strictObject({ inSync: Count, total: Count }),
    }),
  }),
);

export const ServicesView = named(
  "ServicesView",
  z.strictObject({
    version: Count,
    window: WindowJson,
    nodes: z.array(
      z.strictObject({
        node: z.string(),
        appliedVersion: Count.nullable(),
        polledAt: IsoTime,
        inSync: z.boolean(),
      }),
    ),
    services: z.array(ServiceView),
  }),
);

/** The 409 of a service write: what it conflicts with (control/services/errors.ts). */
export const ServiceConflictBody = named(
  "ServiceConflict",
  z.looseObject({
    error: z.string(),
    conflict: z.enum(["name", "frontend", "managed", "full"]),
  }),
);

export const RuleView = named("RuleView", z.strictObject({ rule: AccelRule, connections: Count, bytes: Count }));
export const RuleViews = named(
  "RuleViews",
  z.strictObject({ rules: z.array(RuleView), window: z.strictObject({ since: IsoTime }) }),
);
