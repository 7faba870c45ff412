#!/usr/bin/env bash
# Benchmarks ferry against the physical limit (raw loopback TCP, iperf3) and
# a peer (nginx with sendfile), in one run, and prints the ratios:
#   1. one 1 GiB download over loopback, to nowhere (the same client code
#      for ferry and nginx: target/release/examples/ferry-load), free and
#      pinned (servers on CPU 0, client on CPU 1: steadier);
#   2. 4 KiB downloads, one request per connection, 50 clients, 20,000
#      requests: requests per second and p50/p99 latency (nginx also with ab);
#   3. server memory (RSS) per idle connection with 1,000 held open;
#   4. the cache (ferry cache) in front of the same ferry server: 1 GiB and
#      4 KiB hits against the origin directly (revalidated on every request,
#      and fresh with --fresh-for), and 200 clients at once on a cold 64 MiB
#      file: bytes moved from the origin and first-byte times, by the
#      clients and on the wire (scripts/bench-herd.sh); and requests
#      abandoned after the header (scripts/bench-abandon.sh): origin bytes
#      and peak disk per request;
#   5. TLS (scripts/bench-tls.sh): a 1 GiB download and 4 KiB requests with
#      session resumption, ferry's TLS port against nginx with ssl, and the
#      memory per idle TLS connection; what --metrics costs
#      (scripts/bench-metrics.sh): 4 KiB requests and idle memory with and
#      without it;
#   6. 8 clients on 127.0.0.1 sending RESUMEs of the 1 GiB file near its end
#      with a wrong MD5 (each costs a prefix hash) while a client on
#      127.0.0.2 downloads and resumes the 4 KiB file: its latencies.
# FERRY=BINARY benchmarks another ferry build with the same client.
# Installs what it needs (Debian: nginx, iperf3, apache2-utils, tcpdump,
# tshark). Not a test:
# nothing here passes or fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-20000}
CONCURRENCY=${CONCURRENCY:-50}
IDLE=${IDLE:-1000}

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ab >/dev/null || need+=(apache2-utils)
# The herd on the wire (scripts/bench-herd.sh).
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
if [ ${#need[@]} -gt 0 ]; then
    echo "bench: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release --locked -p ferry --bin ferry --example ferry-load >&2
# FERRY=path/to/another/ferry benchmarks that build instead (say, the one
# before a change, to compare both in one sitting).
FERRY=${FERRY:-target/release/ferry}
LOAD=target/release/examples/ferry-load

WORK=$(mktemp -d /tmp/ferry-bench.XXXXXX)
. scripts/lib/stop.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Waits until something listens on a port, without connecting to it (iperf3
# -1 would take a probe for its one client).
wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }
gbps() { python3 -c "import sys; print(f'{float(sys.argv[1])/1e9:.2f}')" "$1"; }

echo "bench: preparing files in $WORK" >&2
mkdir -p "$WORK/files" "$WORK/ferry/public" "$WORK/nginx"
head -c $((1 << 30)) /dev/zero > "$WORK/files/big.bin"
head -c 4096 /dev/urandom > "$WORK/files/f4k"
ln "$WORK/files/big.bin" "$WORK/ferry/public/big.bin"
ln "$WORK/files/f4k" "$WORK/ferry/public/f4k"
cat "$WORK/files/big.bin" > /dev/null

# --- servers ---
FPORT=$(free_port)
RUST_LOG=warn "$FERRY" serve "$FPORT" --root "$WORK/ferry" --max-connections 4096 > /dev/null &
FERRY_PID=$!; PIDS+=("$FERRY_PID")
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
    tcp_nopush on;
    keepalive_timeout 0;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$NPORT; root $WORK/files; }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
wait_port "$FPORT"; wait_port "$NPORT"

# --- 1. one 1 GiB download ---
echo "bench: 1 GiB downloads ($RUNS runs each, interleaved, median kept)" >&2
iperf() {
    local port; port=$(free_port)
    iperf3 -s -1 -p "$port" > /dev/null 2>&1 & local pid=$!
    wait_port "$port"
    iperf3 -c 127.0.0.1 -p "$port" -n 1G -J "$@" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/8)'
    wait "$pid" 2>/dev/null || true
}
: > "$WORK/dl.ferry"; : > "$WORK/dl.nginx"; : > "$WORK/dl.iperf"; : > "$WORK/dl.iperf1m"
for _ in $(seq "$RUNS"); do
    "$LOAD" download ferry "127.0.0.1:$FPORT" big.bin | field bytes_per_second >> "$WORK/dl.ferry"
    "$LOAD" download http "127.0.0.1:$NPORT" big.bin | field bytes_per_second >> "$WORK/dl.nginx"
    iperf >> "$WORK/dl.iperf"
    iperf -l 1M >> "$WORK/dl.iperf1m"
