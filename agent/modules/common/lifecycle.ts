// SPDX-License-Identifier: Apache-2.0
/** Steps every module's start and stop share. */
import { type BpfObject, makeDirs, pathExists, removeEmptyDir, removeFile } from "../../libbpf/mod.ts";

/**
 * Runs `setup` (load, attach) on a freshly opened object; on failure leaves
 * nothing behind, neither ours nor what a predecessor left (`clean`), and
 * throws the first error (with those of the cleanup, if any).
 */
export function setUpOrLeaveNothing<T>(obj: BpfObject, setup: () => T, clean: () => void): T {
  try {
    return setup();
  } catch (e) {
    const cleanup: unknown[] = [];
    for (const step of [() => obj.close(), clean]) {
      try {
        step();
      } catch (c) {
        cleanup.push(c);
      }
    }
    throw cleanup.length ? new AggregateError([e, ...cleanup], `${(e as Error).message} (and cleaning up failed)`) : e;
  }
}

/** A module's pins in bpffs: <bpfPinDir>/<node>/<module>/<name>. */
export class PinDir {
  constructor(readonly dir: string, readonly names: readonly string[]) {}

  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  has(name: string): boolean {
    return pathExists(this.path(name));
  }

  /** Maps of the object are reused from their pins when there, else pinned there at load. */
  pinMaps(obj: BpfObject, maps: readonly string[]): void {
    makeDirs(this.dir);
    for (const m of maps) obj.map(m).setPinPath(this.path(m));
  }

  /** Removes every pin and the directory itself once empty. */
  removeAll(): void {
    for (const n of this.names) removeFile(this.path(n));
    removeEmptyDir(this.dir);
  }
}

/** Closes a module's object (detaching what is still attached, throwing if that failed) and removes its pins regardless. */
export function closeAndUnpin(obj: BpfObject, pins: PinDir): void {
  try {
    obj.close();
  } finally {
    pins.removeAll();
  }
}
