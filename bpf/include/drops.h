/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Drops with their reason: the layout shared by bpf/drops.bpf.c and the agent
 * (agent/modules/drops/layout.ts mirrors it). `reason` is the kernel's enum
 * skb_drop_reason value; the agent names it from the running kernel's BTF.
 */
#ifndef EBPF_K8S_DROPS_H
#define EBPF_K8S_DROPS_H

struct drop_key {
	__u32 netns_ino; /* of the device (or, without one, of the socket) */
	__u32 ifindex; /* 0 when the skb had no device */
	__u32 reason;
	/*
	 * The lb service id (control/wire/services.ts ServiceId) whose frontend or
	 * backend the packet was addressed to, else came from (drop_endpoints); 0: none.
	 */
	__u32 service;
};

struct drop_value {
	__u64 packets;
	__u64 bytes;
};

#define DROPS_DEFAULT_ENTRIES 8192
/*
 * drop_endpoints: struct lb_svc_key (lb.h: an IPv4 address, port and protocol,
 * a service's VIP, external IP or backend) -> lb service id; the agent sizes it.
 */
#define DROP_ENDPOINTS_DEFAULT_ENTRIES 65536

#endif