done
FERRY_DL=$(median < "$WORK/dl.ferry")
NGINX_DL=$(median < "$WORK/dl.nginx")
IPERF_DEFAULT=$(median < "$WORK/dl.iperf")
IPERF_1M=$(median < "$WORK/dl.iperf1m")

# The same, with every server thread on CPU 0 and the client on CPU 1: far
# steadier than letting the scheduler move them around.
echo "bench: 1 GiB downloads pinned (servers on CPU 0, client on CPU 1)" >&2
pin_all() { for pid in "$@"; do taskset -a -p "$PIN_MASK" "$pid" > /dev/null; done; }
PIN_MASK=1 pin_all "$FERRY_PID" "$NGINX_PID" $(pgrep -P "$NGINX_PID")
: > "$WORK/pin.ferry"; : > "$WORK/pin.nginx"
for _ in $(seq "$RUNS"); do
    taskset -c 1 "$LOAD" download ferry "127.0.0.1:$FPORT" big.bin | field bytes_per_second >> "$WORK/pin.ferry"
    taskset -c 1 "$LOAD" download http "127.0.0.1:$NPORT" big.bin | field bytes_per_second >> "$WORK/pin.nginx"
done
PIN_MASK=$(python3 -c "print(hex((1 << $(nproc)) - 1))") pin_all "$FERRY_PID" "$NGINX_PID" $(pgrep -P "$NGINX_PID")
FERRY_PIN=$(median < "$WORK/pin.ferry")
NGINX_PIN=$(median < "$WORK/pin.nginx")

# --- 2. small requests ---
echo "bench: $REQUESTS requests of 4 KiB, $CONCURRENCY clients" >&2
FERRY_RPS_LINE=$("$LOAD" rps ferry "127.0.0.1:$FPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
NGINX_RPS_LINE=$("$LOAD" rps http "127.0.0.1:$NPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
PIN_MASK=1 pin_all "$FERRY_PID" "$NGINX_PID" $(pgrep -P "$NGINX_PID")
FERRY_RPS_PIN=$(taskset -c 1 "$LOAD" rps ferry "127.0.0.1:$FPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS" | field rps)
NGINX_RPS_PIN=$(taskset -c 1 "$LOAD" rps http "127.0.0.1:$NPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS" | field rps)
PIN_MASK=$(python3 -c "print(hex((1 << $(nproc)) - 1))") pin_all "$FERRY_PID" "$NGINX_PID" $(pgrep -P "$NGINX_PID")
AB_OUT=$(ab -q -n "$REQUESTS" -c "$CONCURRENCY" "http://127.0.0.1:$NPORT/f4k" 2>/dev/null)
AB_RPS=$(awk '/Requests per second/ {print $4}' <<< "$AB_OUT")
AB_P50=$(awk '$1 == "50%" {print $2}' <<< "$AB_OUT")
AB_P99=$(awk '$1 == "99%" {print $2}' <<< "$AB_OUT")

# --- 3. memory per idle connection ---
echo "bench: RSS with $IDLE idle connections" >&2
nginx_rss() { local t=0; for p in $(pgrep -P "$NGINX_PID"); do t=$((t + $(rss_kib "$p"))); done; echo "$t"; }
idle_rss() { # $1 port, $2 command printing RSS in KiB
    local before after pid
    before=$($2)
    "$LOAD" idle "127.0.0.1:$1" "$IDLE" 4 > "$WORK/idle.out" & pid=$!
    for _ in $(seq 100); do grep -q holding "$WORK/idle.out" 2>/dev/null && break; sleep 0.05; done
    sleep 1
    after=$($2)
    wait "$pid"
    python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]):.2f}')" "$before" "$after" "$IDLE"
}
FERRY_IDLE=$(idle_rss "$FPORT" "rss_kib $FERRY_PID")
NGINX_IDLE=$(idle_rss "$NPORT" nginx_rss)

