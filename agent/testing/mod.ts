// SPDX-License-Identifier: Apache-2.0
/** Helpers for kernel tests (network namespaces, traffic, preconditions, eBPF test objects). */
export * from "./kernel.ts";
export * from "./netns.ts";
export * from "./bpf.ts";
export * from "./packets.ts";
export * from "./run.ts";
export * from "./assert.ts";
export * from "./temp.ts";
export * from "./pod_net.ts";
export * from "./pod_traffic.ts";
