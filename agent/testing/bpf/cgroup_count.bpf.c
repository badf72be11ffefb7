/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Test-only: counts the packets sockets of a cgroup send, lets all pass. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cg_counts SEC(".maps"); /* [0] packets, [1] bytes */

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	__u32 k0 = 0, k1 = 1;
	__u64 *p = bpf_map_lookup_elem(&cg_counts, &k0);
	__u64 *b = bpf_map_lookup_elem(&cg_counts, &k1);

	if (p)
		__sync_fetch_and_add(p, 1);
	if (b)
		__sync_fetch_and_add(b, skb->len);
	return 1; /* allow */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
