#!/usr/bin/env bats
# 6001: akc-httpd on every node of real clusters: the cluster paths as
# Akka Management has them, health probes, the bearer token, Server-Sent
# Events, the work API, Prometheus metrics, HTTPS.

load lib/akc
load lib/work
load lib/http

setup() { akc_setup; }
teardown() { akc_teardown; }

auth() { echo "Authorization: Bearer $(http_token)"; }

# stream NODE FILE [curl args...]: /events of NODE into FILE, in the background.
stream() {
	local name=$1 file=$2; shift 2
	curl -sN "$@" "$(url_of "$name")/events" > "$file" 2>&1 3>&- &
	echo $! >> "$AKC_DIR/pids"
}

# data FILE: the events of a stream, one JSON line each.
data() { sed -n 's/^data: //p' "$1"; }

# has_event FILE TYPE [NODE]: the stream in FILE has delivered such an event
# (jq -e alone would pass on a stream that has delivered nothing yet).
has_event() {
	data "$1" | jq -s -e --arg t "$2" --arg n "${3:-}" \
	    'any(.[]; .type == $t and ($n == "" or .node == $n))' >/dev/null
}

@test "[http] keys are checked like every other: bad ones are named with file and line" {
	node_conf n1 "[http]=" address=localhost token-file=relative tls-cert-file=/x.pem
	run akc-httpd -c "$(conf_of n1)" -n
	assert_failure 1
	assert_line --partial "n1.conf:16: bad value 'localhost' for 'address': expected HOST:PORT"
	assert_line --partial "n1.conf:17: bad value 'relative' for 'token-file': must be an absolute path"
	assert_line --partial "needs both 'tls-cert-file' and 'tls-key-file'"
	node_conf n2 "[http]=" "address=[::1]:8558" www-dir=/srv/www
	run akc-httpd -c "$(conf_of n2)" -n
	assert_success
	assert_output "configuration OK"
	# memberd reads the same file: the section is no unknown one for it
	run memberd -c "$(conf_of n2)" -n
	assert_success
}

@test "GET /cluster/members is akc-members --json and akc-status on every node; one member; 404, 405" {
	http_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	local n j
	for n in n1 n2 n3; do
		j=$(hget "$n" /cluster/members)
		[ "$(code)" = 200 ]
		# the members exactly as akc-members --json has them
		diff <(jq -S .members <<<"$j") <(members_json "$n" | jq -S .)
		[ "$(jq -r .self <<<"$j")" = "$n" ]
		[ "$(jq -r .leader <<<"$j")" = "$(status_json "$n" | jq -r .leader)" ]
		[ "$(jq -r .oldest <<<"$j")" = "$(oldest_with "$n" "")" ]
		[ "$(jq -c .unreachable <<<"$j")" = "[]" ]
		jq -e '.role_leaders | type == "object"' <<<"$j"
	done
	j=$(hget n2 /cluster/members/n3)
	[ "$(code)" = 200 ]
	diff <(jq -S . <<<"$j") <(members_json n2 | jq -S '.[] | select(.node == "n3")')
	hget n1 /cluster/members/nobody
	[ "$(code)" = 404 ]
	[ "$(jq -r .error "$AKC_DIR/body")" = "unknown node 'nobody'" ]
	hget n1 /no/such/path
	[ "$(code)" = 404 ]
	hget n1 /cluster/members -X POST
	[ "$(code)" = 405 ]
	run hget n1 /alive
	[ "$(code)" = 200 ]
	assert_output '{"alive":true}'
	# the work paths need singletond -s master on the node, and say so
	hget n1 /jobs
	[ "$(code)" = 503 ]
	jq -e '.error | test("singletond -s master is not running")' "$AKC_DIR/body"
}

@test "/ready: 503 naming leaderd while it is stopped, 200 once it is back; /alive: 503 at once without memberd" {
	http_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	wait_until 10 answers n2 /ready 200
	[ "$(jq -r .status "$AKC_DIR/body")" = Up ]
	kill -TERM "$(pid_of n2 leaderd)"
	wait_until 10 process_exited "$(pid_of n2 leaderd)"
	hget n2 /ready
	[ "$(code)" = 503 ]
	[ "$(jq -r .ready "$AKC_DIR/body")" = false ]
	jq -e '.reasons[] | select(test("leaderd is not running"))' "$AKC_DIR/body"
	start_daemon n2 leaderd
	wait_until 10 answers n2 /ready 200
	# a killed memberd leaves its socket file: said at once, not after a timeout
	kill -9 "$(pid_of n3 memberd)"
	wait_until 5 process_exited "$(pid_of n3 memberd)"
	local t0=$SECONDS
	hget n3 /alive
	[ "$(code)" = 503 ]
	(( SECONDS - t0 < 2 ))
	jq -e '.error | test("memberd is not running")' "$AKC_DIR/body"
	hget n3 /ready
	[ "$(code)" = 503 ]
}

