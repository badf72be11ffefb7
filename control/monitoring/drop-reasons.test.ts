// SPDX-License-Identifier: Apache-2.0
/** Every drop reason a node can report has its line; names nobody wrote a line for say where to look. */
import { describe, expect, it } from "vitest";
import { OTHER_DROP_REASON } from "../wire/monitoring.ts";
import { DROP_REASONS, dropReasonText } from "./drop-reasons.ts";

/** enum skb_drop_reason of Linux 6.18 (bpftool btf dump), without the prefix and the MAX and SUBSYS_MASK markers. */
const LINUX_6_18 = `
  NOT_SPECIFIED NO_SOCKET SOCKET_CLOSE SOCKET_FILTER SOCKET_RCVBUFF UNIX_DISCONNECT UNIX_SKIP_OOB PKT_TOO_SMALL
  TCP_CSUM UDP_CSUM NETFILTER_DROP OTHERHOST IP_CSUM IP_INHDR IP_RPFILTER UNICAST_IN_L2_MULTICAST XFRM_POLICY
  IP_NOPROTO PROTO_MEM TCP_AUTH_HDR TCP_MD5NOTFOUND TCP_MD5UNEXPECTED TCP_MD5FAILURE TCP_AONOTFOUND
  TCP_AOUNEXPECTED TCP_AOKEYNOTFOUND TCP_AOFAILURE SOCKET_BACKLOG TCP_FLAGS TCP_ABORT_ON_DATA TCP_ZEROWINDOW
  TCP_OLD_DATA TCP_OVERWINDOW TCP_OFOMERGE TCP_RFC7323_PAWS TCP_RFC7323_PAWS_ACK TCP_RFC7323_TW_PAWS
  TCP_RFC7323_TSECR TCP_LISTEN_OVERFLOW TCP_OLD_SEQUENCE TCP_INVALID_SEQUENCE TCP_INVALID_END_SEQUENCE
  TCP_INVALID_ACK_SEQUENCE TCP_RESET TCP_INVALID_SYN TCP_CLOSE TCP_FASTOPEN TCP_OLD_ACK TCP_TOO_OLD_ACK
  TCP_ACK_UNSENT_DATA TCP_OFO_QUEUE_PRUNE TCP_OFO_DROP IP_OUTNOROUTES BPF_CGROUP_EGRESS IPV6DISABLED
  NEIGH_CREATEFAIL NEIGH_FAILED NEIGH_QUEUEFULL NEIGH_DEAD NEIGH_HH_FILLFAIL TC_EGRESS SECURITY_HOOK QDISC_DROP
  QDISC_OVERLIMIT QDISC_CONGESTED CAKE_FLOOD FQ_BAND_LIMIT FQ_HORIZON_LIMIT FQ_FLOW_LIMIT CPU_BACKLOG XDP
  TC_INGRESS UNHANDLED_PROTO SKB_CSUM SKB_GSO_SEG SKB_UCOPY_FAULT DEV_HDR DEV_READY FULL_RING NOMEM HDR_TRUNC
  TAP_FILTER TAP_TXFILTER ICMP_CSUM INVALID_PROTO IP_INADDRERRORS IP_INNOROUTES IP_LOCAL_SOURCE
  IP_INVALID_SOURCE IP_LOCALNET IP_INVALID_DEST PKT_TOO_BIG DUP_FRAG FRAG_REASM_TIMEOUT FRAG_TOO_FAR TCP_MINTTL
  IPV6_BAD_EXTHDR IPV6_TOO_MANY_EXTHDRS IPV6_NDISC_FRAG IPV6_NDISC_HOP_LIMIT IPV6_NDISC_BAD_CODE
  IPV6_NDISC_BAD_OPTIONS IPV6_NDISC_NS_OTHERHOST QUEUE_PURGE TC_COOKIE_ERROR PACKET_SOCK_ERROR TC_CHAIN_NOTFOUND
  TC_RECLASSIFY_LOOP VXLAN_INVALID_HDR VXLAN_VNI_NOT_FOUND MAC_INVALID_SOURCE VXLAN_ENTRY_EXISTS NO_TX_TARGET
  IP_TUNNEL_ECN TUNNEL_TXINFO LOCAL_MAC ARP_PVLAN_DISABLE MAC_IEEE_MAC_CONTROL BRIDGE_INGRESS_STP_STATE
  CAN_RX_INVALID_FRAME CANFD_RX_INVALID_FRAME CANXL_RX_INVALID_FRAME PFMEMALLOC DUALPI2_STEP_DROP PSP_INPUT
  PSP_OUTPUT RECURSION_LIMIT SKB_RX_HEADROOM
`.trim().split(/\s+/);

describe("drop reasons", () => {
  it("explains every reason of Linux 6.18 and the agent's (other), each in one line of its own", () => {
    expect(LINUX_6_18.length).toBeGreaterThan(120);
    const missing = [...LINUX_6_18, OTHER_DROP_REASON].filter((r) => DROP_REASONS[r] === undefined);
    expect(missing).toEqual([]);
    const texts = Object.values(DROP_REASONS);
    expect(texts.filter((t) => t.includes("\n") || t.length > 120)).toEqual([]);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it("answers a line for any name an agent may send, those of an object's prototype too", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(dropReasonText(name), name).toBe(
        "a reason of a kernel newer than this page: see include/net/dropreason-core.h in that kernel's source",
      );
    }
  });

  it("names the reasons of the issue in plain words", () => {
    expect(dropReasonText("NO_SOCKET")).toMatch(/no socket was listening/);
    expect(dropReasonText("QUEUE_PURGE")).toMatch(/whole queue/);
  });

  it("falls back for a number the BTF did not name, and for a newer kernel's reason", () => {
    expect(dropReasonText("REASON_65537")).toMatch(/does not name in its BTF/);
    expect(dropReasonText("SOME_FUTURE_REASON")).toMatch(/dropreason-core\.h/);
  });
});
