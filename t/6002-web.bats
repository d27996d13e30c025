#!/usr/bin/env bats
# 6002: the live page in a real browser (headless Chromium, driven over the
# DevTools protocol): it shows the cluster, and keeps showing it when a
# member is killed, without a reload. Screenshots are kept for a person to
# look at (t/artifacts/, and $BATS_RUN_TMPDIR).

load lib/akc
load lib/http
load lib/browser

setup() { akc_setup; }
teardown() {
	browser_stop
	akc_teardown
}

# shot NAME: a screenshot of the page, kept beside the test's output.
shot() {
	local dir="$AKC_BIN/t/artifacts"
	mkdir -p "$dir"
	browser_screenshot "$dir/$1.png"
	[ "$(head -c 8 "$dir/$1.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	cp "$dir/$1.png" "${BATS_RUN_TMPDIR:-$AKC_DIR}/" 2>/dev/null || true
	echo "# screenshot: $dir/$1.png" >&3
}

# row NODE FIELD: the members table's row for NODE: its status or reachable.
row() {
	browser_eval "(document.querySelector('#members tr[data-node=\"$1\"]') || {dataset: {}}).dataset.$2"
}

@test "the page shows three members Up, then the killed one unreachable, live" {
	browser_start
	http_cluster 3 roles=backend
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	browser_open "$(url_of n1)/"
	wait_until 15 browser_true \
	    "document.querySelectorAll('#members tbody tr[data-status=\"Up\"][data-reachable=\"true\"]').length === 3"
	browser_true "document.getElementById('link').textContent === 'live'"
	browser_true "document.getElementById('banner').classList.contains('ok')"
	# the reachability matrix: 3 observers x 3 subjects, nobody unreachable
	[ "$(browser_eval "document.querySelectorAll('#matrix td.ok').length")" = 6 ]
	# the snapshot's events are listed
	browser_true "[...document.querySelectorAll('#events .e')].some(e => e.textContent === 'MemberUp')"
	shot web-all-up
	# kill -9 n3: the same page, without a reload, shows it unreachable
	kill_node n3
	wait_until 20 eval '[ "$(row n3 reachable)" = false ]'
	[ "$(row n3 status)" = Up ]
	[ "$(row n1 reachable)" = true ]
	browser_true "document.getElementById('banner').textContent.includes('n3 UNREACHABLE')"
	browser_true "document.querySelectorAll('#matrix td.no').length >= 1"
	browser_true "[...document.querySelectorAll('#events .e')].some(e => e.textContent === 'UnreachableMember')"
	# the DOM as a page dump, for the record
	browser_dom > "$AKC_DIR/dom.html"
	grep -q 'UNREACHABLE' "$AKC_DIR/dom.html"
	shot web-unreachable
	# no script error was thrown on the way
	run browser_errors
	refute_output
}

@test "the page's files: served with a content security policy; nothing else is" {
	http_cluster 1
	local f
	for f in / /index.html /akc.css /akc.js; do
		answers n1 "$f" 200
	done
	curl -sI "$(url_of n1)/" | grep -qi "^content-security-policy: default-src 'none'; script-src 'self'"
	curl -sI "$(url_of n1)/akc.js" | grep -qi '^content-type: text/javascript'
	# nothing fetched from elsewhere: no URL with a host in the page's files
	run grep -nE 'https?://' "$AKC_SRC/www/index.html" "$AKC_SRC/www/akc.css" "$AKC_SRC/www/akc.js"
	assert_failure
	answers n1 /..%2fakc.conf 404
	answers n1 /.hidden 404
	answers n1 /nothing.html 404
}
