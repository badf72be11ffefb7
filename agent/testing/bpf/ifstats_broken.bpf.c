/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Test-only: the real ifstats object (same maps, programs and pins), except
 * that the verifier must reject ifstats_ingress: it reads packet data
 * without checking data_end. For the agent's "module failed to load" path.
 * The real ingress program is kept under another name. */
#define ifstats_ingress ifstats_ingress_real
#include "../../../bpf/ifstats.bpf.c"
#undef ifstats_ingress

SEC("tc")
int ifstats_ingress(struct __sk_buff *skb)
{
	__u8 *data = (__u8 *)(long)skb->data;

	return data[20]; /* no bounds check */
}
