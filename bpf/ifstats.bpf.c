/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Per-interface RX/TX counters from tc (clsact ingress and egress) and drops
 * from the skb:kfree_skb tracepoint. Counters are per-CPU so the hot path
 * takes no lock and no atomic; the agent sums the CPUs on its timer.
 *
 * Bytes are skb->len at the tc hook, which includes the L2 header, the same
 * quantity veth and most drivers add to the interface statistics shown by
 * `ip -s link`, so the two agree for the same window.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "if_counters.bpf.h"

#define TC_ACT_UNSPEC (-1)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ifstats_config);
} ifstats_cfg SEC(".maps");

SEC("tc")
int ifstats_ingress(struct __sk_buff *skb)
{
	count_rx(skb->ifindex, skb->len);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int ifstats_egress(struct __sk_buff *skb)
{
	count_tx(skb->ifindex, skb->len);
	return TC_ACT_UNSPEC;
}

/*
 * Drops: every kfree_skb is a drop (consume_skb is the other tracepoint).
 * ifindex numbers are per network namespace, so only drops in the agent's
 * namespace count, and only for devices that already have counters.
 */
SEC("tracepoint/skb/kfree_skb")
int ifstats_drop(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->skbaddr;
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u32 key = 0;
	struct ifstats_config *cfg;
	struct if_counters *c;

	if (!dev)
		return 0;
	cfg = bpf_map_lookup_elem(&ifstats_cfg, &key);
	if (!cfg || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg->netns_ino)
		return 0;
	c = counters_of(BPF_CORE_READ(dev, ifindex), false);
	if (c)
		c->drops++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
