/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Addresses in map keys are 16 bytes for both families: IPv6 as is, IPv4
 * as IPv4-mapped IPv6 (::ffff:a.b.c.d), which the agent prints as a.b.c.d.
 */
#ifndef EBPF_K8S_ADDR_BPF_H
#define EBPF_K8S_ADDR_BPF_H

static __always_inline void map_v4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}
#endif
