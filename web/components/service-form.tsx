// SPDX-License-Identifier: Apache-2.0
/**
 * The form that creates or changes a service, and its round trip like the
 * threshold form's: what the browser sends (strings; backends one per line,
 * external IPs in one field) becomes the API's ServiceInput, validated by
 * the same schema, and each issue (a conflict included) is shown next to its
 * field.
 */
import type { Child } from "hono/jsx";
import { validate } from "../../control/http/validation.ts";
import type { ServiceConflict } from "../../control/services/errors.ts";
import { describeRef, type Frontend, frontendKey, type ServiceRef } from "../../control/services/keys.ts";
import {
  AFFINITIES,
  DEFAULT_AFFINITY_TIMEOUT_S,
  LB_PROTOCOLS,
  NODE_PORT_MAX,
  NODE_PORT_MIN,
  SERVICE_TYPES,
  ServiceInput,
} from "../../control/wire/services.ts";
import { Field, invalid } from "./field.tsx";

export const SERVICE_FORM_ID = "service-form";
export const SERVICES_PATH = "/services";

/** `default/web/http`, `default/web/-` for the unnamed port: a port of a service in a URL. */
const refSegments = (s: ServiceRef) =>
  `${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}/${
    s.portName === "" ? "-" : encodeURIComponent(s.portName)
  }`;
/** A service's page. */
export const servicePath = (s: { namespace: string; name: string }) =>
  `${SERVICES_PATH}/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`;
/** Where a port's admin actions post (its change, `/delete`, `/backends/…`). */
export const portPath = (s: ServiceRef) => `${SERVICES_PATH}/${refSegments(s)}`;
/** The services page with the form filled with that port (`?edit=namespace/name/port`). */
export const editPath = (s: ServiceRef) => `${SERVICES_PATH}?edit=${refSegments(s)}`;

const FIELDS = [
  "namespace",
  "name",
  "portName",
  "vip",
  "port",
  "protocol",
  "type",
  "nodePort",
  "externalIPs",
  "affinity",
  "affinityTimeoutS",
  "backends",
] as const;
export type ServiceField = (typeof FIELDS)[number];
export type ServiceFormValues = Record<ServiceField, string>;
/** Messages by field; "form" for one that belongs to no field. */
export type ServiceFormErrors = Partial<Record<ServiceField | "form", string>>;

export interface ServiceFormState {
  /** The port being changed (its namespace, name and port name stay); a new service without. */
  editing?: ServiceRef;
  values: ServiceFormValues;
  errors: ServiceFormErrors;
}

export const BLANK_SERVICE_FORM: ServiceFormState = {
  values: {
    namespace: "default",
    name: "",
    portName: "",
    vip: "",
    port: "",
    protocol: "TCP",
    type: "ClusterIP",
    nodePort: "",
    externalIPs: "",
    affinity: "none",
    affinityTimeoutS: String(DEFAULT_AFFINITY_TIMEOUT_S),
    backends: "",
  },
  errors: {},
};

/** The form filled with a stored service, to change it. */
export function editServiceForm(s: ServiceInput): ServiceFormState {
  const backends = s.backends.map((b) => `${b.ip}:${b.port}${b.weight === 1 ? "" : ` ${b.weight}`}`);
  const values: ServiceFormValues = {
    namespace: s.namespace,
    name: s.name,
    portName: s.portName,
    vip: s.vip,
    port: String(s.port),
    protocol: s.protocol,
    type: s.type,
    nodePort: s.nodePort === undefined ? "" : String(s.nodePort),
    externalIPs: s.externalIPs.join(", "),
    affinity: s.affinity,
    affinityTimeoutS: String(s.affinityTimeoutS),
    backends: backends.join("\n"),
  };
  return { editing: { namespace: s.namespace, name: s.name, portName: s.portName }, values, errors: {} };
}

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
/** External IPs as typed: separated by commas or white space. */
const splitList = (v: string) => v.split(/[\s,]+/).filter((a) => a !== "");

export function parseServiceForm(
  v: ServiceFormValues,
): { ok: true; input: ServiceInput } | { ok: false; errors: ServiceFormErrors } {
  const lines = v.backends.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const bad = lines.findIndex((l) => !BACKEND_LINE.test(l));
  if (bad >= 0) {
    return { ok: false, errors: { backends: `line ${bad + 1}: write ip:port, optionally followed by a weight` } };
  }
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
    type: v.type || undefined,
    nodePort: numberOrText(v.nodePort),
    externalIPs: splitList(v.externalIPs),
    affinity: v.affinity || undefined,
    affinityTimeoutS: numberOrText(v.affinityTimeoutS),
    backends,
  };
  const result = validate(ServiceInput, input);
  if (result.ok) return { ok: true, input: result.data };
  const errors: ServiceFormErrors = {};
  for (const issue of result.issues) {
    const [field, item, key] = issue.path.split(".");
    const message = item === undefined
      ? issue.message
      : field === "backends"
      ? `line ${Number(item) + 1}${key ? ` (${key})` : ""}: ${issue.message}`
      : field === "externalIPs"
      ? `${input.externalIPs[Number(item)]}: ${issue.message}`
      : issue.message;
    errors[(FIELDS as readonly string[]).includes(field!) ? (field as ServiceField) : "form"] ??= message;
  }
  return { ok: false, errors };
}

