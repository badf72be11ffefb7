// SPDX-License-Identifier: Apache-2.0
/**
 * Alert notifications on the pages: the receivers with their counts and, for
 * an admin on /thresholds, their switches and the form to add one; the
 * delivery records on /alerts (each event, its receiver, its state and its
 * attempts). Secrets are never on a page: the views carry none.
 */
import type { NotificationView } from "../../control/notify/deliveries.ts";
import { RECEIVER_FORMATS, ReceiverInput, type ReceiverView } from "../../control/notify/receivers.ts";
import { validate } from "../../control/http/validation.ts";
import { formatCount, formatCountOf } from "../format.ts";
import { Field, invalid } from "./field.tsx";
import { Panel } from "./panel.tsx";
import { Time } from "./time.tsx";

export const RECEIVERS_PATH = "/receivers";
export const RECEIVERS_FRAGMENT_PATH = "/fragments/receivers";
export const RECEIVER_FORM_ID = "receiver-form";
export const RECEIVER_LIST_ID = "receivers";

const FORMAT_LABELS: Record<(typeof RECEIVER_FORMATS)[number], string> = {
  webhook: "Alertmanager webhook message (Slack, PagerDuty, Teams bridges…)",
  alertmanager: "Alertmanager's API (the URL ends in /api/v2/alerts)",
};

/** "12 delivered · 1 pending · 3 given up" */
function Counts(props: { r: ReceiverView }) {
  const { r } = props;
  return (
    <>
      {`${formatCount(r.delivered)} delivered`}
      {r.pending > 0 && ` · ${formatCount(r.pending)} pending`}
      {r.gaveUp > 0 && <strong class="gave-up">{` · ${formatCount(r.gaveUp)} given up`}</strong>}
      {r.failedAttempts > 0 && (
        <span class="sub">{`${formatCountOf(r.failedAttempts, "failed attempt")}, retried`}</span>
      )}
    </>
  );
}

