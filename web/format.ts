// SPDX-License-Identifier: Apache-2.0
/**
 * Human units for the pages. Bytes use binary prefixes (KiB = 1024 B), as
 * interface counters are usually read; packets use decimal ones (kpps).
 * A missing rate (first sample of a boot) shows as an em dash, not as zero.
 */

export const MISSING = "—";

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const PACKET_RATE_UNITS = ["pps", "kpps", "Mpps", "Gpps"];

/** 1536 → "1.50 KiB"; integers below the first step stay exact ("512 B"). */
export function formatBytes(bytes: number): string {
  return scaled(bytes, 1024, BYTE_UNITS);
}

/** Bytes per second: "12.3 MiB/s". */
export function formatByteRate(bytesPerSec: number | null): string {
  return bytesPerSec === null ? MISSING : `${formatBytes(bytesPerSec)}/s`;
}

/** Packets per second: "1.20 kpps". */
export function formatPacketRate(packetsPerSec: number | null): string {
  return packetsPerSec === null ? MISSING : scaled(packetsPerSec, 1000, PACKET_RATE_UNITS);
}

/** Exact count with thousands separators: "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A count and its noun: "1 pod", "2,048 pods", "3 vanished" when the noun does not change. */
export function formatCountOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : plural}`;
}

/** Seconds since something happened: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(seconds: number): string {
  return seconds < 1 ? "just now" : `${formatSpan(seconds)} ago`;
}

/** A length of time in its largest whole unit, rounded down: "42 s", "5 min", "3 h", "2 d". */
export function formatSpan(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

/** Picks the largest unit that keeps the value ≥ 1 and shows three significant digits. */
function scaled(value: number, step: number, units: readonly string[]): string {
  let i = 0;
  let v = value;
  while (Math.abs(v) >= step && i < units.length - 1) {
    v /= step;
    i++;
  }
  return `${i === 0 && Number.isInteger(v) ? String(v) : threeDigits(v)} ${units[i]}`;
}

function threeDigits(v: number): string {
  const abs = Math.abs(v);
  return v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

const DURATION_UNITS = ["ns", "µs", "ms", "s"];

/** Nanoseconds, as bpf_stats reports run time: "85 ns", "1.23 µs", "4.50 ms", "12.0 s". */
export function formatNanos(ns: number): string {
  return scaled(ns, 1000, DURATION_UNITS);
}

/** A share of a whole: "0 %", "0.4 %", "37 %", "100 %". */
export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return MISSING;
  const pct = (100 * part) / whole;
  return `${pct === 0 || pct >= 10 ? Math.round(pct) : pct.toFixed(1)} %`;
}
