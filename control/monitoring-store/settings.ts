// SPDX-License-Identifier: Apache-2.0
/**
 * Settings of the monitoring store, in the units it works in (ms, counts).
 * The environment variables that set them are in control/config.ts.
 */
import { type CardinalityCaps, DEFAULT_CAPS } from "../monitoring/cardinality.ts";
import { DEFAULT_POD_GRACE_MS } from "../monitoring/pod-series.ts";
import { DEFAULT_RETENTION, type RetentionSettings } from "../monitoring/rollup.ts";

export interface MonitoringSettings {
  /** How long each level is kept. */
  retention: RetentionSettings;
  /** How long a vanished pod stays listed before it (and its row) is dropped. */
  podGraceMs: number;
  /** Distinct keys per node per bucket; the rest is summed into the node's "other" row. */
  caps: CardinalityCaps;
  /** How often raw rows are rolled up into 1 min and 1 h buckets and retention applied. */
  maintenanceIntervalMs: number;
}

export const DEFAULT_MONITORING_SETTINGS: MonitoringSettings = {
  retention: DEFAULT_RETENTION,
  podGraceMs: DEFAULT_POD_GRACE_MS,
  caps: DEFAULT_CAPS,
  maintenanceIntervalMs: 60_000,
};
