# t/lib/link.bash: attacks on a direct link's port (lib/link.c), shared by
# the journal link's test (t/4012) and the proxy link's (t/4013).
# shellcheck shell=bash

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
