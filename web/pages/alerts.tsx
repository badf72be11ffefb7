// SPDX-License-Identifier: Apache-2.0
/**
 * `/alerts`: active alerts first, then the history (latest resolved first),
 * refreshed in place; `?node=` narrows both to a node and its pods.
 */
import type { AlertView } from "../../control/alerts/alerts.ts";
import { ALERTS_PATH, AlertTable, THRESHOLDS_PATH } from "../components/alerts.tsx";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { Panel } from "../components/panel.tsx";
import { formatCount } from "../format.ts";

export const ALERTS_FRAGMENT_PATH = "/fragments/alerts";
/** How much history the page shows; the API gives more (limit=). */
export const HISTORY_SHOWN = 100;

export interface AlertsView {
  active: AlertView[];
  history: AlertView[];
  node?: string;
  now: number;
}

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
  const { active, history, now } = props.view;
  return (
    <>
      <Panel title="Active" meta={`${formatCount(active.length)} firing`}>
        <AlertTable alerts={active} now={now} empty="Nothing is out of its limits: no alert is active." />
      </Panel>
      <Panel title="History" meta={history.length === HISTORY_SHOWN ? `the latest ${HISTORY_SHOWN}` : undefined}>
        <AlertTable alerts={history} now={now} empty="No alert has resolved yet." />
      </Panel>
    </>
  );
}