/** A conflict the model found, next to the field it is about (`input`: what was being written). */
export function conflictErrors(err: ServiceConflict, input: ServiceInput): ServiceFormErrors {
  if (err.conflict === "name") return { name: err.message };
  if (err.conflict !== "frontend") return { form: err.message };
  return { [takenFrontend(err.frontend, input)]: err.message };
}

/**
 * Which of the service's fields holds the frontend another service has
 * (keyed as control/services/apply.ts keys them: the VIP, an external IP at
 * the port, or the NodePort on any node address, "*").
 */
function takenFrontend(taken: string | undefined, s: ServiceInput): ServiceField | "form" {
  const named = (f: Frontend) => taken === frontendKey(f);
  const at = (vip: string, port: number): Frontend => ({ vip, port, protocol: s.protocol });
  if (named(at(s.vip, s.port))) return "vip";
  if (s.externalIPs.some((ip) => named(at(ip, s.port)))) return "externalIPs";
  if (s.nodePort !== undefined && named(at("*", s.nodePort))) return "nodePort";
  return "form";
}

export function ServiceForm(props: { state: ServiceFormState }) {
  const { editing, values: v, errors } = props.state;
  const field = (name: ServiceField, label: string, input: Child, hint?: string) => (
    <Field name={name} label={label} error={errors[name]} hint={hint}>
      {input}
    </Field>
  );
  const text = (name: ServiceField, extra: Record<string, string | boolean> = {}) => (
    <input name={name} id={`f-${name}`} value={v[name]} {...extra} {...invalid(name, errors)} />
  );
  /** Changing a port keeps its name: those fields are shown, not changed. */
  const naming: Record<string, boolean> = editing === undefined ? {} : { readonly: true };
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
      <h3>{editing === undefined ? "New service" : `Change ${describeRef(editing)}`}</h3>
      <form
        class="threshold-form"
        hx-post={editing === undefined ? SERVICES_PATH : portPath(editing)}
        hx-target={`#${SERVICE_FORM_ID}`}
        hx-swap="outerHTML"
        novalidate
      >
        {errors.form && <p class="field-error">{errors.form}</p>}
        {field("namespace", "Namespace", text("namespace", naming))}
        {field("name", "Name", text("name", naming))}
        {field("portName", "Port name", text("portName", naming), "empty for an unnamed port")}
        {field("vip", "Virtual IP", text("vip", { placeholder: "10.96.0.10" }))}
        {field("port", "Port", text("port", { inputmode: "numeric" }))}
        {field("protocol", "Protocol", select("protocol", LB_PROTOCOLS))}
        {field(
          "type",
          "Type",
          select("type", SERVICE_TYPES),
          "NodePort, LoadBalancer: also on every node's gateway addresses",
        )}
        {field(
          "nodePort",
          "NodePort",
          text("nodePort", { inputmode: "numeric", placeholder: String(NODE_PORT_MIN) }),
          `${NODE_PORT_MIN}–${NODE_PORT_MAX}; only for NodePort and LoadBalancer`,
        )}
        {field(
          "externalIPs",
          "External IPs",
          text("externalIPs", { placeholder: "203.0.113.7, 203.0.113.8" }),
          "IPv4 addresses, separated by commas or spaces; reached at the port",
        )}
        {field("affinity", "Affinity", select("affinity", AFFINITIES), "client: a client keeps its backend")}
        {field("affinityTimeoutS", "Affinity timeout (s)", text("affinityTimeoutS", { inputmode: "numeric" }))}
        {field(
          "backends",
          "Backends",
          <textarea
            name="backends"
            id="f-backends"
            rows={4}
            placeholder={"10.244.1.5:8080\n10.244.2.7:8080 3"}
            {...invalid("backends", errors)}
          >
            {v.backends}
          </textarea>,
          "one per line: ip:port, optionally a weight",
        )}
        <div class="field field-actions">
          <button type="submit">{editing === undefined ? "Create" : "Save"}</button>
          {editing !== undefined && <a href={servicePath(editing)}>cancel</a>}
        </div>
      </form>
      <p class="note">
        Connections to the virtual IP and port are sent, when the application connects, to one of the active backends in
        proportion to their weights. Without an active backend they are refused at once. Backends' states are changed on
        the service's page{editing !== undefined && "; a backend kept here keeps its state, a new one starts active"}.
        From outside the cluster, packets to an external IP at the port, or (NodePort, LoadBalancer) to a node's gateway
        address at the NodePort, go through the gateway to the same backends.
      </p>
    </section>
  );
}
