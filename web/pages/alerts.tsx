// SPDX-License-Identifier: Apache-2.0
/**
 * `/alerts`: active alerts first, then the history (latest resolved first),
 * then the notifications sent (all-nodes page), refreshed in place; `?node=`
 * narrows the alerts to a node and its pods.
 */
import type { AlertView } from "../../control/alerts/alerts.ts";
import { ALERTS_PATH, AlertTable, THRESHOLDS_PATH } from "../components/alerts.tsx";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { Panel } from "../components/panel.tsx";
import { formatCount } from "../format.ts";
import type { NotificationView } from "../../control/notify/deliveries.ts";
import type { ReceiverView } from "../../control/notify/receivers.ts";
import { Deliveries } from "../components/notifications.tsx";

export const ALERTS_FRAGMENT_PATH = "/fragments/alerts";
/** How much history the page shows; the API gives more (limit=). */
export const HISTORY_SHOWN = 100;

export interface AlertsView {
  active: AlertView[];
  history: AlertView[];
  node?: string;
  now: number;
  /** The receivers' totals and the latest delivery records (on the all-nodes page only). */
  notifications?: { receivers: ReceiverView[]; records: NotificationView[] };
}

/** Delivery records the page shows; the API gives more (GET /api/v1/notifications). */
export const DELIVERIES_SHOWN = 50;

const query = (node?: string) => (node === undefined ? "" : `?node=${encodeURIComponent(node)}`);

export function AlertsPage(props: { view: AlertsView; session: Session }) {
  const { node } = props.view;
  return (
    <Layout title="Alerts" hint={LIVE_HINT} session={props.session}>
      <p class="crumbs">
        {node !== undefined && (
          <>
            On <a href={`/nodes/${encodeURIComponent(node)}`}>{node}</a> and its pods ·{" "}
            <a href={ALERTS_PATH}>all nodes</a> ·{" "}
          </>
        )}
        <a href={THRESHOLDS_PATH}>Thresholds</a>
      </p>
      <Live id="alerts" src={`${ALERTS_FRAGMENT_PATH}${query(node)}`}>
        <AlertsDetail view={props.view} />
      </Live>
    </Layout>
  );
}

/** The polled part. */
export function AlertsDetail(props: { view: AlertsView }) {
  const { active, history, now, notifications } = props.view;
  return (
    <>
      <Panel title="Active" meta={`${formatCount(active.length)} firing`}>
        <AlertTable alerts={active} now={now} empty="Nothing is out of its limits: no alert is active." />
      </Panel>
      <Panel title="History" meta={history.length === HISTORY_SHOWN ? `the latest ${HISTORY_SHOWN}` : undefined}>
        <AlertTable alerts={history} now={now} empty="No alert has resolved yet." />
      </Panel>
      {notifications && <Deliveries {...notifications} shown={DELIVERIES_SHOWN} />}
    </>
  );
}
