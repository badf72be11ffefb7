// SPDX-License-Identifier: Apache-2.0
/**
 * The filters of GET /api/v1/flows/stream, those of the flow explorer, applied
 * to each streamed row in memory: node (the reporting node), namespace (a pod
 * or service on either side, or the row's service, in it), pod ("ns/name" on
 * either side), service ("ns/name": the row's service), port, protocol
 * ("tcp", "udp", "icmp" or a number) and failures ("true": only rows that
 * show one). Values as control/routes/flow-params.ts parses them.
 */
import { z } from "zod";
import type { StoredEndpoint } from "../monitoring/attribution.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { IPPROTO, tcpFlagBit } from "../monitoring/names.ts";
import { FLOW_QUERY_FIELDS } from "../routes/flow-params.ts";

const { node, namespace, pod, service, port, protocol, failures } = FLOW_QUERY_FIELDS;
/** The explorer's filters, parsed as GET /api/v1/flows parses them; unknown parameters (sort, limit…) are refused. */
export const FlowStreamQuery = z.strictObject({ node, namespace, pod, service, port, protocol, failures });
export type FlowStreamFilter = z.output<typeof FlowStreamQuery>;

const RST = tcpFlagBit("RST");
const SYN = tcpFlagBit("SYN");

/**
 * What one row of one batch shows of a failure, as the explorer's verdicts
 * name it (flow-explorer.ts; a row alone has no TCP rows): a reset, or a TCP connection
 * attempt (SYN) that got no packet back. "No packet back" is only judged where
 * the reply would be in the same batch: not when the server is a pod of
 * another node, whose node reports the reply (flows.ts keeps the sender's
 * observation). A row is one interval: a reply that comes in the next one
 * makes this one look unanswered.
 */
export function rowVerdict(row: FlowRow): "reset" | "no_reply" | "ok" {
  if ((row.tcpFlags & RST) !== 0) return "reset";
  const replyElsewhere = row.server.kind === "pod" && row.server.node !== row.node;
  const unanswered = row.proto === IPPROTO.TCP && (row.tcpFlags & SYN) !== 0 && row.revPackets === 0;
  return unanswered && !replyElsewhere ? "no_reply" : "ok";
}

export const showsFailure = (row: FlowRow): boolean => rowVerdict(row) !== "ok";

const inNamespace = (e: StoredEndpoint, namespace: string) =>
  (e.kind === "pod" || e.kind === "service") && e.namespace === namespace;
const isPod = (e: StoredEndpoint, p: { namespace: string; name: string }) =>
  e.kind === "pod" && e.namespace === p.namespace && e.name === p.name;

/** The filter as the batches to look at (by their node) and a test of each of their rows; every filter given must hold. */
export function flowMatcher(f: FlowStreamFilter): { node?: string; row: (r: { row: FlowRow }) => boolean } {
  return {
    node: f.node,
    row: ({ row }) =>
      (f.namespace === undefined || inNamespace(row.client, f.namespace) || inNamespace(row.server, f.namespace) ||
        row.service?.namespace === f.namespace) &&
      (f.pod === undefined || isPod(row.client, f.pod) || isPod(row.server, f.pod)) &&
      (f.service === undefined ||
        (row.service?.namespace === f.service.namespace && row.service.name === f.service.name)) &&
      (f.port === undefined || row.port === f.port) &&
      (f.protocol === undefined || row.proto === f.protocol) &&
      (f.failures !== "true" || showsFailure(row)),
  };
}
