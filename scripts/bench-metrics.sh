#!/usr/bin/env bash
# What --metrics costs: two ferry servers on the same files, one with
# --metrics (scraped every second while measured, as Prometheus would),
# one without, measured in turns in one sitting: 4 KiB requests (one per
# connection, CONCURRENCY clients, REQUESTS each, median of RUNS) and the
# memory (RSS) per idle connection, IDLE held open. Prints the ratios. Not
# a test: nothing here passes or fails.
#
#   scripts/bench-metrics.sh [FERRY_BINARY]   (default target/release/ferry)
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=${1:-target/release/ferry}
RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-20000}
CONCURRENCY=${CONCURRENCY:-50}
IDLE=${IDLE:-1000}
LOAD=target/release/examples/ferry-load
[ -x "$FERRY" ] && [ -x "$LOAD" ] || cargo build --release --locked -p ferry --bin ferry --example ferry-load >&2
if ! "$FERRY" serve --help | grep -q -- --metrics; then
    echo "  metrics: this build has no --metrics"
    exit 0
fi

WORK=$(mktemp -d /tmp/ferry-metrics.XXXXXX)
. scripts/lib/stop.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}x' if b else 'n/a')" "$1" "$2"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Two roots with the same file (a served root is locked to one server).
mkdir -p "$WORK/plain/public" "$WORK/metered/public"
head -c 4096 /dev/urandom > "$WORK/plain/public/f4k"
ln "$WORK/plain/public/f4k" "$WORK/metered/public/f4k"

PPORT=$(free_port); MPORT=$(free_port); SCRAPE=$(free_port)
RUST_LOG=warn "$FERRY" serve "$PPORT" --bind 127.0.0.1 --root "$WORK/plain" --max-connections 4096 > /dev/null &
PIDS+=("$!"); PLAIN_PID=$!
RUST_LOG=warn "$FERRY" serve "$MPORT" --bind 127.0.0.1 --root "$WORK/metered" --max-connections 4096 \
    --metrics "127.0.0.1:$SCRAPE" > /dev/null &
PIDS+=("$!"); METERED_PID=$!
wait_port "$PPORT"; wait_port "$MPORT"; wait_port "$SCRAPE"
# A scraper, as Prometheus would be, for the whole run.
scrape() { exec 3<>"/dev/tcp/127.0.0.1/$SCRAPE" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3 > /dev/null; exec 3<&-; }
(while sleep 1; do scrape 2>/dev/null || true; done) &
PIDS+=("$!")

: > "$WORK/rps.plain"; : > "$WORK/rps.metered"
for _ in $(seq "$RUNS"); do
    "$LOAD" rps ferry "127.0.0.1:$PPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS" | field rps >> "$WORK/rps.plain"
    "$LOAD" rps ferry "127.0.0.1:$MPORT" f4k -c "$CONCURRENCY" -n "$REQUESTS" | field rps >> "$WORK/rps.metered"
done
PLAIN_RPS=$(median < "$WORK/rps.plain"); METERED_RPS=$(median < "$WORK/rps.metered")

idle_rss() { # $1 port, $2 pid
    local before after pid
    before=$(rss_kib "$2")
    "$LOAD" idle "127.0.0.1:$1" "$IDLE" 4 > "$WORK/idle.out" & pid=$!
    for _ in $(seq 200); do grep -q holding "$WORK/idle.out" 2>/dev/null && break; sleep 0.05; done
    sleep 1
    after=$(rss_kib "$2")
    wait "$pid"
    python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]):.2f}')" "$before" "$after" "$IDLE"
}
PLAIN_IDLE=$(idle_rss "$PPORT" "$PLAIN_PID")
METERED_IDLE=$(idle_rss "$MPORT" "$METERED_PID")
cat <<REPORT
  4 KiB, new connection each, $CONCURRENCY clients, $REQUESTS requests (median of $RUNS), req/s
    ferry                            $PLAIN_RPS
    ferry --metrics (scraped 1/s)    $METERED_RPS    $(ratio "$METERED_RPS" "$PLAIN_RPS") of without
  Memory per idle connection ($IDLE held open), KiB
    ferry                            $PLAIN_IDLE
    ferry --metrics                  $METERED_IDLE
REPORT