@test "changes need the bearer token: 401 without it, 400/404 for bad ones; Down by form, Leave by JSON" {
	http_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	hget n1 /cluster/members/n3 -X PUT -d operation=Down
	[ "$(code)" = 401 ]
	jq -e '.error | test("Bearer")' "$AKC_DIR/body"
	hget n1 /cluster/members/n3 -X PUT -d operation=Down -H "Authorization: Bearer wrong"
	[ "$(code)" = 401 ]
	hget n1 /cluster/members/n3 -X DELETE
	[ "$(code)" = 401 ]
	[ "$(member_status n1 n3)" = Up ]
	hget n1 /cluster/members/n3 -X PUT -d operation=Explode -H "$(auth)"
	[ "$(code)" = 400 ]
	hget n1 /cluster/members/n3 -X PUT -H "$(auth)"
	[ "$(code)" = 400 ]
	hget n1 /cluster/members/nobody -X PUT -d operation=Down -H "$(auth)"
	[ "$(code)" = 404 ]
	# with the token: downed, then removed by the leader
	hget n1 /cluster/members/n3 -X PUT -d operation=Down -H "$(auth)"
	[ "$(code)" = 200 ]
	[ "$(jq -r .operation "$AKC_DIR/body")" = Down ]
	wait_until 20 is_absent n1 n3
	# Leave, as JSON: n2 leaves gracefully and its memberd exits 0
	hget n1 /cluster/members/n2 -X PUT -H "$(auth)" -H 'Content-Type: application/json' \
	    -d '{"operation":"Leave"}'
	[ "$(code)" = 200 ]
	wait_until 30 is_absent n1 n2
	wait_until 10 process_exited "$(pid_of n2 memberd)"
	[ "$(exit_status_of "$(pid_of n2 memberd)")" = 0 ]
	# a node with no token-file refuses every change
	sed -i '/^token-file = /d' "$(conf_of n1)"
	kill -TERM "$(pid_of n1 akc-httpd)"
	wait_until 10 process_exited "$(pid_of n1 akc-httpd)"
	start_daemon n1 akc-httpd
	wait_until 10 curl -s -o /dev/null "$(url_of n1)/alive"
	hget n1 /cluster/members/n1 -X DELETE -H "$(auth)"
	[ "$(code)" = 403 ]
}

@test "409 for a change the member's status does not allow now" {
	http_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	# n2 unreachable and not downed: no convergence, so nothing is removed
	kill_node n2
	wait_until 20 is_unreachable n1 n2
	hget n1 /cluster/members/n3 -X PUT -d operation=Down -H "$(auth)"
	[ "$(code)" = 200 ]
	[ "$(member_status n1 n3)" = Down ]
	hget n1 /cluster/members/n3 -X DELETE -H "$(auth)"
	[ "$(code)" = 409 ]
	[ "$(jq -r .error "$AKC_DIR/body")" = "n3 is Down and cannot leave" ]
}

@test "/events: the snapshot, then MemberRemoved; Last-Event-ID resumes after that event" {
	http_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	stream n1 "$AKC_DIR/s1"
	wait_until 10 grep -q '^event: snapshot' "$AKC_DIR/s1"
	wait_until 10 eval '[ "$(data "$AKC_DIR/s1" | jq -r "select(.type == \"MemberUp\") | .node" | sort | xargs)" = "n1 n2 n3" ]'
	# the snapshot's events carry its seq, and its last one the id
	local snap
	snap=$(sed -n 's/^event: snapshot$//; /^data: {"seq"/{s/^data: //p;q}' "$AKC_DIR/s1" | jq -r .seq)
	wait_until 5 grep -qx "id: $snap" "$AKC_DIR/s1"
	[ "$(data "$AKC_DIR/s1" | jq -r 'select(.type) | .seq' | sort -u)" = "$snap" ]
	akc-leave -c "$(conf_of n1)" n3
	wait_until 30 has_event "$AKC_DIR/s1" MemberRemoved n3
	# each event after the snapshot has its own id, the seq in its data
	local left removed
	left=$(data "$AKC_DIR/s1" | jq -r 'select(.type == "MemberLeft" and .node == "n3") | .seq')
	removed=$(data "$AKC_DIR/s1" | jq -r 'select(.type == "MemberRemoved") | .seq')
	grep -qx "id: $left" "$AKC_DIR/s1"
	(( left > snap && removed > left ))
	# resumed after MemberLeft: no snapshot, the next events from there, MemberRemoved among them
	stream n1 "$AKC_DIR/s2" -H "Last-Event-ID: $left"
	wait_until 10 has_event "$AKC_DIR/s2" MemberRemoved n3
	run grep -c '^event: snapshot' "$AKC_DIR/s2"
	assert_output 0
	[ "$(data "$AKC_DIR/s2" | head -1 | jq -r .seq)" = $((left + 1)) ]
	# an id the node cannot resume from gets a snapshot
	stream n1 "$AKC_DIR/s3" -H "Last-Event-ID: 999999"
	wait_until 10 grep -q '^event: snapshot' "$AKC_DIR/s3"
}

