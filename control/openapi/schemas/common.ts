// SPDX-License-Identifier: Apache-2.0
/** Scalars and small shapes the response schemas share. */
import { z } from "zod";
import { named } from "../components.ts";
import { FLOW_VERDICTS } from "../../queries/monitoring/flow-explorer.ts";

/** An ISO 8601 time as the API writes it (`new Date(ms).toISOString()`). */
export const IsoTime = z.iso.datetime();
/** A count: packets, bytes, connections (a whole number, never negative). */
export const Count = z.number().int().nonnegative();
/** A per-second rate; null until there is something to divide by. */
export const Rate = z.number().nonnegative().nullable();

/** The window numbers cover: control/queries/monitoring/window.ts windowJson. */
export const WindowJson = named(
  "Window",
  z.strictObject({
    since: IsoTime,
    until: IsoTime,
    level: z.enum(["raw", "1m", "1h"]),
    seconds: z.number().nonnegative(),
  }),
);

/** One end of a flow or connection: control/routes/monitoring-json.ts endpointJson. */
export const EndpointJson = named(
  "Endpoint",
  z.strictObject({
    kind: z.enum(["pod", "service", "world", "other"]),
    label: z.string(),
    uid: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    node: z.string().optional(),
    ip: z.string().optional(),
  }),
);

export const Verdict = z.enum(FLOW_VERDICTS);

/** Cumulative traffic counters, as a pod and an interface carry them. */
export const TRAFFIC_TOTALS = { rxPackets: Count, rxBytes: Count, txPackets: Count, txBytes: Count, drops: Count };
/** Their rates between the last two reports of one boot (control/ingest/rates.ts), null until there are two. */
export const TRAFFIC_RATES = { rxPacketsPerSec: Rate, rxBytesPerSec: Rate, txPacketsPerSec: Rate, txBytesPerSec: Rate };
