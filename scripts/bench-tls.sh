#!/usr/bin/env bash
# ferry over TLS against nginx with `ssl` on the same certificate (ferry's
# self-signed ECDSA P-256 one), TLS 1.3, the same client program for both
# (ferry-load, rustls; the cipher is the client's first choice, so the same
# for both): one 1 GiB download (median of RUNS), and 4 KiB requests, one
# per connection, CONCURRENCY clients, with session resumption; and the
# memory (RSS) each idle TLS connection costs, IDLE held open past their
# handshakes. Prints the ratios. Not a test: nothing here passes or fails.
#
#   scripts/bench-tls.sh [FERRY_BINARY]   (default target/release/ferry)
#
# A build without --tls-port prints one line saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=${1:-target/release/ferry}
RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-20000}
CONCURRENCY=${CONCURRENCY:-50}
IDLE=${IDLE:-1000}
LOAD=target/release/examples/ferry-load
[ -x "$FERRY" ] && [ -x "$LOAD" ] || cargo build --release --locked -p ferry --bin ferry --example ferry-load >&2
if ! "$FERRY" serve --help | grep -q -- --tls-port; then
    echo "  TLS: this build has no --tls-port"
    exit 0
fi
# Run alone (not from bench.sh), it installs its peer itself.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "bench-tls: installing nginx" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d /tmp/ferry-tls.XXXXXX)
. scripts/lib/stop.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }
gbps() { python3 -c "import sys; print(f'{float(sys.argv[1])/1e9:.2f}')" "$1"; }

mkdir -p "$WORK/files" "$WORK/ferry/public" "$WORK/nginx"
head -c $((1 << 30)) /dev/zero > "$WORK/files/big.bin"
head -c 4096 /dev/urandom > "$WORK/files/f4k"
ln "$WORK/files/big.bin" "$WORK/ferry/public/big.bin"
ln "$WORK/files/f4k" "$WORK/ferry/public/f4k"

FPORT=$(free_port); TPORT=$(free_port)
RUST_LOG=warn "$FERRY" serve "$FPORT" --tls-port "$TPORT" --tls-only --bind 127.0.0.1 \
    --root "$WORK/ferry" --max-connections 4096 > /dev/null &
PIDS+=("$!")
FERRY_PID=$!
wait_port "$TPORT"
NPORT=$(free_port)
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
user root;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_timeout 0;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$NPORT ssl;
        ssl_certificate $WORK/ferry/tls-cert.pem;
        ssl_certificate_key $WORK/ferry/tls-key.pem;
        root $WORK/files;
    }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=("$!")
NGINX_PID=$!
wait_port "$NPORT"
export FERRY_LOAD_CA="$WORK/ferry/tls-cert.pem"

: > "$WORK/dl.ferry"; : > "$WORK/dl.nginx"
for _ in $(seq "$RUNS"); do
    "$LOAD" download ferry+tls "127.0.0.1:$TPORT" big.bin | field bytes_per_second >> "$WORK/dl.ferry"
    "$LOAD" download https "127.0.0.1:$NPORT" big.bin | field bytes_per_second >> "$WORK/dl.nginx"
done
FERRY_DL=$(median < "$WORK/dl.ferry"); NGINX_DL=$(median < "$WORK/dl.nginx")
FERRY_RPS=$("$LOAD" rps ferry+tls "127.0.0.1:$TPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
NGINX_RPS=$("$LOAD" rps https "127.0.0.1:$NPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")

# Memory per idle TLS connection: RSS before and while IDLE connections,
# each past its handshake, wait for a request (nginx: its workers' RSS).
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
nginx_rss() { local t=0; for p in $(pgrep -P "$NGINX_PID"); do t=$((t + $(rss_kib "$p"))); done; echo "$t"; }
idle_rss() { # $1 protocol, $2 port, $3 command printing RSS in KiB
    local before after pid
    before=$($3)
    "$LOAD" idle "$1" "127.0.0.1:$2" "$IDLE" 4 > "$WORK/idle.out" & pid=$!
    for _ in $(seq 200); do grep -q holding "$WORK/idle.out" 2>/dev/null && break; sleep 0.05; done
    sleep 1
    after=$($3)
    wait "$pid"
    python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]):.2f}')" "$before" "$after" "$IDLE"
}
FERRY_IDLE=$(idle_rss ferry+tls "$TPORT" "rss_kib $FERRY_PID")
NGINX_IDLE=$(idle_rss https "$NPORT" nginx_rss)
f() { field "$2" <<< "$1"; }
cat <<REPORT
  1 GiB download, GB/s (median of $RUNS)
    ferry (tls://)                   $(gbps "$FERRY_DL")
    nginx (https)                    $(gbps "$NGINX_DL")    $(ratio "$FERRY_DL" "$NGINX_DL") of nginx
  4 KiB, new connection each, $CONCURRENCY clients, $REQUESTS requests, sessions resumed
                                     req/s     p50 ms   p99 ms   failures
    ferry (tls://)                   $(f "$FERRY_RPS" rps)     $(f "$FERRY_RPS" p50_ms)    $(f "$FERRY_RPS" p99_ms)    $(f "$FERRY_RPS" failures)
    nginx (https)                    $(f "$NGINX_RPS" rps)     $(f "$NGINX_RPS" p50_ms)    $(f "$NGINX_RPS" p99_ms)    $(f "$NGINX_RPS" failures)
    ferry / nginx                    $(ratio "$(f "$FERRY_RPS" rps)" "$(f "$NGINX_RPS" rps)")
  Memory per idle TLS connection ($IDLE held past the handshake), KiB
    ferry (tls://)                   $FERRY_IDLE
    nginx (https)                    $NGINX_IDLE    $(ratio "$FERRY_IDLE" "$NGINX_IDLE") of nginx
REPORT
