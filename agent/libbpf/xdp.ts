// SPDX-License-Identifier: Apache-2.0
/**
 * XDP attachment through netlink (bpf_xdp_attach / bpf_xdp_detach, libbpf.h).
 *
 * Attach uses XDP_FLAGS_UPDATE_IF_NOEXIST unless `replace` is set, so an XDP
 * program someone else attached is never replaced by accident. Detach passes
 * our program as old_prog_fd (libbpf then adds XDP_FLAGS_REPLACE), so only
 * our own program is ever removed.
 */
import { libbpf } from "./ffi.ts";
import { checkInt, EEXIST, ENODEV, ENOENT, LibbpfError } from "./errors.ts";
import { closeFd, progInfoByFd } from "./info.ts";
import { netnsExists, withNetns } from "./netns.ts";
import { type Attachment, registerAttachment, unregisterAttachment } from "./registry.ts";
import { type AttachableProgram, type IfTarget, resolveTarget } from "./tc.ts";
import {
  readU32,
  u32Cell,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_HW_MODE,
  XDP_FLAGS_SKB_MODE,
  XDP_FLAGS_UPDATE_IF_NOEXIST,
  xdpAttachOpts,
} from "./structs.ts";

/** "auto": the kernel picks native (driver) mode when the driver has it, else generic (skb). */
export type XdpMode = "auto" | "native" | "skb" | "hw";

export interface XdpAttachOptions {
  mode?: XdpMode;
  /** Replace a program already attached in that mode (default: fail with EBUSY/EEXIST). */
  replace?: boolean;
}

function modeFlags(mode: XdpMode): number {
  switch (mode) {
    case "native":
      return XDP_FLAGS_DRV_MODE;
    case "skb":
      return XDP_FLAGS_SKB_MODE;
    case "hw":
      return XDP_FLAGS_HW_MODE;
    default:
      return 0;
  }
}

/** An XDP program this library attached. */
export class XdpAttachment implements Attachment {
  readonly kind = "xdp" as const;
  readonly program: string;
  readonly description: string;
  readonly owner: object;
  readonly ifindex: number;
  readonly netns: string | undefined;
  readonly mode: XdpMode;
  #attached = true;
  readonly #prog: AttachableProgram;
  readonly #label: string;

  /** @internal */
  constructor(prog: AttachableProgram, ifindex: number, label: string, netns: string | undefined, mode: XdpMode) {
    this.#prog = prog;
    this.program = prog.name;
    this.owner = prog.owner;
    this.ifindex = ifindex;
    this.netns = netns;
    this.mode = mode;
    this.#label = label;
    this.description = `xdp ${prog.name} on ${label} (${mode})`;
  }

  get attached(): boolean {
    return this.#attached;
  }

  /** Removes our program (only if it is still the one attached). A device or namespace already gone counts as detached. */
  detach(): void {
    if (!this.#attached) return;
    if (netnsExists(this.netns)) {
      withNetns(this.netns, () => {
        const ret = libbpf().bpf_xdp_detach(this.ifindex, modeFlags(this.mode), xdpAttachOpts(this.#prog.fd));
        if (ret < 0 && ret !== -ENODEV && ret !== -ENOENT) {
          throw new LibbpfError("bpf_xdp_detach", `${this.program} on ${this.#label}`, -ret);
        }
      });
    }
    this.#attached = false;
    unregisterAttachment(this);
  }
}

/** Attaches an XDP program to an interface. */
export function attachXdp(prog: AttachableProgram, target: IfTarget, options: XdpAttachOptions = {}): XdpAttachment {
  const mode = options.mode ?? "auto";
  const what = `${prog.name} on %s (${mode})`;
  const { ifindex, label } = resolveTarget(target, "bpf_xdp_attach", what);
  const flags = modeFlags(mode) | (options.replace ? 0 : XDP_FLAGS_UPDATE_IF_NOEXIST);
  const progFd = prog.fd;
  withNetns(
    target.netns,
    () =>
      checkInt(
        "bpf_xdp_attach",
        what.replace("%s", label),
        () => libbpf().bpf_xdp_attach(ifindex, progFd, flags, xdpAttachOpts()),
      ),
  );
  const att = new XdpAttachment(prog, ifindex, label, target.netns, mode);
  registerAttachment(att);
  return att;
}

/** The id of the XDP program attached to an interface (0 if none); `mode` as for attach. */
export function queryXdpProgId(target: IfTarget, mode: XdpMode = "auto"): number {
  const { ifindex, label } = resolveTarget(target, "bpf_xdp_query_id", "%s");
  return withNetns(target.netns, () => {
    const id = u32Cell(0);
    checkInt("bpf_xdp_query_id", label, () => libbpf().bpf_xdp_query_id(ifindex, modeFlags(mode), id));
    return readU32(id);
  });
}

/**
 * Removes the XDP program attached to an interface in one mode when `isOurs(its name)`: one an earlier
 * process left. Detached only if it is still that program (its fd as old_prog_fd), so a program someone
 * else attached is never removed, not even one that replaced ours meanwhile. Returns whether it removed one.
 */
export function removeXdpProgram(
  target: IfTarget,
  mode: "native" | "skb",
  isOurs: (progName: string) => boolean,
): boolean {
  const id = queryXdpProgId(target, mode);
  if (!id) return false;
  const fd = libbpf().bpf_prog_get_fd_by_id(id);
  if (fd === -ENOENT) return false; // detached and freed meanwhile
  if (fd < 0) throw new LibbpfError("bpf_prog_get_fd_by_id", `program id ${id}`, -fd);
  try {
    const name = progInfoByFd(fd, `program id ${id}`).name;
    if (!isOurs(name)) return false;
    const { ifindex, label } = resolveTarget(target, "bpf_xdp_detach", "%s");
    return withNetns(target.netns, () => {
      const ret = libbpf().bpf_xdp_detach(ifindex, modeFlags(mode), xdpAttachOpts(fd));
      if (ret < 0 && ret !== -ENODEV && ret !== -ENOENT && ret !== -EEXIST) {
        throw new LibbpfError("bpf_xdp_detach", `${name} on ${label} (${mode})`, -ret);
      }
      return ret === 0;
    });
  } finally {
    closeFd(fd);
  }
}
