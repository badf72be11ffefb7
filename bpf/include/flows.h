/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flow table: the layout shared by bpf/flows.bpf.c and the agent
 * (agent/modules/flows/layout.ts mirrors it; a test checks the mirror
 * against the object's BTF).
 */
#ifndef EBPF_K8S_FLOWS_H
#define EBPF_K8S_FLOWS_H

/* Which hook saw the packet: on a pod's host-side veth, ingress is what the
 * pod sent and egress is what it received. */
#define FLOW_DIR_INGRESS 0
#define FLOW_DIR_EGRESS 1

/* Addresses are 16 bytes: IPv6 as is, IPv4 as ::ffff:a.b.c.d. */
struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host byte order; 0 for protocols without ports */
	__u16 dport;
	__u8 proto; /* IPPROTO_* */
	__u8 dir; /* FLOW_DIR_* */
	__u16 pad;
	__u32 ifindex;
};

/*
 * No last-seen time: a clock read per packet cost about as much as the rest
 * of the program (bench: agent/bench/flows_program.ts). The agent sees when
 * an entry's counters last moved, at its interval's resolution, and removes
 * entries idle for long; first_seen_ns, taken once at insert, tells an entry
 * evicted and made again from the one the agent saw before.
 */
struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen_ns; /* bpf_ktime_get_ns() at insert */
	/* OR of the TCP flags seen (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128);
	 * 64 bits wide because BPF atomics (fetch-or) work on 32 or 64 bits only. */
	__u64 tcp_flags;
};

/* Set in tcp_flags when a SYN without ACK was seen: this direction is client to server. */
#define FLOW_FLAG_SYN_ONLY 0x100

/* Slots of the per-CPU flow_stats array. */
#define FLOW_STAT_CREATED 0 /* entries this program inserted */
#define FLOW_STAT_CREATE_FAILED 1 /* inserts that failed: packets counted per pod but not per flow */
#define FLOW_STAT_NON_IP 2 /* packets that were neither IPv4 nor IPv6 */
#define FLOW_STAT_SLOTS 4

/* Default size; the agent sets the real one (--flow-table-size) before load. */
#define FLOWS_DEFAULT_ENTRIES 65536

#endif
