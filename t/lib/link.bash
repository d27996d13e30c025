# t/lib/link.bash: a keyed work cluster, submits, and attacks on a direct
# link's port (lib/link.c), shared by the journal link's test (t/4012), the
# proxy link's (t/4013) and the master link's (t/4023).
# shellcheck shell=bash

# link_cluster N [conf args...]: work_cluster N (t/lib/work.bash) under a keyring,
# $AKC_DIR/cluster.key.
link_cluster() {
	akc-keys generate > "$AKC_DIR/cluster.key"
	work_cluster "$1" "[security]=" "key-file=$AKC_DIR/cluster.key" "${@:2}"
}

# submit_n NODE PREFIX COUNT: COUNT submits through NODE's proxy, one at a
# time, ids PREFIX-1...; the acknowledged ids go to $AKC_DIR/acked.
submit_n() {
	local i
	for ((i = 1; i <= $3; i++)); do
		akc-submit -c "$(conf_of "$1")" --id "$2-$i" "payload of $2-$i" >> "$AKC_DIR/acked" || return 1
	done
}

# submitter NODE PREFIX COUNT: submits through NODE one at a time, ids
# PREFIX-0...; acknowledged ids to $AKC_DIR/PREFIX.ids, failed ones to
# PREFIX.failed, their errors to PREFIX.err.
submitter() {
	local i out
	for ((i = 0; i < $3; i++)); do
		if out=$(akc-submit -c "$(conf_of "$1")" --call-timeout 20s --id "$2-$i" "p$i" 2>>"$AKC_DIR/$2.err"); then
			echo "$out" >> "$AKC_DIR/$2.ids"
		else
			echo "$2-$i" >> "$AKC_DIR/$2.failed"
		fi
	done
}

# lines_at_least FILE N: FILE exists and has N lines or more.
lines_at_least() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# link_attacks ADDR KIND WRONG OVER NODE: sends ADDR the frames every link
# refuses, under KIND (frame-send's -L or -P), and waits for each to be
# counted with "OVER NODE REASON N" (a function true once NODE's count of
# REASON is over N): no key, another cluster's key, another cluster's name,
# a frame of another kind under the right key (WRONG: frame-send's flag for
# it, or "-" for memberd's kind), an authentic frame for another process,
# and a frame announced over 64 KiB before one authenticated. The cluster's
# key is $AKC_DIR/cluster.key.
link_attacks() {
	local addr=$1 kind=$2 wrong=$3 over=$4 node=$5 key=$AKC_DIR/cluster.key
	local pad='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
	[ "$wrong" != - ] || wrong=
	# no key: a plain frame at a keyed process
	"$AKC_BIN/t/frame-send" "$kind" "$addr" -D "$pad"'{"m":"ack"}'
	wait_until 10 "$over" "$node" unauthenticated 0
	# a key of another cluster
	akc-keys generate > "$AKC_DIR/other.key"
	"$AKC_BIN/t/frame-send" "$kind" -k "$AKC_DIR/other.key" "$addr" -D "$pad{}"
	wait_until 10 "$over" "$node" unauthenticated 1
	# the right key, another cluster name
	"$AKC_BIN/t/frame-send" "$kind" -k "$key" -C other "$addr" -D "$pad{}"
	wait_until 10 "$over" "$node" cluster 0
	# a frame of another kind under the right key is not this link's
	"$AKC_BIN/t/frame-send" $wrong -k "$key" "$addr" -D '{"v":2,"t":"hello"}'
	wait_until 10 "$over" "$node" malformed 0
	# an authentic frame for some other process (its receiver id is not ours)
	"$AKC_BIN/t/frame-send" "$kind" -k "$key" "$addr" -D "$pad{}"
	wait_until 10 "$over" "$node" stale 0
	# a frame announced over 64 KiB before any frame authenticated: closed unread
	head -c 70000 /dev/zero > "$AKC_DIR/big"
	"$AKC_BIN/t/frame-send" -r "$addr" -F "$AKC_DIR/big" || true
	wait_until 10 "$over" "$node" oversized 0
}

# link_replay PORT DIR: the captured streams in DIR (t/pcap-frames) sent again to PORT.
link_replay() {
	local f
	for f in "$2"/stream-*; do
		cat "$f" > "/dev/tcp/127.0.0.1/$1"
	done
}

# link_setup, link_teardown: from the tests' setup and teardown, for what
# block_port and capture_start leave to undo.
link_setup() {
	NFT_TABLE=
	TCPDUMP_PID=
}
link_teardown() {
	[ -z "$NFT_TABLE" ] || nft delete table inet "$NFT_TABLE" 2>/dev/null || true
	[ -z "$TCPDUMP_PID" ] || kill "$TCPDUMP_PID" 2>/dev/null || true
}

# block_port PORT: TCP to PORT on this host dropped (nftables) until unblock_port.
block_port() {
	NFT_TABLE="akc_link_$$"
	nft add table inet "$NFT_TABLE"
	nft add chain inet "$NFT_TABLE" input '{ type filter hook input priority 0; }'
	nft add rule inet "$NFT_TABLE" input tcp dport "$1" drop
}
unblock_port() {
	nft delete table inet "$NFT_TABLE"
	NFT_TABLE=
}

# captured_frames PORT: the streams sent to PORT, one file each in $AKC_DIR/frames; prints how many frames.
captured_frames() {
	mkdir -p "$AKC_DIR/frames"
	"$AKC_BIN/t/pcap-frames" "$AKC_DIR/c.pcap" "$1" "$AKC_DIR/frames"
}