# metric NODE NAME: a sample's value in NODE's /metrics (NAME with its labels).
metric() {
	hget "$1" /metrics | awk -v n="$2" '$1 == n { print $2 }'
}

@test "work over HTTP: POST /jobs, GET /jobs/ID, GET /results; /metrics passes promtool and its counters move" {
	work_cluster 3
	local n where="" j i
	for n in n1 n2 n3; do
		start_httpd "$n"
	done
	start_worker n1 >/dev/null
	hget n2 /jobs -X POST --data-binary hello
	[ "$(code)" = 401 ]
	j=$(hget n2 '/jobs?id=web-1' -X POST --data-binary 'hello over http' -H "$(auth)")
	[ "$(code)" = 200 ]
	[ "$(jq -c . <<<"$j")" = '{"id":"web-1","new":true}' ]
	# the same id again is the same job; with another payload it is refused
	j=$(hget n3 '/jobs?id=web-1' -X POST --data-binary 'hello over http' -H "$(auth)")
	[ "$(code)" = 200 ]
	[ "$(jq -r .new <<<"$j")" = false ]
	hget n3 '/jobs?id=web-1' -X POST --data-binary 'other' -H "$(auth)" >/dev/null
	[ "$(code)" = 409 ]
	grep -q "id web-1 exists with a different payload" "$AKC_DIR/body"
	wait_until 30 eval '[ "$(hget n3 /jobs/web-1 | jq -r .status)" = done ]'
	[ "$(jq -r .result "$AKC_DIR/body")" = 'hello over http' ]
	hget n1 /jobs/no-such-job
	[ "$(code)" = 404 ]
	hget n1 '/jobs/bad%20id'
	[ "$(code)" = 404 ]
	j=$(hget n1 '/results?since=0')
	[ "$(code)" = 200 ]
	[ "$(jq -r '.results[] | select(.id == "web-1") | .result' <<<"$j")" = 'hello over http' ]
	hget n1 '/results?since=x'
	[ "$(code)" = 400 ]
	# a generated id
	j=$(hget n1 /jobs -X POST --data-binary 'no id' -H "$(auth)")
	[[ "$(jq -r .id <<<"$j")" =~ ^[0-9a-f]{32}$ ]]
	# every node's metrics are valid; the master's come from its node alone
	if command -v promtool >/dev/null; then
		for n in n1 n2 n3; do
			hget "$n" /metrics > "$AKC_DIR/$n.metrics"
			promtool check metrics < "$AKC_DIR/$n.metrics" ||
			    { cat "$AKC_DIR/$n.metrics"; false; }
		done
	else
		echo "# promtool is missing (apt-get install prometheus): format not checked" >&3
	fi
	for n in n1 n2 n3; do
		[ "$(metric "$n" 'akc_members{status="Up"}')" = 3 ]
		[ "$(metric "$n" 'akc_daemon_up{daemon="leaderd"}')" = 1 ]
		[ -n "$(metric "$n" 'akc_messages_sent_total{type="heartbeat"}')" ]
		if [ "$(metric "$n" 'akc_daemon_up{daemon="master"}')" = 1 ]; then
			[ -z "$where" ]
			where=$n
		fi
	done
	[ -n "$where" ]
	[ "$(metric "$where" 'akc_singleton_running_here{singleton="master"}')" = 1 ]
	local done0 lat0
	wait_until 10 eval '[ "$(metric "$where" akc_master_jobs_completed_total{status=\"done\"})" -ge 2 ]'
	done0=$(metric "$where" 'akc_master_jobs_completed_total{status="done"}')
	lat0=$(metric "$where" akc_master_job_latency_seconds_count)
	for ((i = 0; i < 5; i++)); do
		hget n2 "/jobs?id=more-$i" -X POST --data-binary "job $i" -H "$(auth)" >/dev/null
		[ "$(code)" = 200 ]
	done
	wait_until 30 eval '[ "$(metric "$where" akc_master_jobs_completed_total{status=\"done\"})" = $((done0 + 5)) ]'
	[ "$(metric "$where" akc_master_job_latency_seconds_count)" -ge $((lat0 + 5)) ]
	[ "$(metric "$where" akc_master_jobs_accepted_total)" = $((done0 + 5)) ]
	[ "$(metric "$where" 'akc_master_workers{state="idle"}')" = 1 ]
	[ "$(metric "$where" akc_master_journal_bytes)" -gt 0 ]
	[ -n "$(metric "$where" "akc_master_replication_lag_events{standby=\"$([ "$where" = n1 ] && echo n2 || echo n1)\"}")" ]
	# a node without the master sends its requests over a link, the master
	# link or the proxy link (not the relay), and says which
	local other sent0
	other=$([ "$where" = n2 ] && echo n3 || echo n2)
	wait_until 20 eval '[ "$(metric "$other" akc_singleton_link_peers_up{singleton=\"master\"})" -ge 1 ]'
	sent0=$(( $(metric "$other" 'akc_singleton_link_sent_total{singleton="master",path="link"}') +
	    $(metric "$other" 'akc_singleton_link_sent_total{singleton="master",path="master"}') ))
	hget "$other" '/jobs?id=over-link' -X POST --data-binary 'linked' -H "$(auth)" >/dev/null
	[ "$(code)" = 200 ]
	[ $(( $(metric "$other" 'akc_singleton_link_sent_total{singleton="master",path="link"}') +
	    $(metric "$other" 'akc_singleton_link_sent_total{singleton="master",path="master"}') )) -gt "$sent0" ]
	[ -n "$(metric "$other" 'akc_singleton_link_received_total{singleton="master",path="relay"}')" ]
	[ "$(metric "$other" 'akc_singleton_link_dropped_total{singleton="master",reason="unauthenticated"}')" = 0 ]
}

# rstream NODE FILE QUERY [curl args...]: GET /results?QUERY as a stream into FILE, in the background.
rstream() {
	local name=$1 file=$2 q=$3; shift 3
	curl -sN "$@" "$(url_of "$name")/results?$q" > "$file" 2>&1 3>&- &
	echo $! >> "$AKC_DIR/pids"
}

# ids_of FILE: the ids of a result stream's events, in order, one line.
ids_of() { data "$1" | jq -r .id | tr '\n' ' '; }

@test "GET /results streams result lines as SSE (Accept or ?follow=1), pushed as committed; Last-Event-ID resumes" {
	work_cluster 3
	start_httpd n2
	# its jobs' command ends are stamped: AKC_DIR/end.ID
	start_worker n1 --exec 'cat; date +%s.%N > "$AKC_DIR/end.$AKC_WORK_ID"' >/dev/null
	akc-submit -c "$(conf_of n3)" --id r-0 --wait "zero" >/dev/null
	# without follow: the JSON answer of today
	j=$(hget n2 '/results?since=0')
	[ "$(code)" = 200 ]
	[ "$(jq -r '.results[0].id' <<<"$j")" = r-0 ]
	hget n2 '/results?follow=maybe'
	[ "$(code)" = 400 ]
	rstream n2 "$AKC_DIR/s1" 'since=0' -H 'Accept: text/event-stream'
	rstream n2 "$AKC_DIR/s2" 'since=0&follow=1'
	wait_until 10 eval '[ "$(ids_of "$AKC_DIR/s1")" = "r-0 " ]'
	wait_until 10 eval '[ "$(ids_of "$AKC_DIR/s2")" = "r-0 " ]'
	# the id: line is the seq, the data the akc-results line
	local seq0
	seq0=$(akc-results -c "$(conf_of n1)" | jq -r 'select(.id == "r-0") | .seq')
	grep -qx "id: $seq0" "$AKC_DIR/s1"
	diff <(data "$AKC_DIR/s1" | jq -cS .) <(akc-results -c "$(conf_of n1)" | jq -cS .)
	# the stream waits (a long poll parked at the master) and gets the next at once
	akc-submit -c "$(conf_of n3)" --id r-1 --wait "one" >/dev/null
	wait_until 5 eval '[ "$(ids_of "$AKC_DIR/s1")" = "r-0 r-1 " ]'
	wait_until 5 eval '[ "$(ids_of "$AKC_DIR/s2")" = "r-0 r-1 " ]'
	# resumed after r-0: r-1 and what comes next, nothing before
	rstream n2 "$AKC_DIR/s3" 'since=0' -H 'Accept: text/event-stream' -H "Last-Event-ID: $seq0"
	akc-submit -c "$(conf_of n3)" --id r-2 --wait "two" >/dev/null
	wait_until 10 eval '[ "$(ids_of "$AKC_DIR/s3")" = "r-1 r-2 " ]'
	wait_until 10 eval '[ "$(ids_of "$AKC_DIR/s1")" = "r-0 r-1 r-2 " ]'
	head -c 200 "$AKC_DIR/s1" | grep -q '^retry: '
	rstream n2 "$AKC_DIR/s4" 'since=0' -H 'Accept: text/event-stream' -H 'Last-Event-ID: x'
	wait_until 5 grep -q 'Last-Event-ID must be a sequence number' "$AKC_DIR/s4"
	# pushed: each line arrives milliseconds after its job's command ended, where
	# polling would take up to its period (the median of 5 is well under 100 ms)
	curl -sN "$(url_of n2)/results?since=0&follow=1" 3>&- \
	    > >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done > "$AKC_DIR/s5" 3>&-) &
	echo $! >> "$AKC_DIR/pids"
	wait_until 10 grep -q '"id":"r-2"' "$AKC_DIR/s5"
	# s1, s2, s3, s5 (s4 was refused)
	[ "$(curl -s "$(url_of n2)/metrics" | awk '$1 == "akc_http_result_streams" { print $2 }')" = 4 ]
	local i d all=()
	for ((i = 0; i < 5; i++)); do
		akc-submit -c "$(conf_of n3)" --id "t-$i" --wait "x" >/dev/null
		wait_until 5 grep -q "\"id\":\"t-$i\"" "$AKC_DIR/s5"
		d=$(awk -v id="\"id\":\"t-$i\"" -v e="$(cat "$AKC_DIR/end.t-$i")" \
		    'index($0, id) { printf "%d", ($1 - e) * 1000; exit }' "$AKC_DIR/s5")
		all+=("$d")
	done
	echo "# job end -> its SSE line: ${all[*]} ms" >&3
	(( $(printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }') < 100 ))
}

@test "HTTPS with a certificate: cert and key from [http], checked by the client" {
	command -v openssl >/dev/null || skip "openssl is missing"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 -keyout "$AKC_DIR/key.pem" -out "$AKC_DIR/cert.pem" \
	    2>/dev/null
	start_cluster 1
	start_httpd n1 "tls-cert-file=$AKC_DIR/cert.pem" "tls-key-file=$AKC_DIR/key.pem"
	wait_until 20 all_up n1 1
	run curl -s --cacert "$AKC_DIR/cert.pem" "$(url_of n1)/alive"
	assert_success
	assert_output '{"alive":true}'
	[[ "$(url_of n1)" == https://* ]]
	# plain HTTP is not served there
	run curl -s -m 5 "http://$(url_of n1 | sed 's|https://||')/alive"
	refute_output '{"alive":true}'
	# the event stream over TLS
	curl -sN --cacert "$AKC_DIR/cert.pem" "$(url_of n1)/events" > "$AKC_DIR/s" 3>&- &
	echo $! >> "$AKC_DIR/pids"
	wait_until 10 grep -q '"type":"MemberUp"' "$AKC_DIR/s"
}

@test "a stalled event-stream reader holds up nobody; streams over the limit get 503" {
	http_cluster 1
	wait_until 20 all_up n1 1
	local stalled i
	stream n1 "$AKC_DIR/stalled"
	stalled=$(tail -1 "$AKC_DIR/pids")
	wait_until 10 grep -q '^event: snapshot' "$AKC_DIR/stalled"
	kill -STOP "$stalled"
	stream n1 "$AKC_DIR/live"
	wait_until 10 grep -q '"type":"MemberUp"' "$AKC_DIR/live"
	for ((i = 0; i < 20; i++)); do
		answers n1 /alive 200
	done
	# 64 streams are open at most (the two above and 62 more), the next is refused
	for ((i = 0; i < 62; i++)); do
		stream n1 "$AKC_DIR/many.$i"
	done
	wait_until 10 eval '[ "$(curl -s "$(url_of n1)/metrics" | awk "\$1 == \"akc_http_event_streams\" { print \$2 }")" = 64 ]'
	hget n1 /events -m 5
	[ "$(code)" = 503 ]
	kill -CONT "$stalled"
}
