// SPDX-License-Identifier: Apache-2.0
/**
 * Typed wrappers over libbpf.so.1 (Deno.dlopen).
 *
 * Deno flags: `--allow-ffi` is all this module needs (checked on Deno 2.9:
 * Deno.dlopen and Deno.UnsafeCallback need no `--unstable-ffi` any more;
 * libbpf reads object files through libc, outside Deno's permission
 * checks). `--allow-env` lets it honour EBPF_K8S_LIBBPF (library path) and
 * EBPF_K8S_LIBBPF_DEBUG=1 (print libbpf's messages); without it the
 * defaults apply.
 *
 * Threading: every call is synchronous on the calling isolate's thread;
 * libbpf's print callback runs there too. libbpf's print hook is
 * process-wide, so two isolates (Deno workers, or `deno test --parallel`)
 * must not use libbpf at the same time.
 */
export { BpfObject, type CloseOptions, type OpenOptions } from "./object.ts";
export { BpfProgram, ProgType } from "./program.ts";
export {
  type BatchResult,
  BpfMap,
  isPerCpuMapType,
  MapHandle,
  MapType,
  mapTypeName,
  openPinnedMap,
  perCpuSlices,
  perCpuValue,
  possibleCpus,
  roundUp8,
  sumU64Fields,
  u32Key,
  UpdateFlags,
} from "./map.ts";
export {
  attachTc,
  destroyClsact,
  type IfTarget,
  queryTc,
  removeTcFilter,
  TcAttachment,
  type TcAttachOptions,
  type TcDirection,
  tcFilterProgram,
} from "./tc.ts";
export {
  attachXdp,
  queryXdpProgId,
  removeXdpProgram,
  XdpAttachment,
  type XdpAttachOptions,
  type XdpMode,
} from "./xdp.ts";
export { NETDEV_XDP_ACT, xdpFeatures } from "./xdp_features.ts";
export { attachAuto, attachCgroup, attachTracepoint, LinkAttachment, openPinnedLink } from "./links.ts";
export { type TestRunOptions, type TestRunResult } from "./test_run.ts";
export { type Attachment, type AttachmentKind, detachAll, type DetachReport, listAttachments } from "./registry.ts";
export { ifindexOf, netnsExists, netnsPath, withNetns } from "./netns.ts";
export { errnoName, errnoText, LibbpfError, LibbpfUsageError, VerifierError } from "./errors.ts";
export { type LibbpfMessage, recentLibbpfMessages, setLibbpfDebug } from "./log.ts";
export { LIBBPF_PATH, libbpfUnavailable, LibbpfUnavailableError } from "./ffi.ts";
export { enableBpfStats, mapInfoByFd, progInfoByFd, progInfoById } from "./info.ts";
export { probeMapType, probeProgType, progTypeName } from "./probe.ts";
export {
  makeDirs,
  pathExists,
  readKernelBytes,
  readKernelFile,
  releaseFreedMemory,
  removeEmptyDir,
  removeFile,
} from "./fs.ts";
