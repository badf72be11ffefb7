// SPDX-License-Identifier: Apache-2.0
/**
 * The flow explorer's query parameters, shared by GET /api/v1/flows and the
 * /flows page (web/) so both take exactly the same values:
 *   node, pod ("namespace/name", either side), namespace, service
 *   ("namespace/name": the service the client addressed), port, protocol
 *   ("tcp", "udp", "icmp" or a number), failures ("true": verdict not ok),
 *   sort (bytes | packets | first_seen | last_seen), order (asc | desc,
 *   default desc), limit (1–5000, default 500), offset (default 0).
 * An empty value (as a form sends it) counts as absent.
 */
import { z } from "zod";
import { protocolOfKeyword } from "../monitoring/names.ts";
import {
  FLOW_SORTS,
  type FlowExplorerFilter,
  type FlowPage,
  type FlowSort,
  type SortOrder,
} from "../queries/monitoring/flow-explorer.ts";
import { DEFAULT_FLOW_LIMIT, MAX_FLOW_LIMIT } from "../queries/monitoring/flows.ts";
import { optionalParam } from "../queries/monitoring/window.ts";
import { NodeName } from "../wire/batch.ts";
import { Rfc1123Name } from "../wire/scalars.ts";

/** A whole number in [min, max], as a query string carries it. */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`))
    .describe(`A whole number from ${min} to ${max}`);

export const Limit = wholeNumber(1, MAX_FLOW_LIMIT);
/** Past any real number of rows, small enough for SQLite. */
export const MAX_OFFSET = 1_000_000_000;

/** "namespace/name" of a pod or a service. */
export const NamespacedName = z.string().transform((v, ctx) => {
  const parts = v.split("/");
  const [namespace, name] = parts;
  if (parts.length === 2 && Rfc1123Name.safeParse(namespace).success && Rfc1123Name.safeParse(name).success) {
    return { namespace: namespace!, name: name! };
  }
  ctx.addIssue({ code: "custom", message: 'must be "namespace/name" (two lowercase RFC 1123 names)' });
  return z.NEVER;
}).describe('"namespace/name"');

const Protocol = z.string().transform((v, ctx) => {
  const proto = protocolOfKeyword(v);
  if (proto !== undefined) return proto;
  ctx.addIssue({ code: "custom", message: 'must be "tcp", "udp", "icmp" or an IP protocol number from 0 to 255' });
  return z.NEVER;
}).describe('"tcp", "udp", "icmp" or an IP protocol number from 0 to 255');

export const FLOW_QUERY_FIELDS = {
  node: optionalParam(NodeName),
  pod: optionalParam(NamespacedName),
  namespace: optionalParam(Rfc1123Name),
  service: optionalParam(NamespacedName),
  port: optionalParam(wholeNumber(0, 65_535)),
  protocol: optionalParam(Protocol),
  failures: optionalParam(z.enum(["true", "false"], { error: 'must be "true" or "false"' })),
  sort: optionalParam(z.enum(FLOW_SORTS, { error: `must be one of ${FLOW_SORTS.join(", ")}` })),
  order: optionalParam(z.enum(["asc", "desc"], { error: 'must be "asc" or "desc"' })),
  limit: optionalParam(Limit),
  offset: optionalParam(wholeNumber(0, MAX_OFFSET)),
};

export type FlowQuery = z.output<z.ZodObject<typeof FLOW_QUERY_FIELDS>>;

/** The filters of a parsed query but the pod (its endpoint keys are looked up: podKeysNamed). */
export function explorerFilter(q: FlowQuery): Omit<FlowExplorerFilter, "pod"> {
  return {
    node: q.node,
    namespace: q.namespace,
    service: q.service,
    port: q.port,
    proto: q.protocol,
    failures: q.failures === "true",
  };
}

export const DEFAULT_FLOW_SORT: FlowSort = "bytes";
export const DEFAULT_FLOW_ORDER: SortOrder = "desc";

export function explorerPage(q: FlowQuery): FlowPage {
  return {
    sort: q.sort ?? DEFAULT_FLOW_SORT,
    order: q.order ?? DEFAULT_FLOW_ORDER,
    limit: q.limit ?? DEFAULT_FLOW_LIMIT,
    offset: q.offset ?? 0,
  };
}
