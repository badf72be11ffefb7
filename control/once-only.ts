// SPDX-License-Identifier: Apache-2.0
/**
 * The work that runs once among replicas, on the replica holding the lease (control/lease/): rollups and
 * retention of the monitoring store, lb and accel retention, alert evaluation, the delivery of alert notifications.
 * control/main.ts runs it (with the Kubernetes sync when it has one), and so does the ingest bench
 * (control/bench/ingest-server.ts), so that the bench measures ingest beside what a real control plane does meanwhile.
 */
import { pruneAccel } from "./accel/rules.ts";
import { startAlerting } from "./alerts/evaluate.ts";
import { startDelivering } from "./notify/deliver.ts";
import type { AppSettings, Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import { LeaseKeeper, type OnceOnlyJob } from "./lease/keeper.ts";
import { ONCE_ONLY_LEASE, replicaId } from "./lease/lease.ts";
import { startMaintenance } from "./monitoring-store/maintenance.ts";
import { repeatEvery } from "./periodic.ts";
import { pruneLb } from "./services/counters.ts";
import { startLostNodeRemoval } from "./registry/node-removal.ts";

/** `now` is the maintenance's clock (the bench watches it to see when each run starts). */
export function onceOnlyJobs(db: Db, settings: AppSettings, opts: { now?: () => number } = {}): OnceOnlyJob[] {
  return [
    { name: "rollups and retention", start: () => startMaintenance(db, settings.monitoring, { now: opts.now }) },
    {
      name: "lb retention",
      // lb counters follow the 1-minute retention, pruned as often as the monitoring store.
      start: () =>
        repeatEvery(
          settings.monitoring.maintenanceIntervalMs,
          () =>
            Promise.all([
              pruneLb(db, Date.now(), settings.monitoring.retention),
              pruneAccel(db, Date.now(), settings.monitoring.retention),
            ]),
          (err) => console.error("lb retention failed:", err),
        ),
    },
    {
      name: "alert evaluation",
      start: ({ fence }) =>
        startAlerting(db, {
          intervalMs: settings.alertIntervalMs,
          staleAfterMs: settings.staleAfterMs,
          retention: settings.monitoring.retention,
        }, { fence }),
    },
    { name: "alert notifications", start: ({ fence }) => startDelivering(db, settings.notify, { fence }) },
    ...lostNodeRemoval(db, settings),
  ];
}

/** Deleting nodes Lost for EBPF_K8S_REMOVE_LOST_NODES_AFTER, when set. */
function lostNodeRemoval(db: Db, settings: AppSettings): OnceOnlyJob[] {
  const removeAfterMs = settings.removeLostNodesAfterMs;
  if (removeAfterMs === null) return [];
  const intervalMs = settings.monitoring.maintenanceIntervalMs;
  return [{
    name: "lost node removal",
    start: () => startLostNodeRemoval(db, { intervalMs, lostAfterMs: settings.lostAfterMs, removeAfterMs }),
  }];
}

/** The lease keeper that runs `jobs` while this replica holds the lease (start() it). */
export function onceOnlyKeeper(db: Db, config: Config, jobs: OnceOnlyJob[]): LeaseKeeper {
  return new LeaseKeeper({
    db,
    replica: replicaId(),
    name: ONCE_ONLY_LEASE,
    leaseMs: config.EBPF_K8S_LEASE * 1000,
    renewMs: config.EBPF_K8S_LEASE_RENEW * 1000,
  }, jobs);
}
