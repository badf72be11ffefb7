// SPDX-License-Identifier: Apache-2.0
/**
 * What the overview says about ingest overload: the refusals of this
 * replica's latest run of them (control/ingest/admission.ts), while it is
 * recent. Read from the process, not the database: the load is the replica's.
 */
import { type IngestAdmission, RECENT_SHEDDING_MS, type SheddingEpisode } from "../ingest/admission.ts";

export type RecentShedding = SheddingEpisode;
export type { IngestAdmission };

/** The latest run of refusals if its last one is less than RECENT_SHEDDING_MS before `now`; else null. */
export function recentShedding(admission: IngestAdmission | undefined, now: number): RecentShedding | null {
  const episode = admission?.snapshot().episode ?? null;
  return episode !== null && now - episode.lastAt <= RECENT_SHEDDING_MS ? episode : null;
}
