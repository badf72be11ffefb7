// SPDX-License-Identifier: Apache-2.0
/**
 * `/thresholds`: every threshold with how many targets are out of its
 * limits (refreshed in place), and for an admin the form to create one, or
 * to edit one (`?edit=ID`), plus a delete button that asks first. Anyone
 * else sees the list read-only.
 */
import type { ThresholdView } from "../../control/alerts/thresholds.ts";
import { METRICS, SCOPE_LABELS } from "../../control/alerts/model.ts";
import { formatMetricValue, THRESHOLDS_PATH } from "../components/alerts.tsx";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { type FormState, ThresholdForm } from "../components/threshold-form.tsx";
import { FLASH_ID } from "../deny.tsx";
import type { ReceiverView } from "../../control/notify/receivers.ts";
import {
  BLANK_RECEIVER,
  RECEIVER_LIST_ID,
  ReceiverForm,
  ReceiverList,
  RECEIVERS_FRAGMENT_PATH,
} from "../components/notifications.tsx";
import { Panel } from "../components/panel.tsx";
import { formatCount, MISSING } from "../format.ts";

export const THRESHOLDS_FRAGMENT_PATH = "/fragments/thresholds";
export const LIST_ID = "thresholds";

export interface ThresholdsView {
  thresholds: ThresholdView[];
  isAdmin: boolean;
  loginPath: string;
}

export function ThresholdsPage(
  props: {
    view: ThresholdsView;
    form: FormState;
    targets: string[];
    session: Session;
    /** The notification receivers, for an admin (they are admin-only). */
    receivers?: ReceiverView[];
  },
) {
  const { view } = props;
  return (
    <Layout title="Thresholds" hint={LIVE_HINT} session={props.session}>
      <p id={FLASH_ID} class="flash" role="status"></p>
      <Live id={LIST_ID} src={THRESHOLDS_FRAGMENT_PATH}>
        <ThresholdList view={view} />
      </Live>
      {view.isAdmin ? <ThresholdForm state={props.form} targets={props.targets} /> : (
        <p class="note">
          Creating, changing and deleting thresholds and notification receivers needs the admin token:{" "}
          <a href={view.loginPath}>log in</a> with it.
        </p>
      )}
      {view.isAdmin && props.receivers !== undefined && (
        <>
          <Panel title="Notification receivers" meta="where alerts are sent">
            <Live id={RECEIVER_LIST_ID} src={RECEIVERS_FRAGMENT_PATH}>
              <ReceiverList receivers={props.receivers} isAdmin />
            </Live>
          </Panel>
          <ReceiverForm values={BLANK_RECEIVER} errors={{}} />
        </>
      )}
    </Layout>
  );
}

/** The polled part. */
export function ThresholdList(props: { view: ThresholdsView }) {
  const { thresholds, isAdmin } = props.view;
  if (thresholds.length === 0) {
    return (
      <div class="empty">
        <p>
          No thresholds yet. A threshold puts an upper or a lower limit (or both) on a metric of one node, one pod,
          every node or every pod; an alert fires when the value stays out of the limits for the hold time, and shows on
          the overview, the node's page and <a href="/alerts">Alerts</a>.
        </p>
        {!isAdmin && <p>An admin creates them here or through POST /api/v1/thresholds.</p>}
      </div>
    );
  }
  return (
    <section class="panel">
      <h3>{formatCount(thresholds.length)} {thresholds.length === 1 ? "threshold" : "thresholds"}</h3>
      <table class="thresholds">
        <thead>
          <tr>
            <th>Metric</th>
            <th>For</th>
            <th>Lower</th>
            <th>Upper</th>
            <th>Hold</th>
            <th>Now</th>
            {isAdmin && <th></th>}
          </tr>
        </thead>
        <tbody>
          {thresholds.map((t) => <ThresholdRow threshold={t} isAdmin={isAdmin} />)}
        </tbody>
      </table>
    </section>
  );
}

function ThresholdRow(props: { threshold: ThresholdView; isAdmin: boolean }) {
  const t = props.threshold;
  const limit = (v: number | null) => (v === null ? <span class="na">{MISSING}</span> : formatMetricValue(t.unit, v));
  return (
    <tr id={`threshold-${t.id}`}>
      <td>
        {METRICS[t.metric].label}
        {t.description && <span class="sub">{t.description}</span>}
      </td>
      <td>
        {SCOPE_LABELS[t.scope.kind]}
        {"target" in t.scope && <span class="sub">{t.scope.target}</span>}
      </td>
      <td>{limit(t.lower)}</td>
      <td>{limit(t.upper)}</td>
      <td>{t.holdSeconds} s</td>
      <td>
        <ThresholdState threshold={t} />
      </td>
      {props.isAdmin && (
        <td>
          <a href={`${THRESHOLDS_PATH}?edit=${t.id}`}>edit</a>{" "}
          <form
            class="inline"
            hx-post={`${THRESHOLDS_PATH}/${t.id}/delete`}
            hx-target={`#${LIST_ID}`}
            hx-swap="innerHTML"
            hx-confirm={`Delete the threshold on ${METRICS[t.metric].label} for ${
              "target" in t.scope ? t.scope.target : SCOPE_LABELS[t.scope.kind]
            }? Its alerts resolve and stay in the history.`}
          >
            <button type="submit" class="link">delete</button>
          </form>
        </td>
      )}
    </tr>
  );
}

function ThresholdState(props: { threshold: ThresholdView }) {
  const { enabled, active, pending } = props.threshold;
  if (!enabled) return <span class="na">switched off</span>;
  if (active === 0 && pending === 0) return <span class="state state-on">within limits</span>;
  return (
    <>
      {active > 0 && (
        <a class="alert-count" href={`/alerts`}>
          {active} firing
        </a>
      )}
      {pending > 0 && <span class="sub">{pending} out, holding</span>}
    </>
  );
}
