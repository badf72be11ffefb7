// SPDX-License-Identifier: GPL-2.0
/*
 * Drops from skb:kfree_skb, with the kernel's reason, per network namespace
 * and device: enough to charge each drop to a pod (its netns, or its host
 * veth) and an interface. Per-CPU values, so no atomics on the drop path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "drops.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DROPS_DEFAULT_ENTRIES);
	__type(key, struct drop_key);
	__type(value, struct drop_value);
} drops SEC(".maps");

/* Drops that did not fit the table: reported, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops_overflow SEC(".maps");

SEC("tracepoint/skb/kfree_skb")
int drops_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct drop_key key = {};
	struct drop_value *v;
	__u32 reason = ctx->reason;

	/* Not drops: kernels before consume_skb got its own reason path report these here. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return 0;

	key.reason = reason;
	if (dev) {
		key.ifindex = BPF_CORE_READ(dev, ifindex);
		key.netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	} else {
		struct sock *sk = BPF_CORE_READ(skb, sk);

		if (sk)
			key.netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	}
	v = bpf_map_lookup_elem(&drops, &key);
	if (!v) {
		struct drop_value zero = {};

		if (bpf_map_update_elem(&drops, &key, &zero, BPF_NOEXIST) && bpf_map_lookup_elem(&drops, &key) == NULL) {
			__u32 slot = 0;
			__u64 *o = bpf_map_lookup_elem(&drops_overflow, &slot);

			if (o)
				(*o)++;
			return 0;
		}
		v = bpf_map_lookup_elem(&drops, &key);
		if (!v)
			return 0;
	}
	v->packets++;
	v->bytes += BPF_CORE_READ(skb, len);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
