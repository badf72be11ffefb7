/** Kernel object info by fd (bpf_obj_get_info_by_fd) and raw fd helpers. */
import { alloc, libbpf, libc } from "./ffi.ts";
import { checkInt } from "./errors.ts";
import {
  BPF_LINK_INFO_SIZE,
  BPF_MAP_INFO_SIZE,
  BPF_PROG_INFO_SIZE,
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

/** Type, id and program id of the link behind `fd`. */
export function linkInfoByFd(fd: number, what = `link fd ${fd}`): { type: number; id: number; progId: number } {
  return readLinkInfo(infoByFd(fd, BPF_LINK_INFO_SIZE, what));
}

/** close(2) an fd this library opened; errors are ignored (nothing useful to do). */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}
