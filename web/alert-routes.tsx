// SPDX-License-Identifier: Apache-2.0
/**
 * The pages of upper and lower limits (read-protected like the overview):
 *   GET  /thresholds               the list, and for an admin the form (?edit=ID fills it with that threshold)
 *   GET  /fragments/thresholds     the list alone (polled)
 *   POST /thresholds               create  ┐ admin, htmx: the form back with its errors
 *   POST /thresholds/:id           change  │ next to the fields (422), or a blank form
 *   POST /thresholds/:id/delete    delete  ┘ plus the refreshed list and a line in #flash
 *   GET  /alerts?node=             active alerts, then the history, then (all nodes) the notifications sent
 *                                  (and /fragments/alerts, polled); receivers: notification-routes.tsx
 * Forms post like the module switches (htmx sends HX-Request, which the
 * admin check takes as proof of a same-origin request).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { listAlerts } from "../control/alerts/alerts.ts";
import { METRICS, SCOPE_LABELS } from "../control/alerts/model.ts";
import {
  createThreshold,
  deleteThreshold,
  knownTargets,
  listThresholds,
  type ThresholdView,
  updateThreshold,
} from "../control/alerts/thresholds.ts";
import { type AccessSettings, callerOf, requireAdmin, requireReader } from "../control/auth/access.ts";
import type { Db } from "../control/queries/handle.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import { optionalParam } from "../control/queries/monitoring/window.ts";
import { ThresholdId } from "../control/routes/alerts.ts";
import { NodeName } from "../control/wire/batch.ts";
import { ALERTS_PATH, formatMetricValue, THRESHOLDS_PATH } from "./components/alerts.tsx";
import { Layout, loginPath, sessionOf } from "./components/layout.tsx";
import {
  BLANK_FORM,
  editForm,
  type FormState,
  formValues,
  parseForm,
  ThresholdForm,
} from "./components/threshold-form.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import {
  ALERTS_FRAGMENT_PATH,
  AlertsDetail,
  AlertsPage,
  type AlertsView,
  DELIVERIES_SHOWN,
  HISTORY_SHOWN,
} from "./pages/alerts.tsx";
import { listNotifications } from "../control/notify/deliveries.ts";
import { listReceivers } from "../control/notify/receivers.ts";
import {
  LIST_ID,
  ThresholdList,
  THRESHOLDS_FRAGMENT_PATH,
  ThresholdsPage,
  type ThresholdsView,
} from "./pages/thresholds.tsx";

const EditQuery = z.object({ edit: optionalParam(ThresholdId) });
const AlertsQuery = z.object({ node: optionalParam(NodeName) });

export function alertPageRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const admin = requireAdmin(access, denyPage);

  const listView = async (c: Context): Promise<ThresholdsView> => ({
    thresholds: await listThresholds(db),
    isAdmin: (await callerOf(c, access)).role === "admin",
    loginPath: loginPath(THRESHOLDS_PATH),
  });

  const refusal = async (c: Context, status: 400 | 404, message: string) =>
    c.html(
      <Layout title="Thresholds" session={await sessionOf(c, access)}>
        <div class="empty">
          <p>{message}</p>
          <p>
            <a href={THRESHOLDS_PATH}>All thresholds</a>
          </p>
        </div>
      </Layout>,
      status,
    );

  routes.get(THRESHOLDS_PATH, reader, async (c) => {
    const query = EditQuery.safeParse(c.req.query());
    if (!query.success) return refusal(c, 400, "The parameter 'edit' must be a threshold id (16 hex digits).");
    const [view, session, targets] = await Promise.all([listView(c), sessionOf(c, access), knownTargets(db)]);
    const receivers = view.isAdmin ? await listReceivers(db) : undefined;
    let form = BLANK_FORM;
    if (query.data.edit !== undefined) {
      const editing = view.thresholds.find((t) => t.id === query.data.edit);
      if (editing === undefined) {
        return refusal(c, 404, `No threshold has the id ${query.data.edit}; it may have been deleted.`);
      }
      form = editForm(editing);
    }
    return c.html(
      <ThresholdsPage view={view} form={form} targets={targets} session={session} receivers={receivers} />,
    );
  });

  routes.get(THRESHOLDS_FRAGMENT_PATH, reader, async (c) => c.html(<ThresholdList view={await listView(c)} />));

  /** After a save or delete: a blank form (in place of the one posted), the list and a line saying what happened. */
  async function done(c: Context, message: string) {
    const [view, targets] = await Promise.all([listView(c), knownTargets(db)]);
    return c.html(
      <>
        <ThresholdForm state={BLANK_FORM} targets={targets} />
        <div id={LIST_ID} hx-swap-oob="innerHTML">
          <ThresholdList view={view} />
        </div>
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {message}
        </p>
      </>,
      200,
      // An edit's URL (?edit=ID) would reopen the threshold on reload.
      { "HX-Push-Url": THRESHOLDS_PATH },
    );
  }

  /** The posted form, parsed; or the answer showing its errors. */
  async function posted(c: Context, id?: string) {
    const values = formValues(await c.req.parseBody());
    const parsed = parseForm(values);
    if (parsed.ok) return parsed;
    const state: FormState = { id, values, errors: parsed.errors };
    return {
      ok: false as const,
      response: c.html(<ThresholdForm state={state} targets={await knownTargets(db)} />, 422),
    };
  }

  routes.post(THRESHOLDS_PATH, limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const form = await posted(c);
    if (!form.ok) return form.response;
    return done(c, `Created: ${describe(await createThreshold(db, form.input, now()))}.`);
  });

  routes.post(`${THRESHOLDS_PATH}/:id`, limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const id = ThresholdId.safeParse(c.req.param("id"));
    if (!id.success) return flashError(c, "No such threshold.", 404);
    const form = await posted(c, id.data);
    if (!form.ok) return form.response;
    const saved = await updateThreshold(db, id.data, form.input, now());
    return saved === undefined
      ? flashError(c, "That threshold no longer exists (deleted meanwhile?).", 404)
      : done(c, `Saved: ${describe(saved)}.`);
  });

  routes.post(`${THRESHOLDS_PATH}/:id/delete`, admin, async (c) => {
    const id = ThresholdId.safeParse(c.req.param("id"));
    const deleted = id.success ? await deleteThreshold(db, id.data, now()) : undefined;
    if (deleted === undefined) return flashError(c, "That threshold no longer exists.", 404);
    return c.html(
      <>
        <ThresholdList view={await listView(c)} />
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          Deleted: {describe(deleted)}. Its alerts are resolved and stay in the history.
        </p>
      </>,
    );
  });

  const alertsView = async (c: Context): Promise<AlertsView | undefined> => {
    const query = AlertsQuery.safeParse(c.req.query());
    if (!query.success) return undefined;
    const { node } = query.data;
    const [active, history, receivers, records] = await Promise.all([
      listAlerts(db, { state: "active", node, limit: 1_000 }),
      listAlerts(db, { state: "resolved", node, limit: HISTORY_SHOWN }),
      node === undefined ? listReceivers(db) : [],
      node === undefined ? listNotifications(db, { limit: DELIVERIES_SHOWN }) : [],
    ]);
    return {
      active,
      history,
      node,
      now: now(),
      notifications: node === undefined ? { receivers, records } : undefined,
    };
  };
  const badNode = "The parameter 'node' must be a node name (lowercase RFC 1123).";

  routes.get(ALERTS_PATH, reader, async (c) => {
    const [view, session] = await Promise.all([alertsView(c), sessionOf(c, access)]);
    if (view === undefined) {
      return c.html(
        <Layout title="Alerts" session={session}>
          <p class="empty">{badNode}</p>
        </Layout>,
        400,
      );
    }
    return c.html(<AlertsPage view={view} session={session} />);
  });

  routes.get(ALERTS_FRAGMENT_PATH, reader, async (c) => {
    const view = await alertsView(c);
    return view === undefined ? c.html(<p class="empty">{badNode}</p>, 400) : c.html(<AlertsDetail view={view} />);
  });

  return routes;
}

/** "RX bytes/s for every node, alert when above 48.8 KiB/s for 60 s", for a flash line. */
function describe(t: ThresholdView): string {
  const scope = "target" in t.scope ? t.scope.target : SCOPE_LABELS[t.scope.kind];
  const limit = (word: string, v: number | null) => (v === null ? [] : [`${word} ${formatMetricValue(t.unit, v)}`]);
  const limits = [...limit("below", t.lower), ...limit("above", t.upper)].join(" or ");
  return `${METRICS[t.metric].label} for ${scope}, alert when ${limits} for ${t.holdSeconds} s${
    t.enabled ? "" : " (switched off)"
  }`;
}