# --- 4. the cache ---
echo "bench: the cache in front of the same ferry server" >&2
start_cache() { # $1 port, $2 folder, then extra options
    local port=$1 dir=$2; shift 2
    RUST_LOG=${CACHE_LOG:-warn} "$FERRY" cache "$port" --origin "127.0.0.1:$FPORT" --dir "$dir" \
        --max-size 4GiB --max-connections 4096 "$@" > /dev/null 2>> "$WORK/cache.log" &
    PIDS+=("$!")
    wait_port "$port"
}
CPORT=$(free_port); start_cache "$CPORT" "$WORK/cache"
HPORT=$(free_port); start_cache "$HPORT" "$WORK/cache-fresh" --fresh-for 3600
for port in "$CPORT" "$HPORT"; do
    "$LOAD" download ferry "127.0.0.1:$port" big.bin > /dev/null
    "$LOAD" download ferry "127.0.0.1:$port" f4k > /dev/null
done
: > "$WORK/c.direct"; : > "$WORK/c.cache"; : > "$WORK/c.fresh"
for _ in $(seq "$RUNS"); do
    "$LOAD" download ferry "127.0.0.1:$FPORT" big.bin | field bytes_per_second >> "$WORK/c.direct"
    "$LOAD" download ferry "127.0.0.1:$CPORT" big.bin | field bytes_per_second >> "$WORK/c.cache"
    "$LOAD" download ferry "127.0.0.1:$HPORT" big.bin | field bytes_per_second >> "$WORK/c.fresh"
