// SPDX-License-Identifier: Apache-2.0
/** How benchmarks print: one line per measurement and ratios against a baseline from the same run. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function row(name: string, value: string, note = ""): void {
  console.log(`${name.padEnd(52)} ${value.padStart(14)}  ${note}`);
}

export function verdict(ratio: number, target: number, better: "lower" | "higher"): string {
  const ok = better === "lower" ? ratio <= target : ratio >= target;
  return `${ok ? "meets" : "MISSES"} target ${better === "lower" ? "<=" : ">="} ${target}`;
}
