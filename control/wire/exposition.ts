// SPDX-License-Identifier: Apache-2.0
/**
 * The Prometheus text exposition format (version 0.0.4), written by hand:
 * families with HELP and TYPE, samples with escaped label values. Pure, no
 * runtime APIs, so both the control plane and the agent (Deno) use it.
 */

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Record<string, string>;

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  /** A histogram's samples carry their suffix (`_bucket` with an `le` label, `_sum`, `_count`). */
  samples: { suffix?: "_bucket" | "_sum" | "_count"; labels?: Labels; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** The families as one exposition document (families without samples still say HELP and TYPE). */
export function exposition(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`bad metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      for (const [k] of labels) if (!LABEL.test(k)) throw new Error(`bad label name ${k} on ${f.name}`);
      const text = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
      out.push(`${f.name}${s.suffix ?? ""}${text} ${formatValue(s.value)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** The interface counters both sides expose, as `<prefix>_<suffix>_total{node,interface}`: wire field, name suffix, help. */
export const INTERFACE_COUNTERS = [
  ["rxPackets", "rx_packets", "Packets received"],
  ["rxBytes", "rx_bytes", "Bytes received"],
  ["txPackets", "tx_packets", "Packets sent"],
  ["txBytes", "tx_bytes", "Bytes sent"],
  ["drops", "dropped_packets", "Packets dropped (kfree_skb)"],
] as const;
