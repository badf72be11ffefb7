// SPDX-License-Identifier: Apache-2.0
/** A strict reader of the Prometheus text format for tests: every line must be HELP, TYPE or a sample of a declared family. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (m) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metric line: ${line}`);
    const [, name, labelText, value] = m;
    // A histogram's samples are its name plus _bucket, _sum or _count.
    const family = /^(.*)(_bucket|_sum|_count)$/.exec(name!)?.[1];
    const declared = (f: string | undefined) => f !== undefined && types.has(f) && helps.has(f);
    if (!declared(name) && !(declared(family) && types.get(family!) === "histogram")) {
      throw new Error(`sample of an undeclared family: ${line}`);
    }
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
    }
    samples.push({ name: name!, labels, value: Number(value) });
  }
  return { samples, types };
}

/** The value of one sample whose labels include `labels`; throws when there is not exactly one. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}
