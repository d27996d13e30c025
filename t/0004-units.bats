#!/usr/bin/env bats
# 0004: make install puts the systemd units, the sysusers.d file and the
# example configuration where the prefix says; the units are hardened.

load lib/akc

setup() {
	akc_setup
	[ -f "$AKC_BIN/Makefile" ] || skip "no build tree in $AKC_BIN"
}

# build_make ARGS...: make in the build tree, without make check's jobserver
# or variables when it runs this test.
build_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$AKC_BIN" "$@"; }

# The installs here made the build tree's units with their prefixes: remake
# them with the configured one.
teardown() {
	build_make etc/systemd/memberd.service etc/systemd/leaderd.service \
	    etc/systemd/singletond@.service etc/systemd/worker@.service \
	    etc/systemd/akc-httpd.service etc/akc.conf.example >/dev/null 2>&1 || true
	akc_teardown
}

# install_to DESTDIR MAKE-ARGS...: make install into DESTDIR ("" for none).
install_to() {
	local dest=$1; shift
	build_make install DESTDIR="$dest" "$@" >"$AKC_DIR/install.log" 2>&1 ||
	    { cat "$AKC_DIR/install.log"; return 1; }
}

# exposure UNIT-FILE: systemd-analyze's overall exposure figure for it.
exposure() {
	systemd-analyze security --offline=yes "$1" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

@test "make install DESTDIR= prefix=/usr: units name the installed programs, akc.conf is left alone" {
	local root=$AKC_DIR/root
	install_to "$root" prefix=/usr sysconfdir=/etc
	local u=$root/usr/lib/systemd/system
	grep -qx 'ExecStart=/usr/sbin/memberd -c /etc/akc/akc.conf' "$u/memberd.service"
	grep -q "^ExecStop=/bin/sh -c '/usr/bin/akc-leave -c /etc/akc/akc.conf || exit 0;" "$u/memberd.service"
	grep -qx 'ExecStart=/usr/sbin/leaderd -c /etc/akc/akc.conf' "$u/leaderd.service"
	grep -qx 'ExecStart=/usr/sbin/singletond -c /etc/akc/akc.conf -s %i' "$u/singletond@.service"
	grep -qx 'ExecStart=/usr/sbin/worker -c /etc/akc/akc.conf' "$u/worker@.service"
	grep -qx 'ExecStart=/usr/sbin/akc-httpd -c /etc/akc/akc.conf' "$u/akc-httpd.service"
	# and the live page beside them
	[ -f "$root/usr/share/akc/www/index.html" ] && [ -f "$root/usr/share/akc/www/akc.js" ]
	# every program a unit starts is installed, and nothing is left unsubstituted
	local prog
	for prog in $(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u"/*.service); do
		[ -x "$root$prog" ] || { echo "not installed: $prog"; false; }
	done
	run grep -n '@[a-z]*@\|/usr/local' "$u"/*.service
	assert_failure
	grep -q '^u akc ' "$root/usr/lib/sysusers.d/akc.conf"
	grep -qx 'command = exec master -c /etc/akc/akc.conf' "$root/etc/akc/akc.conf.example"
	[ ! -e "$root/etc/akc/akc.conf" ]
	# an existing configuration survives the next install
	echo "# mine" > "$root/etc/akc/akc.conf"
	install_to "$root" prefix=/usr sysconfdir=/etc
	[ "$(cat "$root/etc/akc/akc.conf")" = "# mine" ]
}

@test "systemd-analyze security rates the units OK or better (exposure at most 3.0)" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing"
	systemd-analyze --help 2>&1 | grep -q -- '--offline' || skip "systemd-analyze has no --offline"
	install_to "$AKC_DIR/root" prefix=/usr sysconfdir=/etc
	local u=$AKC_DIR/root/usr/lib/systemd/system f e
	# memberd and leaderd must; singletond and the worker run any command, but are rated too
	for f in memberd.service leaderd.service singletond@.service worker@.service akc-httpd.service; do
		e=$(exposure "$u/$f")
		echo "# $f: exposure $e" >&3
		[ -n "$e" ] && awk -v e="$e" 'BEGIN { exit !(e <= 3.0) }' ||
		    { systemd-analyze security --offline=yes "$u/$f"; false; }
	done
}

@test "systemd-analyze verify accepts the installed units" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing"
	# verify checks that the programs exist: install them where the units say
	local p=$AKC_DIR/p
	mkdir -p "$AKC_DIR/probe"
	printf '[Service]\nExecStart=/bin/true\n' > "$AKC_DIR/probe/probe.service"
	run systemd-analyze verify --man=no "$AKC_DIR/probe/probe.service"
	[ "$status" = 0 ] && [ -z "$output" ] || skip "systemd-analyze verify does not work here: $output"
	install_to "" prefix="$p/usr" sysconfdir="$p/etc"
	cd "$p/usr/lib/systemd/system"
	run systemd-analyze verify --man=no memberd.service leaderd.service singletond@.service \
	    worker@.service akc-httpd.service
	assert_success
	assert_output ""
}
