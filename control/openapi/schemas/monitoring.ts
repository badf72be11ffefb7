// SPDX-License-Identifier: Apache-2.0
/** The monitoring read API's answers (control/routes/monitoring.ts and monitoring-json.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { DnsEdge, DnsNodeTotals } from "./dns.ts";
import { Count, EndpointJson, IsoTime, Rate, TRAFFIC_RATES, TRAFFIC_TOTALS, Verdict, WindowJson } from "./common.ts";

const Traffic = z.strictObject({ packets: Count, bytes: Count });

export const PodJson = named(
  "Pod",
  z.strictObject({
    uid: z.string(),
    namespace: z.string(),
    name: z.string(),
    node: z.string(),
    ips: z.array(z.string()),
    labels: z.record(z.string(), z.string()),
    owner: z.strictObject({ kind: z.string(), name: z.string() }).nullable(),
    hostNetwork: z.boolean(),
    hostVeth: z.string().nullable(),
    state: z.enum(["current", "vanished"]),
    firstSeen: IsoTime,
    lastSeen: IsoTime,
    vanishedAt: IsoTime.nullable(),
    ...TRAFFIC_TOTALS,
    ...TRAFFIC_RATES,
  }),
);

export const PodList = named("PodList", z.strictObject({ pods: z.array(PodJson) }));

/** A flow as flowJson writes it: both ends, the service addressed, the traffic each way. */
const FlowBase = z.strictObject({
  source: EndpointJson,
  destination: EndpointJson,
  service: EndpointJson.nullable(),
  port: z.number().int().min(0).max(65535),
  proto: z.number().int().min(0).max(255),
  protocol: z.string(),
  forward: Traffic,
  reverse: Traffic,
  tcpFlags: z.array(z.string()),
  bytesPerSec: Rate,
});

/** A flow of the explorer (GET /api/v1/flows): with when it was seen, its verdict and its connections. */
export const FlowJson = named(
  "Flow",
  FlowBase.extend({
    firstSeen: IsoTime,
    lastSeen: IsoTime,
    verdict: Verdict,
    connections: z.strictObject({ opened: Count, refused: Count, timedOut: Count, failed: Count, resets: Count }),
    avgSrttUs: z.number().nonnegative().nullable(),
  }),
);

export const FlowsAnswer = named(
  "FlowsAnswer",
  z.strictObject({
    window: WindowJson,
    flows: z.array(FlowJson),
    total: Count,
    totals: Traffic,
  }),
);

export const ConnectionJson = named(
  "Connection",
  z.strictObject({
    local: EndpointJson,
    remote: EndpointJson,
    service: EndpointJson.nullable(),
    port: z.number().int().min(0).max(65535),
    role: z.enum(["client", "server", "unknown"]),
    opened: Count,
    failed: z.strictObject({ refused: Count, timeout: Count, other: Count }),
    closed: Count,
    avgDurationMs: z.number().nonnegative().nullable(),
    retransmits: Count,
    resets: z.strictObject({ received: Count, sent: Count }),
    avgSrttUs: z.number().nonnegative().nullable(),
  }),
);

export const TcpAnswer = named(
  "TcpAnswer",
  z.strictObject({
    window: WindowJson,
    connections: z.array(ConnectionJson),
    totals: z.strictObject({ opened: Count, failed: Count, closed: Count, retransmits: Count, resets: Count }),
  }),
);

export const DropJson = named(
  "Drop",
  z.strictObject({
    node: z.string(),
    pod: EndpointJson.nullable(),
    ifname: z.string().nullable(),
    reason: z.string(),
    service: EndpointJson.nullable(),
    packets: Count,
    bytes: Count,
  }),
);

export const DropsAnswer = named(
  "DropsAnswer",
  z.strictObject({
    window: WindowJson,
    drops: z.array(DropJson),
    byReason: z.array(z.strictObject({ reason: z.string(), packets: Count, bytes: Count })),
  }),
);

export const ServiceMapAnswer = named(
  "ServiceMapAnswer",
  z.strictObject({
    window: WindowJson,
    nodes: z.array(
      z.strictObject({
        id: z.string(),
        label: z.string(),
        kind: EndpointJson.shape.kind,
        namespace: z.string().optional(),
        dns: DnsNodeTotals.optional().describe("A node DNS edges lead to: the totals of what reached it"),
      }),
    ),
    edges: z.array(
      z.strictObject({
        source: z.string(),
        target: z.string(),
        bytes: Count,
        connections: Count,
        failures: Count,
        avgSrttUs: z.number().nonnegative().nullable(),
      }),
    ),
    dns: z.array(DnsEdge).describe("Pod → DNS server, through the server's service when it is a backend of one"),
  }),
);

export const SeriesPointJson = named(
  "SeriesPoint",
  z.strictObject({
    t: IsoTime,
    seconds: z.number().nonnegative(),
    ...TRAFFIC_TOTALS,
    ...TRAFFIC_RATES,
    dropsPerSec: Rate,
  }),
);

export const SeriesAnswer = named(
  "SeriesAnswer",
  z.strictObject({
    window: WindowJson,
    node: z.string(),
    ifname: z.string().nullable(),
    points: z.array(SeriesPointJson),
  }),
);

const TalkerNumbers = { bytes: Count, packets: Count, bytesPerSec: Rate };

export const TopTalkersAnswer = named(
  "TopTalkersAnswer",
  z.strictObject({
    window: WindowJson,
    by: z.enum(["pods", "pairs"]),
    talkers: z.array(
      z.union([
        z.strictObject({ pod: EndpointJson, ...TalkerNumbers }),
        z.strictObject({ source: EndpointJson, destination: EndpointJson, ...TalkerNumbers }),
      ]),
    ),
  }),
);

/** One line of GET /api/v1/flows/stream (control/flows-stream/record.ts): a flow, a keep-alive, or the last line. */
export const FlowStreamLine = named(
  "FlowStreamLine",
  z.discriminatedUnion("type", [
    FlowBase.omit({ bytesPerSec: true }).extend({
      type: z.literal("flow"),
      seq: Count,
      node: z.string(),
      ts: IsoTime,
      storedAt: IsoTime,
    }),
    z.strictObject({ type: z.literal("keepalive"), seq: Count }),
    z.strictObject({ type: z.literal("dropped"), reason: z.string(), seq: Count, message: z.string() }),
  ]),
);
