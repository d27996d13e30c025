#!/usr/bin/env bats
# 4003: bytes that are not text on the work path. A result that is not
# UTF-8 (or holds a NUL) comes as result_base64, byte for byte; a request
# whose strings hold a NUL or invalid UTF-8 is refused and counted, never
# cut short at the NUL or passed on.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# hex: stdin as hex digits, one line.
hex() { od -An -v -tx1 | tr -d ' \n'; }

# raw FILE: FILE's bytes as one request to the master through n1's proxy;
# prints the answer (its ASCII).
raw() {
	timeout 10 nanocat --req --connect "ipc://$AKC_DIR/n1/singleton.master" \
	    -F "$1" -A 2>&1 3>&-
}

@test "a result that is not UTF-8 comes as result_base64, byte for byte; text as result" {
	work_cluster 1
	start_worker n1 >/dev/null	# cat: the result is the payload
	local -A bytes=(
		[overlong]='\xc0\x80'
		[surrogate]='x\xed\xa0\x80'
		[over-10ffff]='\xf4\x90\x80\x80'
		[cut-short]='abc\xe2\x82'
		[latin-1]='caf\xe9'
		[nul]='a\x00b'
	)
	local id line
	for id in "${!bytes[@]}"; do
		line=$(printf "${bytes[$id]}" | akc-submit -c "$(conf_of n1)" --id "$id" --wait - | tail -1)
		echo "$id: $line"
		[ "$(jq -r '.status + " " + (has("result") | tostring)' <<<"$line")" = "done false" ]
		[ "$(jq -r .result_base64 <<<"$line" | base64 -d | hex)" = "$(printf "${bytes[$id]}" | hex)" ]
	done
	# text stays text
	line=$(printf 'caf\xc3\xa9 \xf0\x9f\x98\x80' | akc-submit -c "$(conf_of n1)" --id text --wait - | tail -1)
	[ "$(jq -r 'has("result_base64")' <<<"$line")" = false ]
	[ "$(jq -j .result <<<"$line" | hex)" = "$(printf 'caf\xc3\xa9 \xf0\x9f\x98\x80' | hex)" ]
	# akc-results shows the same, and all it prints is UTF-8
	akc-results -c "$(conf_of n1)" > "$AKC_DIR/results"
	cat "$AKC_DIR/results"
	[ "$(wc -l < "$AKC_DIR/results")" = 7 ]
	iconv -f UTF-8 -t UTF-8 "$AKC_DIR/results" >/dev/null
	for id in "${!bytes[@]}"; do
		[ "$(jq -r --arg id "$id" 'select(.id == $id) | .result_base64' "$AKC_DIR/results")" = \
		    "$(printf "${bytes[$id]}" | base64 -w0)" ]
		[ "$(jq -r --arg id "$id" 'select(.id == $id) | has("result")' "$AKC_DIR/results")" = false ]
	done
	[ "$(jq -r 'select(.id == "text") | .result' "$AKC_DIR/results")" = "$(printf 'caf\xc3\xa9 \xf0\x9f\x98\x80')" ]
}

@test "a NUL or invalid UTF-8 in a request's strings is refused and counted, never cut short" {
	work_cluster 1
	akc-submit -c "$(conf_of n1)" --id a x >/dev/null	# pending: no worker
	# the escape \u0000 in an id: it was job "a" (and a status of "a" answered for it)
	printf '{"op":"submit","id":"a\\u0000b","payload":"eA=="}' > "$AKC_DIR/q1"
	run raw "$AKC_DIR/q1"
	assert_output --partial "malformed request: 'id' contains a NUL character"
	printf '{"op":"status","id":"a\\u0000b"}' > "$AKC_DIR/q2"
	run raw "$AKC_DIR/q2"
	assert_output --partial "'id' contains a NUL character"
	refute_output --partial '"ok":true'
	# a raw NUL byte in an id
	printf '{"op":"submit","id":"a\0b","payload":"eA=="}' > "$AKC_DIR/q3"
	run raw "$AKC_DIR/q3"
	assert_output --partial "'id' contains a NUL character"
	# in a payload: it was accepted as the payload before the NUL
	printf '{"op":"submit","id":"p-1","payload":"eA==\\u0000eQ=="}' > "$AKC_DIR/q4"
	run raw "$AKC_DIR/q4"
	assert_output --partial "'payload' contains a NUL character"
	# invalid UTF-8 in an id: it was quoted back as it was, in the error
	printf '{"op":"submit","id":"\xc0\x80","payload":"eA=="}' > "$AKC_DIR/q5"
	run raw "$AKC_DIR/q5"
	assert_output --partial "'id' is not valid UTF-8"
	# none made a job; all five were counted
	local q
	q=$(akc-queue -c "$(conf_of n1)" --json)
	[ "$(jq -r '[.pending, .bad_requests] | join(" ")' <<<"$q")" = "1 5" ]
}
