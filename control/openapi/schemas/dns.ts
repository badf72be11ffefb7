// SPDX-License-Identifier: Apache-2.0
/**
 * DNS answers (issue 20): GET /api/v1/dns (control/routes/dns-json.ts) and the service map's DNS edges and node
 * totals (control/monitoring/servicemap.ts). Both read control/monitoring/dns-summary.ts; the slot names and the
 * latency buckets are the wire's (control/wire/dns.ts), so a query type or rcode added there is documented here.
 */
import { z } from "zod";
import { named } from "../components.ts";
import { LATENCY_ABOVE_US } from "../../monitoring/dns-latency.ts";
import { DNS_LATENCY_BUCKETS, DNS_QTYPES, DNS_RCODES } from "../../wire/dns.ts";
import { Count, EndpointJson, WindowJson } from "./common.ts";

/** One count per slot name, every name present. */
const slots = <N extends string>(names: readonly N[]) =>
  z.strictObject(Object.fromEntries(names.map((n) => [n, Count])) as Record<N, typeof Count>);

const Responses = slots(DNS_RCODES).describe("Answers by rcode");
const ErrorRate = z.number().min(0).max(1).nullable().describe(
  "Answers other than NOERROR over all answers; null without answers",
);
/** A latency quantile: the upper bound of the histogram bucket holding it. */
const QuantileUs = z.number().int().positive().nullable().describe(
  "The upper bound (µs) of the latency bucket holding the quantile: at most one bucket above the truth; null in " +
    `the last bucket (slower than ${LATENCY_ABOVE_US} µs) or without answers`,
);
/** The asking pod of a row; null for a node's "other" record (what the caps summed). */
const AskingPod = EndpointJson.nullable().describe("The asking pod; null: a node's other record");

export const DnsLatency = named(
  "DnsLatency",
  z.strictObject({
    answered: Count.describe("Answers matched to their query: the histogram's total"),
    sumUs: Count,
    meanUs: Count.nullable().describe("sumUs / answered, rounded; null without answers"),
    p50Us: QuantileUs,
    p95Us: QuantileUs,
    p99Us: QuantileUs,
    aboveUs: Count.describe("The last bound: the last bucket counts the answers slower than it"),
    buckets: z.array(z.strictObject({ leUs: Count.nullable(), count: Count })).length(DNS_LATENCY_BUCKETS)
      .describe("Answers per bucket, within leUs (and above the bound before); the last (leUs null): slower"),
  }),
);

export const DnsServer = named(
  "DnsServer",
  z.strictObject({
    pod: AskingPod,
    server: z.string().describe("The server's address; 0.0.0.0 with port 0 sums the servers over a cap"),
    port: z.number().int().min(0).max(65535),
    queries: slots(DNS_QTYPES).describe("Queries by type"),
    responses: Responses,
    truncated: Count,
    timeouts: Count.describe("Queries never answered"),
    tcp: Count.describe("Queries over TCP (in queries too)"),
    latency: DnsLatency,
  }),
);

export const DnsName = named("DnsName", z.strictObject({ name: z.string(), queries: Count, nxdomain: Count }));

export const DnsAnswer = named(
  "DnsAnswer",
  z.strictObject({
    window: WindowJson,
    servers: z.array(DnsServer),
    names: z.array(
      z.strictObject({
        pod: AskingPod,
        byQueries: z.array(DnsName).describe("Up to `limit` names, most queries first"),
        byNxdomain: z.array(DnsName).describe("Up to `limit` names with NXDOMAIN answers, most first"),
      }),
    ),
  }),
);

/** A DNS edge's or a service map node's numbers (control/monitoring/servicemap.ts DnsTotals). */
export const DnsTotals = {
  queries: Count,
  responses: Responses,
  errors: Count.describe("Answers other than NOERROR"),
  errorRate: ErrorRate,
  timeouts: Count.describe("Queries never answered (in neither errors nor the rate)"),
  answered: Count.describe("Answers timed; with p95Us null, 0 says none, more says slower than the last bound"),
  p95Us: QuantileUs,
};

export const DnsNodeTotals = named("DnsTotals", z.strictObject(DnsTotals));

export const DnsEdge = named("DnsEdge", z.strictObject({ source: z.string(), target: z.string(), ...DnsTotals }));
