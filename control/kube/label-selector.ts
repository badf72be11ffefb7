// SPDX-License-Identifier: Apache-2.0
/**
 * Kubernetes label selectors (the `labelSelector` of a list or watch): a
 * comma-separated list of requirements, all of which must hold:
 *   key  !key  key=value  key==value  key!=value  key in (a,b)  key notin (a,b)
 * Parsed here so a bad one is refused when the control plane starts, with
 * the requirement named, rather than by the API server on every relist; and
 * matched here too, so what is kept does not depend on the API server
 * filtering (the selector is still sent, so it does not send the rest).
 */

export type Requirement =
  | { key: string; op: "exists" | "!exists" }
  | { key: string; op: "in" | "notin"; values: string[] };

export interface LabelSelector {
  requirements: Requirement[];
  /** As written, trimmed: what is sent to the API server. */
  text: string;
}

/** A label key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
const NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const KEY = new RegExp(`^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?${NAME}$`);
const VALUE = new RegExp(`^(?:${NAME})?$`);

/** Splits on the commas outside parentheses. */
function split(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")") depth--;
    else if (text[i] === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function requirement(part: string): Requirement {
  const bad = (why: string) => new Error(`"${part}": ${why}`);
  const key = (k: string) => {
    if (!KEY.test(k)) throw bad(`"${k}" is not a label key`);
    return k;
  };
  const value = (v: string) => {
    if (!VALUE.test(v)) throw bad(`"${v}" is not a label value (at most 63 letters, digits, '-', '_', '.')`);
    return v;
  };
  if (part === "") throw bad("an empty requirement");
  if (part.startsWith("!")) return { key: key(part.slice(1).trim()), op: "!exists" };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (set) {
    const values = set[3]!.split(",").map((v) => value(v.trim()));
    return { key: key(set[1]!), op: set[2] as "in" | "notin", values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (eq) return { key: key(eq[1]!), op: eq[2] === "!=" ? "notin" : "in", values: [value(eq[3]!)] };
  if (/\s/.test(part) || /[=!()]/.test(part)) {
    throw bad("not key, !key, key=value, key!=value, key in (…) or key notin (…)");
  }
  return { key: key(part), op: "exists" };
}

/** Parses a selector; "" selects everything. Throws an Error naming the requirement that is wrong. */
export function parseLabelSelector(text: string): LabelSelector {
  const trimmed = text.trim();
  return { text: trimmed, requirements: trimmed === "" ? [] : split(trimmed).map(requirement) };
}

/** Whether labels satisfy every requirement (as the API server decides: notin and != hold for a missing label). */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  return selector.requirements.every((r) => {
    const v = labels?.[r.key];
    switch (r.op) {
      case "exists":
        return v !== undefined;
      case "!exists":
        return v === undefined;
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
    }
  });
}
