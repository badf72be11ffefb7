// SPDX-License-Identifier: Apache-2.0
/**
 * The top of a node's page: is this node healthy? One line each for its
 * agent (reporting on time, and when it would count as Stale or Lost), its
 * modules (any failed or unsupported), whether the agent applied the
 * desired state, alerts firing, recent drops and the agent's spool. Each
 * line's class says ok or bad, and its words say why, so colour is never the
 * only signal. The lists behind each line (modules, alerts, drops) follow
 * lower on the page.
 */
import type { Child } from "hono/jsx";
import type { AlertView } from "../../control/alerts/alerts.ts";
import type { ModuleView } from "../../control/queries/modules.ts";
import type { NodeDetail } from "../../control/queries/nodes.ts";
import type { StatusThresholds } from "../../control/queries/node-status.ts";
import type { Inventory } from "../../control/wire/batch.ts";
import { formatAgo, formatCount, formatCountOf, formatSpan } from "../format.ts";
import { STATUS_MEANING } from "./status.tsx";

/** The drops module's count over a recent window, for the summary (the Drops panel lists them). */
export interface RecentDrops {
  packets: number;
  /** "in the last 5 min" */
  span: string;
  /** The reason with the most packets, if any. */
  top?: string;
}

export interface NodeHealthView {
  detail: NodeDetail;
  modules: ModuleView[];
  thresholds: StatusThresholds;
  alerts: AlertView[];
  drops: RecentDrops;
}

export function NodeHealth(props: { view: NodeHealthView }) {
  const { detail, modules, thresholds, alerts, drops } = props.view;
  return (
    <section class="panel health" id="node-health" aria-label="health">
      <h3>
        Health <span class="meta">is this node healthy: the details follow below</span>
      </h3>
      <dl>
        <Line label="Agent" ok={detail.status === "Ready"}>
          <span class={`status status-${detail.status.toLowerCase()}`}>{STATUS_MEANING[detail.status]}</span>
          <span class="sub">
            last batch {formatAgo(detail.lastSeenAgoSeconds)}; Stale after {formatSpan(thresholds.staleAfterMs / 1000)}
            {" "}
            without one, Lost after {formatSpan(thresholds.lostAfterMs / 1000)}
          </span>
        </Line>
        <ModulesLine modules={modules} />
        <SyncLine version={detail.desired.version} modules={modules} />
        <Line label="Alerts" ok={alerts.length === 0}>
          {alerts.length === 0 ? "none firing" : <a href="#node-alerts">{formatCount(alerts.length)} firing</a>}
        </Line>
        {/* Every node drops some packets (a closed port's, for one): alerts say when it is too many. */}
        <Line label="Drops">
          {formatCountOf(drops.packets, "packet")} {drops.span}
          {drops.top !== undefined && <span class="sub">most: {drops.top} (see the Drops panel)</span>}
        </Line>
        <SpoolLine inventory={detail.inventory} />
      </dl>
    </section>
  );
}

/** `ok`: true (fine), false (needs a look) or undefined (neither: a number to read, no verdict). */
function Line(props: { label: string; ok?: boolean; children: Child }) {
  return (
    <div class={props.ok === undefined ? "health-info" : props.ok ? "health-ok" : "health-bad"}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** "5 on, 3 off", and each module the agent could not run: on but failed, or not in its build or kernel. */
function ModulesLine(props: { modules: ModuleView[] }) {
  const on = props.modules.filter((m) => m.state === "on").length;
  const problems = props.modules.filter((m) => m.state === "error" || m.state === "unsupported");
  const failed = props.modules.some((m) => m.state === "error" || (m.state === "unsupported" && m.desired));
  return (
    <Line label="Modules" ok={!failed}>
      {formatCount(on)} on, {formatCount(props.modules.length - on)} off
      {problems.map((m) => (
        <span class="sub" title={m.error ?? undefined}>
          {m.name}: {m.state}
          {m.state === "unsupported" && !m.desired ? " (not asked for)" : ""}
        </span>
      ))}
    </Line>
  );
}

/** Whether the agent runs what it was last told (modules switched since its last report wait for it). */
function SyncLine(props: { version: number; modules: ModuleView[] }) {
  const waiting = props.modules.filter((m) => m.pending);
  return (
    <Line label="Desired state" ok={waiting.length === 0}>
      version {props.version}
      {waiting.length === 0
        ? ", applied"
        : `: ${formatCount(waiting.length)} switch${waiting.length === 1 ? "" : "es"} waiting for the agent (${
          waiting.map((m) => m.name).join(", ")
        })`}
    </Line>
  );
}

/**
 * The agent's on-disk spool: batches not yet acknowledged wait there (normal
 * for a moment: neutral); when it is full the oldest are merged (counts
 * summed, nothing lost); only batches dropped because it was full lost data.
 */
function SpoolLine(props: { inventory: Inventory | null }) {
  if (props.inventory === null) {
    return (
      <Line label="Spool" ok>
        <span class="na">not reported (no inventory yet)</span>
      </Line>
    );
  }
  const { pending, dropped, merged = 0, quarantined = 0, quarantineDropped = 0 } = props.inventory.spool;
  const parts = [
    pending === 0
      ? "empty: every batch acknowledged"
      : `${formatCountOf(pending, "batch", "batches")} waiting to be sent`,
    merged > 0 ? `${formatCount(merged)} merged to make room (counts summed, nothing lost)` : "",
    dropped > 0 ? `${formatCount(dropped)} dropped since the agent started because the spool was full` : "",
  ].filter((p) => p !== "");
  const bad = dropped > 0 || quarantined > 0 || quarantineDropped > 0;
  return (
    <Line label="Spool" ok={bad ? false : pending === 0 ? true : undefined}>
      <span
        class={bad ? "spool bad" : "spool"}
        title="batches the agent keeps on disk until the control plane acknowledges them; when the spool is full the oldest are merged (their counts summed), and dropped only if none can be"
      >
        {parts.join(" · ")}
      </span>
      {(quarantined > 0 || quarantineDropped > 0) && (
        <span
          class="sub quarantine"
          title="batches this control plane refused as invalid (400/413); the agent keeps them in <state-dir>/quarantine/ with the reason and sends them again every 10 min and after a control plane restart"
        >
          quarantine: {formatCount(quarantined)} refused batches kept, {formatCount(quarantineDropped)}{" "}
          dropped because the quarantine was full
        </span>
      )}
    </Line>
  );
}
