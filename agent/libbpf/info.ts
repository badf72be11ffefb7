// SPDX-License-Identifier: Apache-2.0
/** Kernel object info by fd (bpf_obj_get_info_by_fd) and raw fd helpers. */
import { alloc, libbpf, libc } from "./ffi.ts";
import { checkInt, ENOENT, LibbpfError } from "./errors.ts";
import {
  BPF_LINK_INFO_SIZE,
  BPF_MAP_INFO_SIZE,
  BPF_PROG_INFO_SIZE,
  type LinkInfo,
  type MapInfo,
  type ProgInfo,
  readLinkInfo,
  readMapInfo,
  readProgInfo,
  u32Cell,
} from "./structs.ts";

function infoByFd(fd: number, size: number, what: string): Uint8Array {
  const info = alloc(size);
  const len = u32Cell(size);
  checkInt("bpf_obj_get_info_by_fd", what, () => libbpf().bpf_obj_get_info_by_fd(fd, info, len));
  return info;
}

/** Type, id, sizes and name of the map behind `fd`. */
export function mapInfoByFd(fd: number, what = `map fd ${fd}`): MapInfo {
  return readMapInfo(infoByFd(fd, BPF_MAP_INFO_SIZE, what));
}

/** Type, id, tag and name of the program behind `fd`. */
export function progInfoByFd(fd: number, what = `program fd ${fd}`): ProgInfo {
  return readProgInfo(infoByFd(fd, BPF_PROG_INFO_SIZE, what));
}

/** Info of the loaded program with kernel id `id` (bpf_prog_get_fd_by_id); null when no such program is loaded. */
export function progInfoById(id: number): ProgInfo | null {
  const fd = libbpf().bpf_prog_get_fd_by_id(id);
  if (fd < 0) {
    if (fd === -ENOENT) return null;
    throw new LibbpfError("bpf_prog_get_fd_by_id", `program id ${id}`, -fd);
  }
  try {
    return progInfoByFd(fd, `program id ${id}`);
  } finally {
    closeFd(fd);
  }
}

/** Type, id, program id (and for cgroup links the cgroup id) of the link behind `fd`. */
export function linkInfoByFd(fd: number, what = `link fd ${fd}`): LinkInfo {
  return readLinkInfo(infoByFd(fd, BPF_LINK_INFO_SIZE, what));
}

/** close(2) an fd this library opened; errors are ignored (nothing useful to do). */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

const BPF_STATS_RUN_TIME = 0;

/**
 * Turns on run_cnt/run_time_ns accounting of every program (like
 * kernel.bpf_stats_enabled=1) for as long as the returned handle is open
 * (bpf_enable_stats); the sysctl shows 1 meanwhile.
 */
export function enableBpfStats(): { close(): void } {
  const fd = checkInt("bpf_enable_stats", "BPF_STATS_RUN_TIME", () => libbpf().bpf_enable_stats(BPF_STATS_RUN_TIME));
  let open = true;
  return {
    close() {
      if (open) closeFd(fd);
      open = false;
    },
  };
}
