/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Test-only packet loss at tc (this kernel has no sch_netem): drops about
 * LOSS_PERCENT of the packets, at random, and counts what it dropped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define LOSS_PERCENT 20
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lossy_dropped SEC(".maps");

SEC("tc")
int lossy(struct __sk_buff *skb)
{
	__u32 slot = 0;
	__u64 *n;

	if (bpf_get_prandom_u32() % 100 >= LOSS_PERCENT)
		return TC_ACT_UNSPEC;
	n = bpf_map_lookup_elem(&lossy_dropped, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
