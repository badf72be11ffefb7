/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Per-interface counters used by more than one program (ifstats, flows):
 * a per-CPU array indexed by ifindex (lookups inlined by the verifier) with
 * a per-CPU hash for the rare ifindex beyond the array. Include once per
 * object, after vmlinux.h and bpf_helpers.h.
 */
#ifndef EBPF_K8S_IF_COUNTERS_BPF_H
#define EBPF_K8S_IF_COUNTERS_BPF_H
#include "ifstats.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IFSTATS_ARRAY_SLOTS);
	__type(key, __u32);
	__type(value, struct if_counters);
} ifstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, IFSTATS_HASH_ENTRIES);
	__type(key, __u32);
	__type(value, struct if_counters);
} ifstats_big SEC(".maps");

static __always_inline struct if_counters *counters_of(__u32 ifindex, bool create)
{
	struct if_counters *c;

	if (ifindex < IFSTATS_ARRAY_SLOTS)
		return bpf_map_lookup_elem(&ifstats, &ifindex);
	c = bpf_map_lookup_elem(&ifstats_big, &ifindex);
	if (c || !create)
		return c;
	struct if_counters zero = {};
	bpf_map_update_elem(&ifstats_big, &ifindex, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ifstats_big, &ifindex);
}

static __always_inline void count_rx(__u32 ifindex, __u32 len)
{
	struct if_counters *c = counters_of(ifindex, true);

	if (c) {
		c->rx_packets++;
		c->rx_bytes += len;
	}
}

static __always_inline void count_tx(__u32 ifindex, __u32 len)
{
	struct if_counters *c = counters_of(ifindex, true);

	if (c) {
		c->tx_packets++;
		c->tx_bytes += len;
	}
}
#endif