/** The receivers, with (for an admin) a switch and a delete button each. */
export function ReceiverList(props: { receivers: ReceiverView[]; isAdmin: boolean }) {
  const { receivers, isAdmin } = props;
  if (receivers.length === 0) {
    return (
      <p class="none">
        No receiver: alerts show on these pages only. Add a webhook below (Alertmanager, or a Slack or PagerDuty bridge
        that takes Alertmanager's webhooks) and every alert firing and resolving is POSTed to it.
      </p>
    );
  }
  return (
    <table class="receivers">
      <thead>
        <tr>
          <th>Receiver</th>
          <th>URL</th>
          <th>Deliveries</th>
          <th>State</th>
          {isAdmin && <th></th>}
        </tr>
      </thead>
      <tbody>
        {receivers.map((r) => (
          <tr id={`receiver-${r.id}`}>
            <td>
              {r.name}
              {(r.bearerToken || r.header) && (
                <span class="sub">
                  {[r.bearerToken ? "bearer token" : "", r.header ? `header ${r.header}` : ""].filter((s) => s)
                    .join(", ")} (not shown)
                </span>
              )}
            </td>
            <td>
              <code>{r.url}</code>
              {r.format === "alertmanager" && <span class="sub">Alertmanager's API</span>}
            </td>
            <td>
              <Counts r={r} />
            </td>
            <td>{r.enabled ? <span class="state state-on">enabled</span> : <span class="na">switched off</span>}</td>
            {isAdmin && (
              <td>
                <form
                  class="inline"
                  hx-post={`${RECEIVERS_PATH}/${r.id}/${r.enabled ? "disable" : "enable"}`}
                  hx-target={`#${RECEIVER_LIST_ID}`}
                  hx-swap="innerHTML"
                >
                  <button type="submit" class="link">{r.enabled ? "switch off" : "switch on"}</button>
                </form>{" "}
                <form
                  class="inline"
                  hx-post={`${RECEIVERS_PATH}/${r.id}/delete`}
                  hx-target={`#${RECEIVER_LIST_ID}`}
                  hx-swap="innerHTML"
                  hx-confirm={`Delete the receiver ${r.name}? Notifications not yet sent to it are dropped.`}
                >
                  <button type="submit" class="link">delete</button>
                </form>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The form's fields, as the browser sends them. */
export interface ReceiverFormValues {
  name: string;
  url: string;
  format: string;
  bearerToken: string;
  headerName: string;
  headerValue: string;
}
export type ReceiverFormErrors = Partial<Record<keyof ReceiverFormValues | "form", string>>;

export const BLANK_RECEIVER: ReceiverFormValues = {
  name: "",
  url: "",
  format: "webhook",
  bearerToken: "",
  headerName: "",
  headerValue: "",
};

export function receiverFormValues(body: Record<string, unknown>): ReceiverFormValues {
  const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string).trim() : "");
  return {
    name: text("name"),
    url: text("url"),
    format: text("format"),
    bearerToken: text("bearerToken"),
    headerName: text("headerName"),
    headerValue: text("headerValue"),
  };
}

/** Which form field an issue of ReceiverInput belongs to. */
const FIELD_OF: Record<string, keyof ReceiverFormValues> = {
  name: "name",
  url: "url",
  format: "format",
  bearerToken: "bearerToken",
  header: "headerName",
  "header.name": "headerName",
  "header.value": "headerValue",
};

export function parseReceiverForm(
  v: ReceiverFormValues,
): { ok: true; input: ReceiverInput } | { ok: false; errors: ReceiverFormErrors } {
  const header = v.headerName || v.headerValue ? { name: v.headerName, value: v.headerValue } : undefined;
  const result = validate(ReceiverInput, {
    name: v.name || undefined,
    url: v.url || undefined,
    format: v.format || undefined,
    bearerToken: v.bearerToken || undefined,
    header,
  });
  if (result.ok) return { ok: true, input: result.data };
  const errors: ReceiverFormErrors = {};
  for (const issue of result.issues) errors[FIELD_OF[issue.path] ?? "form"] ??= issue.message;
  return { ok: false, errors };
}

/** The form to add a receiver. Secrets typed here are sent once and never shown again (nor kept in the form). */
export function ReceiverForm(props: { values: ReceiverFormValues; errors: ReceiverFormErrors }) {
  const { values: v, errors } = props;
  return (
    <section class="panel" id={RECEIVER_FORM_ID}>
      <h3>New notification receiver</h3>
      <form
        class="threshold-form"
        hx-post={RECEIVERS_PATH}
        hx-target={`#${RECEIVER_FORM_ID}`}
        hx-swap="outerHTML"
        novalidate
      >
        {errors.form && <p class="field-error">{errors.form}</p>}
        <Field name="name" label="Name" error={errors.name} hint="lowercase; the payload's receiver">
          <input name="name" id="f-name" value={v.name} {...invalid("name", errors)} />
        </Field>
        <Field name="url" label="Webhook URL" error={errors.url} hint="POSTed Alertmanager's webhook JSON">
          <input name="url" id="f-url" value={v.url} inputmode="url" {...invalid("url", errors)} />
        </Field>
        <Field name="format" label="Format" error={errors.format}>
          <select name="format" id="f-format" {...invalid("format", errors)}>
            {RECEIVER_FORMATS.map((f) => <option value={f} selected={f === v.format}>{FORMAT_LABELS[f]}</option>)}
          </select>
        </Field>
        <Field name="bearerToken" label="Bearer token" error={errors.bearerToken} hint="optional">
          <input
            type="password"
            name="bearerToken"
            id="f-bearerToken"
            autocomplete="off"
            {...invalid("bearerToken", errors)}
          />
        </Field>
        <Field name="headerName" label="Header name" error={errors.headerName} hint="optional, e.g. X-Api-Key">
          <input name="headerName" id="f-headerName" value={v.headerName} {...invalid("headerName", errors)} />
        </Field>
        <Field name="headerValue" label="Header value" error={errors.headerValue}>
          <input
            type="password"
            name="headerValue"
            id="f-headerValue"
            autocomplete="off"
            {...invalid("headerValue", errors)}
          />
        </Field>
        <div class="field field-actions">
          <button type="submit">Add</button>
        </div>
      </form>
      <p class="note">
        Each alert's firing and its resolution are POSTed once, retried with backoff while the receiver fails, and given
        up (counted here) after EBPF_K8S_NOTIFY_GIVE_UP. See docs/alerts.md.
      </p>
    </section>
  );
}

const STATE_TEXT: Record<NotificationView["state"], string> = {
  pending: "pending",
  delivered: "delivered",
  "gave-up": "given up",
};

/** The latest delivery records, for /alerts; the receivers' totals above them. */
export function Deliveries(props: { receivers: ReceiverView[]; records: NotificationView[]; shown: number }) {
  const { receivers, records } = props;
  return (
    <Panel
      title="Notifications"
      meta={records.length === props.shown ? `the latest ${props.shown}` : undefined}
      id="notifications"
    >
      {receivers.length === 0
        ? (
          <p class="none">
            No receiver is configured: alerts reach nobody outside these pages. An admin adds one on{" "}
            <a href="/thresholds#receivers">Thresholds</a>.
          </p>
        )
        : (
          <ul class="receiver-totals">
            {receivers.map((r) => (
              <li>
                <strong>{r.name}</strong>
                {r.enabled ? "" : " (switched off)"}: <Counts r={r} />
              </li>
            ))}
          </ul>
        )}
      {records.length > 0 && (
        <table class="deliveries">
          <thead>
            <tr>
              <th>Event</th>
              <th>Receiver</th>
              <th>State</th>
              <th>Attempts</th>
            </tr>
          </thead>
          <tbody>
            {records.map((n) => {
              const last = n.attemptLog.at(-1);
              return (
                <tr class={`delivery-${n.state}`}>
                  <td>
                    {n.status} · {n.summary}
                    <span class="sub">
                      <Time ms={Date.parse(n.createdAt)} /> · {n.alertname}
                    </span>
                  </td>
                  <td>{n.receiver}</td>
                  <td>
                    {STATE_TEXT[n.state]}
                    {n.state === "pending" && n.nextAttemptAt && (
                      <span class="sub">
                        next try <Time ms={Date.parse(n.nextAttemptAt)} format="time" />
                      </span>
                    )}
                    {n.gaveUpReason && <span class="sub">{n.gaveUpReason}</span>}
                  </td>
                  <td>
                    {n.attempts}
                    {last && (
                      <span class="sub">
                        last: {last.httpStatus === null ? last.error : `HTTP ${last.httpStatus}`}, {last.durationMs} ms
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Panel>
  );
}
