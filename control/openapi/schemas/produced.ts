// SPDX-License-Identifier: Apache-2.0
/**
 * Compile-time half of "one source of truth": what the routes build (their
 * read models' TypeScript types, and the JSON helpers' return types) must be
 * exactly what the documented schemas say, each assignable to the other, or
 * `tsc` fails here. The runtime half is responses.test.ts, which validates
 * real answers against the published document.
 */
import type { z } from "zod";
import type { AlertView as AlertViewType } from "../../alerts/alerts.ts";
import type { ThresholdView as ThresholdViewType } from "../../alerts/thresholds.ts";
import type { RuleView as RuleViewType } from "../../accel/rules.ts";
import type { ModuleView as ModuleViewType } from "../../queries/modules.ts";
import type {
  InterfaceState as InterfaceStateType,
  NodeDetail as NodeDetailType,
  NodeSummary as NodeSummaryType,
} from "../../queries/nodes.ts";
import type { JoinTokenView as JoinTokenViewType } from "../../registry/join-tokens.ts";
import type { ModuleDefaultsView } from "../../registry/desired-state.ts";
import type { dropJson, podJson, seriesPointJson, tcpJson } from "../../routes/monitoring-json.ts";
import type { explorerFlowJson } from "../../routes/flow-explorer-json.ts";
import type { dnsJson } from "../../routes/dns-json.ts";
import type { ServiceMap } from "../../monitoring/servicemap.ts";
import type { ServicesView as ServicesViewType } from "../../services/views.ts";
import type { JoinTokenView, ModuleDefaults } from "./admin.ts";
import type { AlertView, ThresholdView } from "./alerts.ts";
import type { DnsAnswer } from "./dns.ts";
import type { ConnectionJson, DropJson, FlowJson, PodJson, SeriesPointJson, ServiceMapAnswer } from "./monitoring.ts";
import type { InterfaceState, ModuleView, NodeDetail, NodeSummary } from "./nodes.ts";
import type { RuleView, ServicesView } from "./services.ts";

/** True when `P` and `S` are each assignable to the other. */
type Same<P, S> = [P] extends [S] ? ([S] extends [P] ? true : false) : false;
type Out<S extends z.ZodType> = z.output<S>;
/** A windowed answer without its `window`, which the route adds (control/routes/monitoring.ts windowedRoute). */
type Windowed<S extends z.ZodType> = Omit<Out<S>, "window">;

export const PRODUCED_AS_DOCUMENTED: Record<string, true> = {
  nodeSummary: true satisfies Same<NodeSummaryType, Out<typeof NodeSummary>>,
  nodeDetail: true satisfies Same<NodeDetailType, Out<typeof NodeDetail>>,
  interfaceState: true satisfies Same<InterfaceStateType, Out<typeof InterfaceState>>,
  moduleView: true satisfies Same<ModuleViewType, Out<typeof ModuleView>>,
  joinTokenView: true satisfies Same<JoinTokenViewType, Out<typeof JoinTokenView>>,
  moduleDefaults: true satisfies Same<ModuleDefaultsView, Out<typeof ModuleDefaults>>,
  thresholdView: true satisfies Same<ThresholdViewType, Out<typeof ThresholdView>>,
  alertView: true satisfies Same<AlertViewType, Out<typeof AlertView>>,
  ruleView: true satisfies Same<RuleViewType, Out<typeof RuleView>>,
  servicesView: true satisfies Same<ServicesViewType, Out<typeof ServicesView>>,
  pod: true satisfies Same<ReturnType<typeof podJson>, Out<typeof PodJson>>,
  flow: true satisfies Same<ReturnType<typeof explorerFlowJson>, Out<typeof FlowJson>>,
  connection: true satisfies Same<ReturnType<typeof tcpJson>, Out<typeof ConnectionJson>>,
  drop: true satisfies Same<ReturnType<typeof dropJson>, Out<typeof DropJson>>,
  seriesPoint: true satisfies Same<ReturnType<typeof seriesPointJson>, Out<typeof SeriesPointJson>>,
  dns: true satisfies Same<ReturnType<typeof dnsJson>, Windowed<typeof DnsAnswer>>,
  serviceMap: true satisfies Same<ServiceMap, Windowed<typeof ServiceMapAnswer>>,
};
