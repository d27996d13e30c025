# t/lib/browser.bash: a headless Chromium driven over the DevTools protocol
# through --remote-debugging-pipe (JSON messages ended by NUL on fds 3 and
# 4): one browser for a whole test, so a page can be watched while the
# cluster changes under it. Needs only bash and jq.
# shellcheck shell=bash

# browser_start: starts Chromium (1280x800) and opens an empty page; skips without Chromium.
browser_start() {
	local bin
	bin=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
	[ -n "$bin" ] || skip "chromium is missing (apt-get install chromium)"
	mkfifo "$AKC_DIR/cdp.in" "$AKC_DIR/cdp.out"
	# read-write opens: neither side of a FIFO waits for the other
	exec {BROWSER_W}<>"$AKC_DIR/cdp.in" {BROWSER_R}<>"$AKC_DIR/cdp.out"
	"$bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
	    --user-data-dir="$AKC_DIR/chromium" --window-size=1280,800 --hide-scrollbars \
	    --remote-debugging-pipe about:blank \
	    3<"$AKC_DIR/cdp.in" 4>"$AKC_DIR/cdp.out" >"$AKC_DIR/chromium.log" 2>&1 &
	echo $! >> "$AKC_DIR/pids"
	BROWSER_PID=$!
	BROWSER_SESSION=""
	local target
	target=$(cdp Target.createTarget '{"url":"about:blank"}' | jq -r .result.targetId)
	BROWSER_SESSION=$(cdp Target.attachToTarget "{\"targetId\":\"$target\",\"flatten\":true}" |
	    jq -r .result.sessionId)
	[ -n "$BROWSER_SESSION" ] && [ "$BROWSER_SESSION" != null ]
	# scripts added for new documents (browser_open's error hook) need the Page domain
	cdp Page.enable '{}' >/dev/null
	cdp Emulation.setDeviceMetricsOverride \
	    '{"width":1280,"height":800,"deviceScaleFactor":1,"mobile":false}' >/dev/null
}

# cdp METHOD PARAMS: one command (to the page once attached); prints its answer.
# The id is random: callers run cdp in subshells, where a counter would not count.
cdp() {
	local msg id=$((RANDOM * 32768 + RANDOM))
	msg=$(jq -nc --argjson id "$id" --arg m "$1" --argjson p "$2" --arg s "$BROWSER_SESSION" \
	    '{id: $id, method: $m, params: $p} + (if $s != "" then {sessionId: $s} else {} end)')
	printf '%s\0' "$msg" >&"$BROWSER_W"
	while IFS= read -r -t 30 -d '' msg <&"$BROWSER_R"; do
		[ "$(jq -r '.id // empty' <<<"$msg")" = "$id" ] || continue
		if jq -e .error <<<"$msg" >/dev/null; then
			echo "cdp $1: $msg" >&2
			return 1
		fi
		echo "$msg"
		return 0
	done
	echo "cdp $1: no answer from chromium (see $AKC_DIR/chromium.log)" >&2
	return 1
}

# browser_open URL: loads URL; the page's uncaught errors are kept for browser_errors.
browser_open() {
	local hook='window.__errors = [];
	    addEventListener("error", (e) => __errors.push(String(e.message)));
	    addEventListener("unhandledrejection", (e) => __errors.push(String(e.reason)));'
	cdp Page.addScriptToEvaluateOnNewDocument "$(jq -nc --arg s "$hook" '{source: $s}')" >/dev/null
	cdp Page.navigate "$(jq -nc --arg u "$1" '{url: $u}')" >/dev/null
}

# browser_errors: the page's uncaught errors and rejections so far, one a line.
browser_errors() { browser_eval '__errors.join("\n")'; }

# browser_eval EXPR: the value of a JavaScript expression in the page.
browser_eval() {
	cdp Runtime.evaluate "$(jq -nc --arg e "$1" '{expression: $e, returnByValue: true}')" |
	    jq -r '.result.result.value'
}

# browser_true EXPR: the expression is true in the page (for wait_until).
browser_true() { [ "$(browser_eval "$1")" = true ]; }

browser_dom() { browser_eval 'document.documentElement.outerHTML'; }

# browser_screenshot FILE: a PNG of the page as it shows now.
browser_screenshot() {
	cdp Page.captureScreenshot '{"format":"png"}' | jq -r .result.data | base64 -d > "$1"
}

browser_stop() {
	[ -n "${BROWSER_PID:-}" ] || return 0
	BROWSER_SESSION="" cdp Browser.close '{}' >/dev/null 2>&1 || true
	kill "$BROWSER_PID" 2>/dev/null || true
	wait "$BROWSER_PID" 2>/dev/null || true
	BROWSER_PID=""
}
