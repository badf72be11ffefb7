/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Interface counters: the layout shared by bpf/ifstats.bpf.c and the agent.
 * The agent mirrors these structs in agent/modules/ifstats/layout.ts; a test
 * compares that mirror with the BTF of the compiled object, so a change here
 * that is not made there fails the suite instead of silently misreading maps.
 */
#ifndef EBPF_K8S_IFSTATS_H
#define EBPF_K8S_IFSTATS_H

/* One value per interface and per CPU; the agent sums the CPUs. */
struct if_counters {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 drops; /* skbs freed by kfree_skb while on this device */
};

/* Written by the agent before it attaches anything. */
struct ifstats_config {
	__u32 netns_ino; /* only drops in this network namespace are counted */
	__u32 pad;
};

/* Array slots: interfaces with ifindex below this go to the array, whose
 * lookups the verifier inlines; larger ifindexes fall back to a hash. */
#define IFSTATS_ARRAY_SLOTS 4096
#define IFSTATS_HASH_ENTRIES 1024

#endif
