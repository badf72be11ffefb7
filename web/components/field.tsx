// SPDX-License-Identifier: Apache-2.0
/** A form field with its label above and its error (or hint) below, as the admin forms show them. */
import type { Child } from "hono/jsx";

/** The attributes that tie an invalid input to its message. */
export function invalid(name: string, errors: Partial<Record<string, string>>) {
  return errors[name] ? { "aria-invalid": "true", "aria-describedby": `f-${name}-error` } : {};
}

/** The input inside (`children`) has the id `f-<name>`. */
export function Field(props: { name: string; label: string; error?: string; hint?: string; children: Child }) {
  return (
    <div class={props.error ? "field field-invalid" : "field"}>
      <label for={`f-${props.name}`}>{props.label}</label>
      {props.children}
      {props.error && (
        <span class="field-error" id={`f-${props.name}-error`}>
          {props.error}
        </span>
      )}
      {props.hint && !props.error && <span class="field-hint">{props.hint}</span>}
    </div>
  );
}