done
C_DIRECT=$(median < "$WORK/c.direct"); C_CACHE=$(median < "$WORK/c.cache"); C_FRESH=$(median < "$WORK/c.fresh")
C_RPS_DIRECT=$("$LOAD" rps ferry "127.0.0.1:$FPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
C_RPS_CACHE=$("$LOAD" rps ferry "127.0.0.1:$CPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
C_RPS_FRESH=$("$LOAD" rps ferry "127.0.0.1:$HPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS")
head -c $((64 << 20)) /dev/urandom > "$WORK/ferry/public/cold.bin"
OPORT=$(free_port); CACHE_LOG=info start_cache "$OPORT" "$WORK/cache-cold"
COLD_LINE=$("$LOAD" cold "127.0.0.1:$OPORT" cold.bin -c 200)
kill -USR1 "${PIDS[-1]}"
for _ in $(seq 100); do grep -q "bytes from the origin" "$WORK/cache.log" && break; sleep 0.05; done
COLD_ORIGIN=$(grep -o '[0-9]* bytes from the origin' "$WORK/cache.log" | tail -1 | awk '{print $1}')
ABANDON=$(scripts/bench-abandon.sh "$FERRY" | sed 's/^/  /')
HERD_WIRE=$(HERD_RUNS=${HERD_RUNS:-3} scripts/bench-herd.sh "$FERRY" 2>&1 | sed 's/^/  /' || true)

# --- 4b. TLS (scripts/bench-tls.sh: its own ferry and nginx with ssl) ---
echo "bench: TLS against nginx with ssl" >&2
TLS_REPORT=$(RUNS=$RUNS REQUESTS=$REQUESTS CONCURRENCY=$CONCURRENCY scripts/bench-tls.sh "$FERRY")

# --- 4c. what --metrics costs (scripts/bench-metrics.sh) ---
echo "bench: with and without --metrics" >&2
METRICS_REPORT=$(RUNS=$RUNS REQUESTS=$REQUESTS CONCURRENCY=$CONCURRENCY IDLE=$IDLE scripts/bench-metrics.sh "$FERRY")

# --- 5. RESUME attack ---
echo "bench: RESUME attack (${ATTACK_SECS:=20} s)" >&2
ATTACK_LINE=$("$LOAD" resume-attack "127.0.0.1:$FPORT" big.bin f4k "$ATTACK_SECS" -c 8)

# --- report ---
f() { field "$2" <<< "$1"; }
cat <<REPORT

ferry benchmark  ($(nproc) cores, $(uname -r))

1 GiB download over loopback, client discards the bytes   GB/s (median of $RUNS)
  ferry (sendfile)                                        $(gbps "$FERRY_DL")
  nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') (sendfile)                             $(gbps "$NGINX_DL")    $(ratio "$FERRY_DL" "$NGINX_DL") of nginx
  raw TCP limit: iperf3 default writes                    $(gbps "$IPERF_DEFAULT")    $(ratio "$FERRY_DL" "$IPERF_DEFAULT") of it
  raw TCP limit: iperf3 -l 1M                             $(gbps "$IPERF_1M")    $(ratio "$FERRY_DL" "$IPERF_1M") of it
  pinned (servers on CPU 0, client on CPU 1):
  ferry                                                   $(gbps "$FERRY_PIN")
  nginx                                                   $(gbps "$NGINX_PIN")    $(ratio "$FERRY_PIN" "$NGINX_PIN") of nginx

4 KiB download, new connection each, $CONCURRENCY clients, $REQUESTS requests
                                     req/s     p50 ms   p99 ms   failures
  ferry (ferry-load)                 $(f "$FERRY_RPS_LINE" rps)     $(f "$FERRY_RPS_LINE" p50_ms)    $(f "$FERRY_RPS_LINE" p99_ms)    $(f "$FERRY_RPS_LINE" failures)
  nginx (ferry-load, HTTP/1.0)       $(f "$NGINX_RPS_LINE" rps)     $(f "$NGINX_RPS_LINE" p50_ms)    $(f "$NGINX_RPS_LINE" p99_ms)    $(f "$NGINX_RPS_LINE" failures)
  nginx (ab, no keep-alive)          $AB_RPS     $AB_P50       $AB_P99
  ferry / nginx (same client)        $(ratio "$(f "$FERRY_RPS_LINE" rps)" "$(f "$NGINX_RPS_LINE" rps)")
  pinned (servers on CPU 0, clients on CPU 1): ferry $FERRY_RPS_PIN, nginx $NGINX_RPS_PIN req/s, $(ratio "$FERRY_RPS_PIN" "$NGINX_RPS_PIN")

Memory per idle connection ($IDLE held open)      KiB
  ferry                                           $FERRY_IDLE
  nginx (workers)                                 $NGINX_IDLE

The cache (ferry cache --max-size 4GiB) in front of the same ferry server
  1 GiB, GB/s (median of $RUNS)      origin directly $(gbps "$C_DIRECT")
    cache hit, revalidated (op 40 to the origin, --fresh-for 0)   $(gbps "$C_CACHE")    $(ratio "$C_CACHE" "$C_DIRECT") of the origin
    cache hit, fresh (--fresh-for 3600)                           $(gbps "$C_FRESH")    $(ratio "$C_FRESH" "$C_DIRECT") of the origin
  4 KiB, $CONCURRENCY clients, $REQUESTS requests       req/s     p50 ms   p99 ms
    origin directly                  $(f "$C_RPS_DIRECT" rps)     $(f "$C_RPS_DIRECT" p50_ms)    $(f "$C_RPS_DIRECT" p99_ms)
    cache, revalidated               $(f "$C_RPS_CACHE" rps)     $(f "$C_RPS_CACHE" p50_ms)    $(f "$C_RPS_CACHE" p99_ms)    $(ratio "$(f "$C_RPS_CACHE" rps)" "$(f "$C_RPS_DIRECT" rps)") of the origin
    cache, fresh                     $(f "$C_RPS_FRESH" rps)     $(f "$C_RPS_FRESH" p50_ms)    $(f "$C_RPS_FRESH" p99_ms)    $(ratio "$(f "$C_RPS_FRESH" rps)" "$(f "$C_RPS_DIRECT" rps)") of the origin
  200 clients at once on a cold 64 MiB file
    bytes from the origin            $COLD_ORIGIN    $(ratio "$COLD_ORIGIN" $((64 << 20))) the file
    first byte (ms): first client $(f "$COLD_LINE" first_byte_min_ms), median $(f "$COLD_LINE" first_byte_p50_ms), last $(f "$COLD_LINE" first_byte_max_ms); all done $(f "$COLD_LINE" all_done_ms) ms; failures $(f "$COLD_LINE" failures)
    requests sent by the clients (ms): median $(f "$COLD_LINE" sent_p50_ms), last $(f "$COLD_LINE" sent_max_ms) after the first
    each client's first byte after its own request (ms): median $(f "$COLD_LINE" wait_p50_ms), longest $(f "$COLD_LINE" wait_max_ms)
$HERD_WIRE
$ABANDON

TLS 1.3, the same client (ferry-load with rustls) for both; nginx with ssl on ferry's certificate
$TLS_REPORT

What --metrics costs (the same server with and without it, scraped every second)
$METRICS_REPORT

RESUME attack: 8 clients re-hashing the 1 GiB file for $ATTACK_SECS s ($(f "$ATTACK_LINE" attack_requests) RESUMEs)
  another client's 4 KiB downloads and resumes: p50 $(f "$ATTACK_LINE" other_p50_ms) ms, p99 $(f "$ATTACK_LINE" other_p99_ms) ms, max $(f "$ATTACK_LINE" other_max_ms) ms ($(f "$ATTACK_LINE" other_requests) requests, $(f "$ATTACK_LINE" other_failures) failures)
REPORT
