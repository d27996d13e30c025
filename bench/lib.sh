# bench/lib.sh: what the benchmarks share. Sourced, not run.
# shellcheck shell=bash

port_free() { [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

# bench_confs DIR N: configs DIR/n1.conf..nN.conf for nodes on 127.0.0.1 with
# the contract's default detector and gossip settings; seeds n1 and n2.
bench_confs() {
	local dir=$1 n=$2 i base
	# below the ephemeral range: connections' local ports would collide there
	local lo
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	base=$(( 20000 + RANDOM % (lo - 20000 - n - 1) ))
	while ! port_free $((base + 1)) || ! port_free $((base + n)); do
		base=$(( 20000 + RANDOM % (lo - 20000 - n - 1) ))
	done
	for ((i = 1; i <= n; i++)); do
		cat > "$dir/n$i.conf" <<CONF
[node]
name = n$i
address = tcp://127.0.0.1:$((base + i))
run-dir = $dir/n$i
state-dir = $dir/n$i.state
[cluster]
seed-nodes = tcp://127.0.0.1:$((base + 1)), tcp://127.0.0.1:$((base + 2))
seed-node-timeout = 1s
CONF
	done
}
