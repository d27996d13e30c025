# t/lib/netns.bash: a test network of hosts made of Linux network namespaces.
# Each host has its own address on a bridge; links between chosen groups can be
# cut and healed (nftables, symmetric or one way) and made lossy. Everything
# made here is removed by net_teardown, also when a test fails.
# shellcheck shell=bash

# net_require: skip the test unless we can make namespaces (root, iproute2, nft).
net_require() {
	[ "$(id -u)" = 0 ] || skip "partition tests need root (network namespaces)"
	command -v ip >/dev/null || skip "partition tests need iproute2"
	command -v nft >/dev/null || skip "partition tests need nftables"
	local probe="akcp$$"
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del "$probe"
}

# net_setup N: hosts h1..hN on 10.211.X.0/24 (X from the test's pid), a bridge.
net_setup() {
	local n=$1 i
	NET_ID=$(( ($$ + ${BATS_TEST_NUMBER:-0}) % 200 + 20 ))
	# another run's network may still be there: take a free number
	while ip link show "akcbr$NET_ID" >/dev/null 2>&1 ||
	    ip link show "akc${NET_ID}v1" >/dev/null 2>&1 ||
	    ip netns list | grep -q "^akc${NET_ID}h"; do
		NET_ID=$(( (NET_ID + 1) % 200 + 20 ))
	done
	NET_BR="akcbr$NET_ID"
	NET_HOSTS=()
	echo "$NET_BR" > "$AKC_DIR/net.bridge"
	ip link add "$NET_BR" type bridge
	ip link set "$NET_BR" up
	for ((i = 1; i <= n; i++)); do
		local ns="akc${NET_ID}h$i" va="akc${NET_ID}v$i"
		ip netns add "$ns"
		echo "$ns" >> "$AKC_DIR/net.namespaces"
		ip link add "$va" type veth peer name eth0 netns "$ns"
		echo "$va" >> "$AKC_DIR/net.links"
		ip link set "$va" master "$NET_BR" up
		ip netns exec "$ns" ip link set lo up
		ip netns exec "$ns" ip addr add "10.211.$NET_ID.$i/24" dev eth0
		ip netns exec "$ns" ip link set eth0 up
		ip netns exec "$ns" nft add table inet akc
		ip netns exec "$ns" nft add chain inet akc input '{ type filter hook input priority 0; }'
		NET_HOSTS+=("h$i")
	done
}

# net_teardown: kill what runs in the hosts, delete namespaces, links and bridge.
net_teardown() {
	local ns pid
	[ -n "${AKC_DIR:-}" ] || return 0
	if [ -f "$AKC_DIR/net.namespaces" ]; then
		while read -r ns; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -9 "$pid" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		done < "$AKC_DIR/net.namespaces"
	fi
	# a namespace may outlive its deletion a while: delete our veth ends ourselves
	if [ -f "$AKC_DIR/net.links" ]; then
		while read -r ns; do
			ip link del "$ns" 2>/dev/null
		done < "$AKC_DIR/net.links"
	fi
	[ -f "$AKC_DIR/net.bridge" ] && ip link del "$(cat "$AKC_DIR/net.bridge")" 2>/dev/null
	return 0
}

ns_of() { echo "akc${NET_ID}${1}"; }
ip_of() { echo "10.211.$NET_ID.${1#h}"; }

# host_conf HOST [conf args...]: node config for HOST (node name = host name).
host_conf() {
	local h=$1; shift
	local addr="tcp://$(ip_of "$h"):7400"
	echo "$addr" > "$AKC_DIR/$h.addr"
	node_conf "$h" "$@"
	sed -i "s|^address = .*|address = $addr|" "$AKC_DIR/$h.conf"
}

# host_cluster [conf args...]: a node on every host, seeds h1 and h2, all started.
host_cluster() {
	local h
	AKC_SEEDS="tcp://$(ip_of h1):7400, tcp://$(ip_of h2):7400"
	for h in "${NET_HOSTS[@]}"; do
		host_conf "$h" "$@"
	done
	for h in "${NET_HOSTS[@]}"; do
		host_start "$h"
	done
}

