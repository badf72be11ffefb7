// SPDX-License-Identifier: Apache-2.0
/**
 * Top talkers over a window: the pods (everything each sent and received)
 * or the client → server pairs with the most bytes, from the flows summed
 * over every node (control/monitoring/rollup.ts, topTalkers).
 */
import type { Db } from "../../db/client.ts";
import { type Talker, topTalkers, type Window } from "../../monitoring/rollup.ts";
import { queryFlows } from "./flows.ts";

export type TalkerMode = "pods" | "pairs";

export async function queryTopTalkers(db: Db, w: Window, by: TalkerMode, n: number): Promise<Talker[]> {
  // Every flow row of the window: a talker's bytes are spread over rows, so a row limit would undercount.
  const { flows } = await queryFlows(db, w);
  return topTalkers(flows, n, by);
}
