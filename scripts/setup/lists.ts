// SPDX-License-Identifier: Apache-2.0
/**
 * The package lists of scripts/setup/ (the format lib.sh reads): one "<command or absolute path>
 * <Debian package>" a line, '#' starts a comment.
 */
import { readFileSync } from "node:fs";
import { REPO } from "../procs.ts";

export const LISTS = ["agent-node", "control", "bpf-build", "dev"] as const;
export type ListName = typeof LISTS[number];

export interface ListEntry {
  what: string;
  pkg: string;
}

export function readList(name: ListName): ListEntry[] {
  const text = readFileSync(`${REPO}scripts/setup/${name}.list`, "utf8");
  return text.split("\n").map((line) => line.replace(/#.*/, "").trim()).filter(Boolean).map((line) => {
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new Error(`scripts/setup/${name}.list: not "<command or path> <package>": ${line}`);
    return { what: fields[0], pkg: fields[1] };
  });
}

/** The packages of a list, unique, in order (as lib.sh's list_packages). */
export const listPackages = (name: ListName): string[] => [...new Set(readList(name).map((e) => e.pkg))];