# host_start HOST: memberd and leaderd of HOST inside its namespace.
host_start() {
	local h=$1 prog
	for prog in memberd leaderd; do
		ip netns exec "$(ns_of "$h")" "$AKC_BIN/$prog" -c "$AKC_DIR/$h.conf" \
		    >>"$AKC_DIR/$h.$prog.log" 2>&1 3>&- &
		echo $! >> "$AKC_DIR/pids"
		echo $! > "$AKC_DIR/$h.$prog.pid"
	done
	WAIT_STEP=0.02 wait_until 10 akc-status -c "$AKC_DIR/$h.conf" >/dev/null
}

# host_singleton HOST NAME [CMD ARGS...]: singletond -s NAME of HOST inside its namespace.
host_singleton() {
	local h=$1 sg=$2; shift 2
	local args=(-c "$AKC_DIR/$h.conf" -s "$sg")
	[ $# -gt 0 ] && args+=(-- "$@")
	ip netns exec "$(ns_of "$h")" "$AKC_BIN/singletond" "${args[@]}" \
	    >>"$AKC_DIR/$h.singletond.log" 2>&1 3>&- &
	echo $! >> "$AKC_DIR/pids"
	echo $! > "$AKC_DIR/$h.singletond.pid"
}

_drop() {	# _drop HOST FROM: HOST drops what FROM sends it
	ip netns exec "$(ns_of "$1")" nft add rule inet akc input ip saddr "$(ip_of "$2")" drop
}

_both_ways() {	# _both_ways FN "A B ..." "C D ...": FN for every pair, each way
	local a b
	for a in $2; do
		for b in $3; do
			"$1" "$a" "$b"
			"$1" "$b" "$a"
		done
	done
}

# net_cut "A B ..." "C D ...": no packet between the two groups, either way.
net_cut() { _both_ways _drop "$1" "$2"; }

_undrop() {	# _undrop HOST FROM: HOST takes what FROM sends it again
	local ns ip h
	ns=$(ns_of "$1") ip=$(ip_of "$2")
	for h in $(ip netns exec "$ns" nft -a list chain inet akc input |
	    awk -v r="ip saddr $ip drop # handle " 'index($0, r) { print $NF }'); do
		ip netns exec "$ns" nft delete rule inet akc input handle "$h"
	done
}

# net_uncut "A B ..." "C D ...": the links between the two groups work again
# (what net_cut did to them); other cuts stay.
net_uncut() { _both_ways _undrop "$1" "$2"; }

# net_cut_oneway FROM TO: packets from FROM to TO are lost; the other way works.
net_cut_oneway() { _drop "$2" "$1"; }

# net_lossy HOST PERCENT: HOST drops that share of what it receives.
net_lossy() {
	ip netns exec "$(ns_of "$1")" nft add rule inet akc input numgen random mod 100 \< "$2" drop
}

# net_delay HOST MS: HOST's packets leave MS milliseconds late (tc netem).
# Returns 1 when the kernel has no netem (then the caller should skip).
net_delay() {
	ip netns exec "$(ns_of "$1")" tc qdisc replace dev eth0 root netem delay "${2}ms" 2>/dev/null
}

# net_heal: every link works again.
net_heal() {
	local h
	for h in "${NET_HOSTS[@]}"; do
		ip netns exec "$(ns_of "$h")" nft flush chain inet akc input
		ip netns exec "$(ns_of "$h")" tc qdisc del dev eth0 root 2>/dev/null || true
	done
}

# split_around OLD K HOST...: the sides of a cut that leaves the oldest in
# the minority. Sets the caller's minority (OLD and the first K-1 other
# HOSTs), majority (the rest) and next (the oldest Up member outside the
# minority, as h1 sees it: where the singleton must move).
split_around() {
	local old=$1 k=$2 h
	shift 2
	minority="$old"
	majority=""
	for h in "$@"; do
		[ "$h" = "$old" ] && continue
		if [ "$(echo "$minority" | wc -w)" -lt "$k" ]; then minority="$minority $h"
		else majority="$majority $h"; fi
	done
	next=$(members_json h1 | jq -r --arg m "$minority" '[.[] | select(.status == "Up" and
	    ((.node | IN($m | split(" ")[])) | not))] | sort_by(.up_number) | .[0].node')
}
