// SPDX-License-Identifier: Apache-2.0
/**
 * Alerts on the pages: the banner of the overview, the count on a node's
 * card, and the table of the alerts and node pages. Values in the metric's
 * human unit; every alert says which limit it crossed and by how much.
 */
import type { AlertView } from "../../control/alerts/alerts.ts";
import { type MetricInfo, METRICS } from "../../control/alerts/model.ts";
import { Panel } from "./panel.tsx";
import { formatAgo, formatByteRate, formatCountOf, formatSpan } from "../format.ts";

export const ALERTS_PATH = "/alerts";
export const THRESHOLDS_PATH = "/thresholds";
/** At most this many active alerts are read for the overview and a node's page (the alerts page and API list more). */
export const ALERTS_LISTED = 1_000;

/** A metric's value in its unit: "9.77 KiB/s", "0.500/s", "61 s", "250 ms". */
export function formatMetricValue(unit: MetricInfo["unit"], value: number): string {
  if (unit === "B/s") return formatByteRate(value);
  if (unit === "s") return `${Math.round(value).toLocaleString("en-US")} s`;
  if (unit === "ms") return `${Number(value.toPrecision(3)).toLocaleString("en-US")} ms`;
  return `${value >= 100 ? Math.round(value).toLocaleString("en-US") : Number(value.toPrecision(3))}/s`;
}

/** Where a target is shown: its node or pod page. */
export function targetPath(alert: Pick<AlertView, "targetKind" | "target">): string {
  const [a, b] = alert.target.split("/");
  return alert.targetKind === "node"
    ? `/nodes/${encodeURIComponent(alert.target)}`
    : `/pods/${encodeURIComponent(a!)}/${encodeURIComponent(b ?? "")}`;
}

/** "RX bytes/s 9.77 KiB/s, above 4.88 KiB/s" */
function Reading(props: { alert: AlertView; value: number }) {
  const { alert, value } = props;
  const unit = alert.unit;
  return (
    <>
      {METRICS[alert.metric].label} <strong>{formatMetricValue(unit, value)}</strong>,{" "}
      {alert.bound === "upper" ? "above" : "below"} {formatMetricValue(unit, alert.limit)}
    </>
  );
}

/** Seconds from an ISO time to `now`. */
const ageOf = (iso: string, now: number) => Math.max(0, (now - Date.parse(iso)) / 1000);

/** The overview's line of active alerts (a few named, the rest counted). */
export function AlertBanner(props: { alerts: AlertView[]; now: number }) {
  const { alerts, now } = props;
  if (alerts.length === 0) {
    return (
      <p class="alert-banner alert-banner-quiet">
        No active alerts. <a href={THRESHOLDS_PATH}>Thresholds</a> decide when one fires.
      </p>
    );
  }
  const shown = alerts.slice(0, 5);
  return (
    <section class="alert-banner" role="alert">
      <strong>{formatCountOf(alerts.length, "active alert")}</strong> · <a href={ALERTS_PATH}>all alerts</a>
      <ul>
        {shown.map((a) => (
          <li>
            <a href={targetPath(a)}>{a.target}</a>: <Reading alert={a} value={a.lastValue} /> · fired{" "}
            {formatAgo(ageOf(a.firedAt, now))}
          </li>
        ))}
        {alerts.length > shown.length && <li>and {alerts.length - shown.length} more</li>}
      </ul>
    </section>
  );
}

/** A node card's badge: its active alerts (its own and its pods'); nothing when none. */
export function AlertCount(props: { node: string; count: number }) {
  if (props.count === 0) return null;
  return (
    <a
      class="alert-count"
      href={`${ALERTS_PATH}?node=${encodeURIComponent(props.node)}`}
      title="active alerts on this node and its pods"
    >
      {formatCountOf(props.count, "alert")}
    </a>
  );
}

/** Active alerts per node, for the badges. */
export function countByNode(alerts: readonly AlertView[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of alerts) out.set(a.node, (out.get(a.node) ?? 0) + 1);
  return out;
}

/** The node page's panel: the active alerts about the node and its pods. */
export function NodeAlerts(props: { node: string; alerts: AlertView[]; now: number }) {
  const history = `${ALERTS_PATH}?node=${encodeURIComponent(props.node)}`;
  return (
    <Panel title="Active alerts" meta={<a href={history}>history</a>} id="node-alerts">
      <AlertTable
        alerts={props.alerts}
        now={props.now}
        empty={`Nothing on ${props.node} or its pods is out of its limits.`}
      />
    </Panel>
  );
}

const RESOLVED: Record<NonNullable<AlertView["resolvedReason"]>, string> = {
  recovered: "back within the limits",
  "no-data": "no value any more (pod gone, or nothing reported)",
  "threshold-changed": "its threshold now watches something else",
  "threshold-disabled": "its threshold was switched off",
  "threshold-deleted": "its threshold was deleted",
};

/** Active alerts (value now, worst so far) or resolved ones (when and why), newest first. */
export function AlertTable(props: { alerts: AlertView[]; now: number; empty: string }) {
  const { alerts, now } = props;
  if (alerts.length === 0) return <p class="none">{props.empty}</p>;
  const resolved = alerts[0]!.state === "resolved";
  return (
    <table class="alerts">
      <thead>
        <tr>
          <th>Target</th>
          <th>Reading</th>
          <th>Worst</th>
          <th>Fired</th>
          <th>{resolved ? "Resolved" : "Out of limits for"}</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => (
          <tr class={resolved ? undefined : "alert-active"}>
            <td>
              <a href={targetPath(a)}>{a.target}</a>
              <span class="sub">
                {a.targetKind === "pod" ? `pod on ${a.node}` : "node"}
                {a.description ? ` · ${a.description}` : ""}
              </span>
            </td>
            <td class="text">
              <Reading alert={a} value={resolved ? a.value : a.lastValue} />
              <span class="sub">{resolved ? "at firing" : `fired at ${formatMetricValue(a.unit, a.value)}`}</span>
            </td>
            <td>{formatMetricValue(a.unit, a.bound === "upper" ? a.peak : a.trough)}</td>
            <td title={a.firedAt}>{formatAgo(ageOf(a.firedAt, now))}</td>
            <td title={a.resolvedAt ?? a.breachedSince}>
              {resolved
                ? (
                  <>
                    {formatAgo(ageOf(a.resolvedAt!, now))}
                    <span class="sub">{RESOLVED[a.resolvedReason!]}</span>
                  </>
                )
                : (
                  formatSpan(ageOf(a.breachedSince, now))
                )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
