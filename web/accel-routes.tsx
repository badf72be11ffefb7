// SPDX-License-Identifier: Apache-2.0
/**
 * `/accel`: socket acceleration rules with the connections and bytes each
 * accelerated over the last hour (refreshed in place from /fragments/accel),
 * and for an admin the form that adds a rule and a delete button per rule:
 *   GET  /accel, /fragments/accel                 read-protected like the other pages
 *   POST /accel                                   admin; htmx: the form back with its errors (422), or the list refreshed
 *   POST /accel/:id/delete                        admin; the list refreshed and a line in #flash
 * Whether a node accelerates at all is its `accel` module switch (node page).
 */
import { type Context, Hono } from "hono";
import { createRule, deleteRule, RulesFull, type RuleView, ruleViews } from "../control/accel/rules.ts";
import { type AccessSettings, callerOf, requireAdmin, requireReader } from "../control/auth/access.ts";
import type { Db } from "../control/queries/handle.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import { type AccelRule, AccelRuleInput } from "../control/wire/accel.ts";
import { Layout, loginPath, sessionOf } from "./components/layout.tsx";
import { Live, LIVE_HINT } from "./components/live.tsx";
import { Panel } from "./components/panel.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import { formatBytes, formatCount, formatCountOf } from "./format.ts";

export const ACCEL_PATH = "/accel";
const FRAGMENT = "/fragments/accel";
const LIST_ID = "accel-rules";
const FORM_ID = "accel-form";
const HOUR = 3_600_000;

type FormValues = Record<"kind" | "namespace" | "name" | "portName" | "selector" | "description", string>;
const BLANK: FormValues = { kind: "service", namespace: "", name: "", portName: "", selector: "", description: "" };

/** The form as a rule: "name" and "port" for a service rule ("-" or empty port: every port), "selector" as k=v,k2=v2 for pods. */
export function parseAccelForm(
  v: FormValues,
): { ok: true; input: AccelRuleInput } | { ok: false; errors: Record<string, string> } {
  const description = v.description.trim() || undefined;
  const raw = v.kind === "pods"
    ? {
      kind: "pods",
      namespace: v.namespace.trim(),
      selector: Object.fromEntries(
        v.selector.split(",").map((p) => p.trim()).filter(Boolean).map((p) => {
          const i = p.indexOf("=");
          return i < 0 ? [p, ""] : [p.slice(0, i).trim(), p.slice(i + 1).trim()];
        }),
      ),
      description,
    }
    : {
      kind: v.kind,
      namespace: v.namespace.trim(),
      name: v.name.trim(),
      ...(v.portName.trim() ? { portName: v.portName.trim() === "-" ? "" : v.portName.trim() } : {}),
      description,
    };
  const parsed = AccelRuleInput.safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "kind")] ??= issue.message;
  return { ok: false, errors };
}

export function ruleTarget(r: AccelRule): string {
  if (r.kind === "service") {
    return `service ${r.namespace}/${r.name}${
      r.portName === undefined ? " (every port)" : ` port ${r.portName === "" ? "(unnamed)" : r.portName}`
    }`;
  }
  return `pods in ${r.namespace} with ${Object.entries(r.selector).map(([k, v]) => `${k}=${v}`).join(", ")}`;
}

