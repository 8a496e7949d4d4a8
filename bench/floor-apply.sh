#!/bin/sh
# The floor of the apply-latency benchmark: the kernel changes of one persona apply (default route congctl and
# locked MTU, the namespace's default congestion control, the DSCP mark table, resolv.conf), as the plain
# script of ip/nft commands an operator would write. Run inside the host's namespace:
#   ip netns exec NS sh floor-apply.sh GATEWAY DEV CONGCTL MTU DSCP RESOLV_CONF NS1 NS2
set -eu
gw=$1
dev=$2
cc=$3
mtu=$4
dscp=$5
resolv=$6
ns1=$7
ns2=$8
ip route replace default via "$gw" dev "$dev" congctl "$cc" mtu lock "$mtu"
sysctl -q -w "net.ipv4.tcp_congestion_control=$cc"
nft -f - <<NFT
table inet netpersona
delete table inet netpersona
table inet netpersona {
  chain output {
    type filter hook output priority mangle; policy accept;
    meta nfproto ipv4 ip dscp set $dscp
    meta nfproto ipv6 ip6 dscp set $dscp
  }
}
NFT
printf 'nameserver %s\nnameserver %s\n' "$ns1" "$ns2" >"$resolv.tmp"
mv "$resolv.tmp" "$resolv"
