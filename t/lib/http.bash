# t/lib/http.bash: akc-httpd on test nodes, and asking it things with curl.
# shellcheck shell=bash

# http_token: the bearer token of the test's nodes (made once, mode 0600).
http_token() {
	if [ ! -s "$AKC_DIR/token" ]; then
		(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$AKC_DIR/token")
	fi
	cat "$AKC_DIR/token"
}

# http_conf NAME [KEY=VALUE...]: adds an [http] section to NAME's configuration
# (a free port, the token, the page from the source tree), unless it has one.
http_conf() {
	local name=$1 port kv; shift
	grep -q '^\[http\]' "$AKC_DIR/$name.conf" && return 0
	port=$(free_port)
	http_token >/dev/null
	case " $* " in
	*" tls-cert-file="*) echo "https://127.0.0.1:$port" ;;
	*) echo "http://127.0.0.1:$port" ;;
	esac > "$AKC_DIR/$name.url"
	{
		echo "[http]"
		echo "address = 127.0.0.1:$port"
		echo "token-file = $AKC_DIR/token"
		echo "www-dir = $AKC_SRC/www"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >> "$AKC_DIR/$name.conf"
}

url_of() { cat "$AKC_DIR/$1.url"; }

# start_httpd NAME [KEY=VALUE...]: akc-httpd for NAME (with those [http]
# keys), then wait until it answers HTTP.
start_httpd() {
	local name=$1; shift
	http_conf "$name" "$@"
	start_daemon "$name" akc-httpd
	wait_until 10 curl -s -k -o /dev/null "$(url_of "$name")/alive"
}

# http_cluster N [conf args...]: nodes n1..nN as start_cluster makes them,
# each with akc-httpd.
http_cluster() {
	local n=$1 i
	start_cluster "$@"
	for ((i = 1; i <= n; i++)); do
		start_httpd "n$i"
	done
}

# hget NODE PATH [curl args...]: the body; the status code goes to $AKC_DIR/code.
hget() {
	local name=$1 path=$2; shift 2
	curl -s -k -o "$AKC_DIR/body" -w '%{http_code}' "$@" "$(url_of "$name")$path" > "$AKC_DIR/code"
	cat "$AKC_DIR/body"
}
code() { cat "$AKC_DIR/code"; }

# answers NODE PATH CODE: PATH answers CODE on NODE (for wait_until).
answers() {
	hget "$1" "$2" >/dev/null
	[ "$(code)" = "$3" ] || { echo "$2: $(code) $(cat "$AKC_DIR/body")"; return 1; }
}
