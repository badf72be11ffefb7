/**
 * The form that creates a service, and its round trip like the threshold
 * form's: what the browser sends (strings; backends one per line) becomes
 * the API's ServiceInput, validated by the same schema, and each issue
 * (a conflict included) is shown next to its field.
 */
import type { Child } from "hono/jsx";
import { validate } from "../../control/http/validation.ts";
import type { ServiceConflict } from "../../control/services/errors.ts";
import { AFFINITIES, DEFAULT_AFFINITY_TIMEOUT_S, LB_PROTOCOLS, ServiceInput } from "../../control/wire/services.ts";
import { Field, invalid } from "./field.tsx";

export const SERVICE_FORM_ID = "service-form";
export const SERVICES_PATH = "/services";

const FIELDS = ["namespace", "name", "portName", "vip", "port", "protocol", "affinity", "affinityTimeoutS", "backends"] as const;
export type ServiceField = (typeof FIELDS)[number];
export type ServiceFormValues = Record<ServiceField, string>;
/** Messages by field; "form" for one that belongs to no field. */
export type ServiceFormErrors = Partial<Record<ServiceField | "form", string>>;

export interface ServiceFormState {
  values: ServiceFormValues;
  errors: ServiceFormErrors;
}

export const BLANK_SERVICE_FORM: ServiceFormState = {
  values: { namespace: "default", name: "", portName: "", vip: "", port: "", protocol: "TCP", affinity: "none", affinityTimeoutS: String(DEFAULT_AFFINITY_TIMEOUT_S), backends: "" },
  errors: {},
};

/** A posted form's fields (anything missing is empty). */
export function serviceFormValues(body: Record<string, unknown>): ServiceFormValues {
  const values = {} as ServiceFormValues;
  for (const f of FIELDS) values[f] = typeof body[f] === "string" ? (body[f] as string).trim() : "";
  return values;
}

const WHOLE = /^\d+$/;
/** A whole number as typed; anything else goes on as text, which the schema refuses by name. */
const numberOrText = (v: string) => (v === "" ? undefined : WHOLE.test(v) ? Number(v) : v);

/** `ip:port` or `ip:port weight`, one backend per line. */
const BACKEND_LINE = /^(\S+):(\d+)(?:\s+(\d+))?$/;

export function parseServiceForm(v: ServiceFormValues): { ok: true; input: ServiceInput } | { ok: false; errors: ServiceFormErrors } {
  const lines = v.backends.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const bad = lines.findIndex((l) => !BACKEND_LINE.test(l));
  if (bad >= 0) return { ok: false, errors: { backends: `line ${bad + 1}: write ip:port, optionally followed by a weight` } };
  const backends = lines.map((l) => {
    const [, ip, port, weight] = BACKEND_LINE.exec(l)!;
    return { ip, port: Number(port), ...(weight === undefined ? {} : { weight: Number(weight) }) };
  });
  const input = {
    namespace: v.namespace || undefined,
    name: v.name || undefined,
    portName: v.portName,
    vip: v.vip || undefined,
    port: numberOrText(v.port),
    protocol: v.protocol || undefined,
    affinity: v.affinity || undefined,
    affinityTimeoutS: numberOrText(v.affinityTimeoutS),
    backends,
  };
  const result = validate(ServiceInput, input);
  if (result.ok) return { ok: true, input: result.data };
  const errors: ServiceFormErrors = {};
  for (const issue of result.issues) {
    const [field, line, key] = issue.path.split(".");
    const message = field === "backends" && line !== undefined ? `line ${Number(line) + 1}${key ? ` (${key})` : ""}: ${issue.message}` : issue.message;
    errors[(FIELDS as readonly string[]).includes(field!) ? (field as ServiceField) : "form"] ??= message;
  }
  return { ok: false, errors };
}

/** A conflict the model found, next to the field it is about. */
export function conflictErrors(err: ServiceConflict): ServiceFormErrors {
  return err.conflict === "name" ? { name: err.message } : err.conflict === "frontend" ? { vip: err.message } : { form: err.message };
}

export function ServiceForm(props: { state: ServiceFormState }) {
  const { values: v, errors } = props.state;
  const field = (name: ServiceField, label: string, input: Child, hint?: string) => (
    <Field name={name} label={label} error={errors[name]} hint={hint}>
      {input}
    </Field>
  );
  const text = (name: ServiceField, extra: Record<string, string> = {}) => <input name={name} id={`f-${name}`} value={v[name]} {...extra} {...invalid(name, errors)} />;
  const select = (name: ServiceField, options: readonly string[]) => (
    <select name={name} id={`f-${name}`} {...invalid(name, errors)}>
      {options.map((o) => (
        <option value={o} selected={o === v[name]}>
          {o}
        </option>
      ))}
    </select>
  );
  return (
    <section class="panel" id={SERVICE_FORM_ID}>
      <h3>New service</h3>
      <form class="threshold-form" hx-post={SERVICES_PATH} hx-target={`#${SERVICE_FORM_ID}`} hx-swap="outerHTML" novalidate>
        {errors.form && <p class="field-error">{errors.form}</p>}
        {field("namespace", "Namespace", text("namespace"))}
        {field("name", "Name", text("name"))}
        {field("portName", "Port name", text("portName"), "empty for an unnamed port")}
        {field("vip", "Virtual IP", text("vip", { placeholder: "10.96.0.10" }))}
        {field("port", "Port", text("port", { inputmode: "numeric" }))}
        {field("protocol", "Protocol", select("protocol", LB_PROTOCOLS))}
        {field("affinity", "Affinity", select("affinity", AFFINITIES), "client: a client keeps its backend")}
        {field("affinityTimeoutS", "Affinity timeout (s)", text("affinityTimeoutS", { inputmode: "numeric" }))}
        {field(
          "backends",
          "Backends",
          <textarea name="backends" id="f-backends" rows={4} placeholder={"10.244.1.5:8080\n10.244.2.7:8080 3"} {...invalid("backends", errors)}>
            {v.backends}
          </textarea>,
          "one per line: ip:port, optionally a weight",
        )}
        <div class="field field-actions">
          <button type="submit">Create</button>
        </div>
      </form>
      <p class="note">
        Connections to the virtual IP and port are sent, when the application connects, to one of the active backends in
        proportion to their weights. Without an active backend they are refused at once. Backends' states are changed on the
        service's page.
      </p>
    </section>
  );
}
