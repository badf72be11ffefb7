// SPDX-License-Identifier: Apache-2.0
/** A batch's dictionary: each distinct string (address, pod uid, interface name, drop reason) once, by index. */
export interface Dictionary {
  /** The index of `s`, adding it on first use. */
  index(s: string): number;
  readonly strings: string[];
}

export function dictionary(): Dictionary {
  const strings: string[] = [];
  const indexes = new Map<string, number>();
  return {
    strings,
    index(s) {
      let i = indexes.get(s);
      if (i === undefined) {
        i = strings.push(s) - 1;
        indexes.set(s, i);
      }
      return i;
    },
  };
}
