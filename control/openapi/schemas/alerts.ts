// SPDX-License-Identifier: Apache-2.0
/** Thresholds and alerts (control/alerts/thresholds.ts ThresholdView, alerts.ts AlertView). */
import { z } from "zod";
import { named } from "../components.ts";
import { METRIC_NAMES, METRIC_UNITS, Scope } from "../../alerts/model.ts";
import { Count, IsoTime } from "./common.ts";

const Unit = z.enum(METRIC_UNITS);

export const ThresholdView = named(
  "ThresholdView",
  z.strictObject({
    id: z.string(),
    metric: z.enum(METRIC_NAMES),
    unit: Unit,
    scope: Scope,
    upper: z.number().nullable(),
    lower: z.number().nullable(),
    holdSeconds: z.number().nonnegative(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    active: Count,
    pending: Count,
  }),
);

export const AlertView = named(
  "AlertView",
  z.strictObject({
    id: z.number().int(),
    state: z.enum(["active", "resolved"]),
    thresholdId: z.string(),
    metric: z.enum(METRIC_NAMES),
    unit: Unit,
    scope: Scope,
    targetKind: z.enum(["node", "pod"]),
    target: z.string(),
    node: z.string(),
    bound: z.enum(["upper", "lower"]),
    limit: z.number(),
    upper: z.number().nullable(),
    lower: z.number().nullable(),
    holdSeconds: z.number().nonnegative(),
    description: z.string().nullable(),
    breachedSince: IsoTime,
    firedAt: IsoTime,
    resolvedAt: IsoTime.nullable(),
    resolvedReason: z.enum(["recovered", "no-data", "threshold-changed", "threshold-disabled", "threshold-deleted"])
      .nullable(),
    value: z.number(),
    peak: z.number(),
    trough: z.number(),
    lastValue: z.number(),
  }),
);
