// SPDX-License-Identifier: Apache-2.0
/**
 * The /services list: the services' views (control/services/views.ts), one
 * row per port, filtered by namespace (in the database), by a substring of
 * namespace/name and by state, and cut into pages in name order.
 */
import type { Queryable } from "../db/client.ts";
import { type ServicesView, type ServiceView, serviceViews, type ViewOptions } from "../services/views.ts";
import { type ListPage, pageOf } from "./list-page.ts";

/** serving: every backend active; degraded: some not (terminating, unhealthy); down: none active, connections refused. */
export const SERVICE_STATES = ["serving", "degraded", "down"] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export interface ServiceListQuery {
  namespace?: string;
  /** Substring of namespace/name (any case). */
  q?: string;
  state?: ServiceState;
  /** First row of the page (0-based). */
  offset: number;
}

export function serviceState(s: Pick<ServiceView, "health" | "backends">): ServiceState {
  if (s.health.active === 0) return "down";
  return s.health.active < s.backends.length ? "degraded" : "serving";
}

/** The services matching `q` (its namespace too, for lists not already narrowed by the database), in their order. */
export function selectServices<S extends Pick<ServiceView, "namespace" | "name" | "health" | "backends">>(
  services: readonly S[],
  q: Omit<ServiceListQuery, "offset">,
): S[] {
  const needle = q.q?.toLowerCase();
  return services.filter((s) =>
    (!q.namespace || s.namespace === q.namespace) &&
    (!needle || `${s.namespace}/${s.name}`.toLowerCase().includes(needle)) &&
    (!q.state || serviceState(s) === q.state)
  );
}

export interface ServiceList {
  /** The lb version, the window and the nodes, as serviceViews gives them; `services` is the page's. */
  view: ServicesView;
  page: Omit<ListPage<ServiceView>, "rows">;
}

/** The page of services `query` asks for. */
export async function queryServiceList(
  db: Queryable,
  opts: Omit<ViewOptions, "where">,
  query: ServiceListQuery,
): Promise<ServiceList> {
  const view = await serviceViews(db, { ...opts, where: query.namespace ? { namespace: query.namespace } : undefined });
  const { rows, ...page } = pageOf(selectServices(view.services, query), query.offset);
  return { view: { ...view, services: rows }, page };
}
