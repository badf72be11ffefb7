// SPDX-License-Identifier: Apache-2.0
/**
 * The threshold form (create and edit) and its round trip: what the browser
 * sends (strings) becomes the API's ThresholdInput, validated by the same
 * schema, and each issue is shown next to its field. htmx posts it and swaps
 * the answer in place of the form: the form again with its errors (422), or
 * a blank one after a save.
 */
import type { ThresholdView } from "../../control/alerts/thresholds.ts";
import { METRIC_NAMES, METRICS, SCOPE_KINDS, SCOPE_LABELS, ThresholdInput } from "../../control/alerts/model.ts";
import { validate } from "../../control/http/validation.ts";
import { Field, invalid } from "./field.tsx";

export const FORM_ID = "threshold-form";

/** The form's fields, as the browser sends them. */
export interface FormValues {
  metric: string;
  scopeKind: string;
  target: string;
  lower: string;
  upper: string;
  holdSeconds: string;
  description: string;
  enabled: boolean;
}
export type FieldName = keyof FormValues;
/** Messages by field; "form" for one that belongs to no field. */
export type FieldErrors = Partial<Record<FieldName | "form", string>>;

export interface FormState {
  /** The threshold being edited; a new one without. */
  id?: string;
  values: FormValues;
  errors: FieldErrors;
}

export const BLANK_FORM: FormState = {
  values: {
    metric: "rxBytesPerSec",
    scopeKind: "all",
    target: "",
    lower: "",
    upper: "",
    holdSeconds: "60",
    description: "",
    enabled: true,
  },
  errors: {},
};

export function editForm(t: ThresholdView): FormState {
  const text = (n: number | null) => (n === null ? "" : String(n));
  const values = {
    metric: t.metric,
    scopeKind: t.scope.kind,
    target: "target" in t.scope ? t.scope.target : "",
    lower: text(t.lower),
    upper: text(t.upper),
    holdSeconds: String(t.holdSeconds),
    description: t.description ?? "",
    enabled: t.enabled,
  };
  return { id: t.id, values, errors: {} };
}

/** A posted form's fields (anything missing is empty; a checkbox is there only when ticked). */
export function formValues(body: Record<string, unknown>): FormValues {
  const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string) : "");
  return {
    metric: text("metric"),
    scopeKind: text("scopeKind"),
    target: text("target").trim(),
    lower: text("lower"),
    upper: text("upper"),
    holdSeconds: text("holdSeconds"),
    description: text("description"),
    enabled: text("enabled") === "true",
  };
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
/** Empty is unset; a number as typed; anything else goes on as text, which the schema calls "must be a number". */
const numberOrText = (v: string) => (v.trim() === "" ? undefined : NUMBER.test(v.trim()) ? Number(v.trim()) : v);

/** Which form field an issue of ThresholdInput belongs to. */
const FIELD_OF: Record<string, FieldName> = {
  "scope": "scopeKind",
  "scope.kind": "scopeKind",
  "scope.target": "target",
};

export function parseForm(v: FormValues): { ok: true; input: ThresholdInput } | { ok: false; errors: FieldErrors } {
  const named = v.scopeKind === "node" || v.scopeKind === "pod";
  const input = {
    metric: v.metric || undefined,
    scope: { kind: v.scopeKind || undefined, ...(named ? { target: v.target || undefined } : {}) },
    lower: numberOrText(v.lower),
    upper: numberOrText(v.upper),
    holdSeconds: numberOrText(v.holdSeconds),
    description: v.description.trim() || undefined,
    enabled: v.enabled,
  };
  const result = validate(ThresholdInput, input);
  if (result.ok) return { ok: true, input: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.issues) {
    const field = FIELD_OF[issue.path] ?? (issue.path in v ? (issue.path as FieldName) : "form");
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

/** The form in its panel; `targets` are suggestions for the target field (known nodes and pods). */
export function ThresholdForm(props: { state: FormState; targets: string[] }) {
  const { id, values: v, errors } = props.state;
  const action = id === undefined ? "/thresholds" : `/thresholds/${id}`;
  return (
    <section class="panel" id={FORM_ID}>
      <h3>{id === undefined ? "New threshold" : "Edit threshold"}</h3>
      <form class="threshold-form" hx-post={action} hx-target={`#${FORM_ID}`} hx-swap="outerHTML" novalidate>
        {errors.form && <p class="field-error">{errors.form}</p>}
        <Field name="metric" label="Metric" error={errors.metric}>
          <select name="metric" id="f-metric" {...invalid("metric", errors)}>
            {METRIC_NAMES.map((m) => (
              <option value={m} selected={m === v.metric}>
                {METRICS[m].label} ({METRICS[m].unit})
              </option>
            ))}
          </select>
        </Field>
        <Field name="scopeKind" label="For" error={errors.scopeKind}>
          <select name="scopeKind" id="f-scopeKind" {...invalid("scopeKind", errors)}>
            {SCOPE_KINDS.map((k) => (
              <option value={k} selected={k === v.scopeKind}>
                {SCOPE_LABELS[k]}
              </option>
            ))}
          </select>
        </Field>
        <Field
          name="target"
          label="Node or pod"
          error={errors.target}
          hint='only for "one node" (its name) or "one pod" (namespace/name)'
        >
          <input name="target" id="f-target" value={v.target} list="threshold-targets" {...invalid("target", errors)} />
        </Field>
        <Field name="lower" label="Lower limit" error={errors.lower}>
          <input name="lower" id="f-lower" value={v.lower} inputmode="decimal" {...invalid("lower", errors)} />
        </Field>
        <Field name="upper" label="Upper limit" error={errors.upper}>
          <input name="upper" id="f-upper" value={v.upper} inputmode="decimal" {...invalid("upper", errors)} />
        </Field>
        <Field
          name="holdSeconds"
          label="Hold (s)"
          error={errors.holdSeconds}
          hint="out of the limits this long before it fires"
        >
          <input
            name="holdSeconds"
            id="f-holdSeconds"
            value={v.holdSeconds}
            inputmode="numeric"
            {...invalid("holdSeconds", errors)}
          />
        </Field>
        <Field name="description" label="Description" error={errors.description}>
          <input
            name="description"
            id="f-description"
            value={v.description}
            maxlength={256}
            {...invalid("description", errors)}
          />
        </Field>
        <div class="field field-check">
          <label>
            <input type="checkbox" name="enabled" value="true" checked={v.enabled} /> enabled
          </label>
        </div>
        <div class="field field-actions">
          <button type="submit">{id === undefined ? "Create" : "Save"}</button>
          {id !== undefined && <a href="/thresholds">cancel</a>}
        </div>
      </form>
      <datalist id="threshold-targets">
        {props.targets.map((t) => <option value={t} />)}
      </datalist>
      <p class="note">
        Limits are in the metric's unit: bytes per second for RX and TX (1 MiB/s = 1048576), events per second for
        drops, retransmits and failed connections (averaged over the last minute), seconds for heartbeat age. An alert
        fires when the value is above the upper or below the lower limit at every evaluation for the hold time, and
        resolves when it is back.
      </p>
    </section>
  );
}