function RuleList(props: { rules: RuleView[]; isAdmin: boolean }) {
  if (props.rules.length === 0) {
    return (
      <div class="empty">
        <p>
          No acceleration rules. A rule opts a service's backends, or the pods a label selector picks, into socket
          acceleration: TCP connections between two pods of the same node then skip both TCP/IP stacks (sockops and
          sk_msg redirect).
        </p>
        <p>
          Nodes accelerate only with their accel module switched on (node page), and only connections whose two ends are
          pods of that node.
        </p>
      </div>
    );
  }
  return (
    <Panel title={formatCountOf(props.rules.length, "rule")} meta="accelerated over the last hour, all nodes">
      <table class="accel">
        <thead>
          <tr>
            <th>Id</th>
            <th>Opts in</th>
            <th>Description</th>
            <th>Connections</th>
            <th>Bytes</th>
            {props.isAdmin && <th></th>}
          </tr>
        </thead>
        <tbody>
          {props.rules.map((v) => (
            <tr id={`accel-rule-${v.rule.id}`}>
              <td>{v.rule.id}</td>
              <td>{ruleTarget(v.rule)}</td>
              <td>{v.rule.description ?? ""}</td>
              <td>{formatCount(v.connections)}</td>
              <td>{formatBytes(v.bytes)}</td>
              {props.isAdmin && (
                <td>
                  <button
                    type="button"
                    class="link"
                    hx-post={`${ACCEL_PATH}/${v.rule.id}/delete`}
                    hx-target={`#${LIST_ID}`}
                    hx-confirm={`Delete rule ${v.rule.id}?`}
                  >
                    delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

function Field(
  props: { name: keyof FormValues; label: string; values: FormValues; errors: Record<string, string>; hint?: string },
) {
  const error = props.errors[props.name];
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        value={props.values[props.name]}
        aria-invalid={error ? "true" : undefined}
        placeholder={props.hint}
      />
      {error && <span class="error">{error}</span>}
    </label>
  );
}

export function AccelForm(props: { values: FormValues; errors: Record<string, string> }) {
  const { values, errors } = props;
  return (
    <form id={FORM_ID} class="panel form" hx-post={ACCEL_PATH} hx-swap="outerHTML">
      <h3>Add a rule</h3>
      <label>
        Kind
        <select name="kind">
          <option value="service" selected={values.kind !== "pods"}>a service's backends</option>
          <option value="pods" selected={values.kind === "pods"}>pods by label</option>
        </select>
        {errors.kind && <span class="error">{errors.kind}</span>}
      </label>
      <Field name="namespace" label="Namespace" values={values} errors={errors} />
      <Field name="name" label="Service name (service rules)" values={values} errors={errors} />
      <Field
        name="portName"
        label="Port name (service rules; empty: every port, - the unnamed one)"
        values={values}
        errors={errors}
      />
      <Field name="selector" label="Labels (pods rules)" values={values} errors={errors} hint="app=redis,tier=cache" />
      <Field name="description" label="Description" values={values} errors={errors} />
      <button type="submit">Add</button>
    </form>
  );
}

export function accelPageRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const admin = requireAdmin(access, denyPage);
  const isAdmin = async (c: Context) => (await callerOf(c, access)).role === "admin";
  const list = async (c: Context) => <RuleList rules={await ruleViews(db, now() - HOUR)} isAdmin={await isAdmin(c)} />;

  routes.get(ACCEL_PATH, reader, async (c) => {
    const admin = await isAdmin(c);
    return c.html(
      <Layout title="Acceleration" hint={LIVE_HINT} session={await sessionOf(c, access)}>
        <p id={FLASH_ID} class="flash" role="status"></p>
        <Live id={LIST_ID} src={FRAGMENT}>
          {await list(c)}
        </Live>
        {admin ? <AccelForm values={BLANK} errors={{}} /> : (
          <p class="note">
            Adding and deleting rules needs the admin token: <a href={loginPath(ACCEL_PATH)}>log in</a> with it.
          </p>
        )}
      </Layout>,
    );
  });

  routes.get(FRAGMENT, reader, async (c) => c.html(await list(c)));

  routes.post(ACCEL_PATH, limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const body = await c.req.parseBody();
    const values = Object.fromEntries(
      Object.keys(BLANK).map((k) => [k, typeof body[k] === "string" ? body[k] : ""]),
    ) as FormValues;
    const parsed = parseAccelForm(values);
    if (!parsed.ok) return c.html(<AccelForm values={values} errors={parsed.errors} />, 422);
    let rule: AccelRule;
    try {
      rule = await createRule(db, parsed.input, now());
    } catch (e) {
      if (e instanceof RulesFull) return c.html(<AccelForm values={values} errors={{ kind: e.message }} />, 422);
      throw e;
    }
    return c.html(
      <>
        <AccelForm values={BLANK} errors={{}} />
        <div id={LIST_ID} hx-swap-oob="innerHTML">{await list(c)}</div>
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          Added rule {rule.id}: {ruleTarget(rule)}. Nodes apply it within seconds.
        </p>
      </>,
    );
  });

  routes.post(`${ACCEL_PATH}/:id/delete`, admin, async (c) => {
    const id = Number(c.req.param("id"));
    if (!Number.isInteger(id) || id < 1) return flashError(c, "Not a rule id.", 400);
    const gone = await deleteRule(db, id, now());
    if (!gone) return flashError(c, `No rule ${id}: it was deleted already.`, 404);
    return c.html(
      <>
        {await list(c)}
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          Deleted rule {id}: {ruleTarget(gone)}.
        </p>
      </>,
    );
  });

  return routes;
}
