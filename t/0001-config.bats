#!/usr/bin/env bats
# 0001: the configuration file: -n checks it; bad lines are refused with file, line and key.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

@test "-n prints 'configuration OK' for the shipped example and exits 0" {
	for prog in memberd leaderd akc-httpd; do
		run "$AKC_BIN/$prog" -n -c "$AKC_SRC/etc/akc.conf"
		assert_success
		assert_output "configuration OK"
	done
}

@test "\$AKC_CONF is the default configuration path" {
	node_conf n1
	AKC_CONF=$(conf_of n1) run memberd -n
	assert_success
	assert_output "configuration OK"
}

@test "an unknown key is refused naming file, line and key" {
	node_conf n1
	sed -i 's/^name = n1$/name = n1\ncolour = blue/' "$(conf_of n1)"
	run memberd -n -c "$(conf_of n1)"
	assert_failure 1
	assert_output "memberd: $(conf_of n1):$(line_of "$(conf_of n1)" colour): unknown key 'colour' in [node]"
}

@test "a bad value is refused naming file, line and key; every error is reported in one pass" {
	node_conf n1
	cat >> "$(conf_of n1)" <<'CONF'
[downing]
stable-after = soon
strategy = coin-flip
[nowhere]
x = 1
CONF
	sed -i 's/^gossip-interval = .*/gossip-interval = 5/' "$(conf_of n1)"
	run leaderd -n -c "$(conf_of n1)"
	assert_failure 1
	local f
	f=$(conf_of n1)
	assert_line --partial "$f:$(line_of "$f" gossip-interval): bad value '5' for 'gossip-interval'"
	assert_line --partial "$f:$(line_of "$f" stable-after): bad value 'soon' for 'stable-after'"
	assert_line --partial "$f:$(line_of "$f" strategy): bad value 'coin-flip' for 'strategy'"
	assert_line --partial "$f:$(line_of "$f" '^x = 1'): unknown section [nowhere] (key 'x')"
	[ "${#lines[@]}" = 4 ]
}

@test "missing required keys and a missing file are refused" {
	printf '[node]\nroles = a\n' > "$AKC_DIR/empty.conf"
	run memberd -n -c "$AKC_DIR/empty.conf"
	assert_failure 1
	assert_line "memberd: $AKC_DIR/empty.conf: missing required key 'name' in [node]"
	assert_line "memberd: $AKC_DIR/empty.conf: missing required key 'address' in [node]"
	run memberd -n -c "$AKC_DIR/nope.conf"
	assert_failure 1
	assert_output "memberd: cannot open '$AKC_DIR/nope.conf': No such file or directory"
}

@test "a syntax error and a too-long run-dir are refused with their line" {
	node_conf n1
	echo "this line has no equals sign" >> "$(conf_of n1)"
	run memberd -n -c "$(conf_of n1)"
	assert_failure 1
	assert_output --partial "$(conf_of n1):$(line_of "$(conf_of n1)" 'no equals'): syntax error"
	node_conf n2
	sed -i "s|^run-dir = .*|run-dir = /tmp/$(printf 'x%.0s' $(seq 1 90))|" "$(conf_of n2)"
	run memberd -n -c "$(conf_of n2)"
	assert_failure 1
	assert_output --partial "$(conf_of n2):$(line_of "$(conf_of n2)" run-dir): value for 'run-dir' is too long"
}

@test "usage errors exit 2" {
	run memberd -x
	assert_failure 2
	run leaderd -c
	assert_failure 2
	run memberd -n -c /dev/null extra-argument
	assert_failure 1
}

@test "a daemon's usage error says what was wrong through the log module, then the usage line" {
	node_conf n1
	local c prog log
	c=$(conf_of n1)
	for prog in memberd leaderd master worker akc-httpd singletond; do
		run "$AKC_BIN/$prog" -c "$c" -x
		assert_failure 2
		assert_line --regexp "^${AKC_TIME_RE}$prog: unknown option '-x'\$"
		assert_line --regexp "^${AKC_TIME_RE}$prog: usage: $prog "
		run "$AKC_BIN/$prog" -c "$c" --bogus=1
		assert_failure 2
		assert_output --partial "$prog: unknown option '--bogus'"
		run "$AKC_BIN/$prog" -c
		assert_failure 2
		assert_output --partial "$prog: option '-c' needs an argument"
	done
	# arguments after the options: refused once the configuration is checked
	for prog in memberd leaderd master worker akc-httpd; do
		run "$AKC_BIN/$prog" -n -c "$c" extra
		assert_failure 2
		assert_line "$prog: unexpected argument 'extra'"
		refute_output --partial "configuration OK"
	done
	run "$AKC_BIN/worker" -c "$c" --exec
	assert_failure 2
	assert_output --partial "worker: option '--exec' needs an argument"
	# under the journal (JOURNAL_STREAM names stderr) as errors: <3>
	log="$AKC_DIR/usage.log"
	: > "$log"
	JOURNAL_STREAM=$(stat -c %d:%i "$log") "$AKC_BIN/worker" -c "$c" --pipe '' 2>>"$log" ||
	    echo "exit $?" >> "$log"
	run cat "$log"
	assert_line "<3>worker: --pipe needs a command"
	assert_line --regexp "^<3>worker: usage: worker "
	assert_line "exit 2"
	JOURNAL_STREAM=$(stat -c %d:%i "$log") "$AKC_BIN/singletond" -c "$c" 2>>"$log" ||
	    echo "exit $?" >> "$log"
	run cat "$log"
	assert_line "<3>singletond: -s NAME is required"
}
