#!/usr/bin/env bash
# Benchmarks `ferry serve --store s3://...` against reading the same objects
# from the object store's S3 endpoint directly, in one run, with the same
# client (target/release/examples/ferry-load: ferry's protocol, or plain
# HTTP GETs of the objects), and prints the ratios:
#   1. a 1 GiB object downloaded to nowhere (median of RUNS, interleaved);
#   2. a 4 KiB object, one request per connection, 50 clients;
#   3. the CPU each 1 GiB download cost the store, ferry and the client,
#      and the ratio the extra hop's CPU allows when every core is busy.
# The store is SeaweedFS (scripts/setup.sh installs it); every request is
# signed (the direct GETs with presigned URLs). Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
REQUESTS=${REQUESTS:-5000}
scripts/setup.sh
cargo build --release --locked -p ferry --bin ferry --example ferry-load >&2
# FERRY=path/to/another/ferry benchmarks that build (say, the one before a
# change, to compare both in one sitting).
FERRY=${FERRY:-target/release/ferry}
LOAD=target/release/examples/ferry-load
WORK=$(mktemp -d /tmp/ferry-bench-s3.XXXXXX)
. scripts/lib/stop.sh

# Four different free ports whose gRPC twins (+10000) are free too, all
# below the kernel's ephemeral range (32768 and up): no outgoing connection
# can take one before weed binds it.
read -r MASTER VOLUME FILER S3 < <(python3 -c '
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
ports = []
while len(ports) < 4:
    p = random.randint(20000, 22700)
    if p not in ports and free(p) and free(p + 10000):
        ports.append(p)
print(*ports)
')
export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret
cat > "$WORK/s3.json" <<JSON
{"identities":[
  {"name":"ferry","credentials":[{"accessKey":"$AWS_ACCESS_KEY_ID","secretKey":"$AWS_SECRET_ACCESS_KEY"}],"actions":["Admin","Read","Write","List"]}]}
JSON
mkdir -p "$WORK/data"
target/venv/bin/weed server -dir="$WORK/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$MASTER" -volume.port="$VOLUME" -filer.port="$FILER" \
    -s3 -s3.port="$S3" -s3.config="$WORK/s3.json" -master.telemetry=false \
    -volume.max=0 -s3.port.iceberg=0 -s3.port.lance=0 > "$WORK/weed.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 240); do
    echo "s3.bucket.create -name bench" | target/venv/bin/weed shell -master="127.0.0.1:$MASTER" 2>/dev/null \
        | grep -q "created bucket\|already exist" && break
    sleep 0.5
done
for _ in $(seq 240); do ss -Hltn "sport = :$S3" | grep -q . && break; sleep 0.25; done
sleep 1
FPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$FERRY" serve "$FPORT" --bind 127.0.0.1 --store s3://bench \
    --s3-endpoint "http://127.0.0.1:$S3" --quota-size 100GiB > /dev/null 2> "$WORK/ferry.log" &
PIDS+=("$!")
for _ in $(seq 100); do ss -Hltn "sport = :$FPORT" | grep -q . && break; sleep 0.1; done
ss -Hltn "sport = :$FPORT" | grep -q . || { cat "$WORK/ferry.log" >&2; tail -20 "$WORK/weed.log" >&2; exit 1; }

echo "bench-s3: uploading a 1 GiB and a 4 KiB object through ferry" >&2
head -c $((1 << 30)) /dev/urandom > "$WORK/big.bin"
head -c 4096 /dev/urandom > "$WORK/f4k"
(cd "$WORK" && "$OLDPWD/target/release/ferry" put "127.0.0.1:$FPORT" big.bin f4k -q)
rm "$WORK/big.bin"

BIG_GET=$("$LOAD" presign "http://127.0.0.1:$S3" bench public/big.bin)
SMALL_GET=$("$LOAD" presign "http://127.0.0.1:$S3" bench public/f4k)
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# CPU seconds a process has used so far (user and system).
# Past the name in parentheses, which may hold spaces: utime and stime
# are then the 12th and 13th fields.
cpu() { sed 's/.*) //' "/proc/$1/stat" | awk -v t="$(getconf CLK_TCK)" '{print ($12 + $13) / t}'; }
# One 1 GiB download ($1: direct or ferry; the rest: the client's command
# line). Appends its speed to $WORK/$1, and to $WORK/$1.cpu the CPU
# seconds it cost the store, ferry and the client, and its wall time.
download() {
    local path=$1 store ferry start out client
    shift
    store=$(cpu "${PIDS[0]}"); ferry=$(cpu "${PIDS[1]}"); start=$(date +%s.%N)
    # `times` in the subshell: the CPU its child, the client, used (with a
    # decimal point whatever the locale). A client that fails stops the script.
    out=$( (LC_ALL=C; "$@" && times) )
    echo "$out" | head -1 | field bytes_per_second >> "$WORK/$path"
    client=$(echo "$out" | tail -1 | awk '{ for (i = 1; i <= 2; i++) { split($i, t, "m"); sum += t[1] * 60 + t[2] } print sum }')
    echo "$(cpu "${PIDS[0]}") $store $(cpu "${PIDS[1]}") $ferry $client $(date +%s.%N) $start" \
        | awk '{print $1 - $2, $3 - $4, $5, $6 - $7}' >> "$WORK/$path.cpu"
}
: > "$WORK/direct"; : > "$WORK/ferry"; : > "$WORK/direct.cpu"; : > "$WORK/ferry.cpu"
for _ in $(seq "$RUNS"); do
    download direct "$LOAD" download http "127.0.0.1:$S3" "$BIG_GET"
    download ferry "$LOAD" download ferry "127.0.0.1:$FPORT" big.bin
done
DIRECT=$(median < "$WORK/direct"); THROUGH=$(median < "$WORK/ferry")
RPS_DIRECT=$("$LOAD" rps http "127.0.0.1:$S3" "$SMALL_GET" -c 50 -n "$REQUESTS")
RPS_FERRY=$("$LOAD" rps ferry "127.0.0.1:$FPORT" f4k -c 50 -n "$REQUESTS")
python3 - "$DIRECT" "$THROUGH" "$RPS_DIRECT" "$RPS_FERRY" "$WORK" "$(nproc)" <<'PY'
import statistics, sys
direct, through = float(sys.argv[1]), float(sys.argv[2])
def f(line, key):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)[key]
d, r = sys.argv[3], sys.argv[4]
print(f"ferry serve --store s3://... (SeaweedFS) against its S3 endpoint, same client")
print(f"  1 GiB object, GB/s (median)   S3 GET {direct/1e9:.2f}   through ferry {through/1e9:.2f}   {through/direct:.2f}x")
print(f"  4 KiB object, 50 clients      S3 GET {f(d,'rps')} req/s (p99 {f(d,'p99_ms')} ms)   through ferry {f(r,'rps')} req/s (p99 {f(r,'p99_ms')} ms)   {float(f(r,'rps'))/float(f(d,'rps')):.2f}x   failures {f(d,'failures')}/{f(r,'failures')}")
# Where the CPU went per 1 GiB download (medians). When both paths keep
# every core busy, the ratio cannot pass the direct path's CPU over the
# CPU of the path through ferry: the extra hop's cost caps it.
def cpu(path):
    rows = [list(map(float, line.split())) for line in open(f"{sys.argv[5]}/{path}.cpu")]
    return [statistics.median(column) for column in zip(*rows)]
cores = int(sys.argv[6])
ds, _, dc, dw = cpu("direct")
fs, ff, fc, fw = cpu("ferry")
print(f"  1 GiB, CPU seconds (median)   S3 GET: store {ds:.2f} + client {dc:.2f} = {ds + dc:.2f} ({(ds + dc) / dw:.1f} of {cores} cores busy)")
print(f"                                through ferry: store {fs:.2f} + ferry {ff:.2f} + client {fc:.2f} = {fs + ff + fc:.2f} ({(fs + ff + fc) / fw:.1f} of {cores} cores busy)")
print(f"                                were both to keep every core busy, the ratio could reach at most {(ds + dc) / (fs + ff + fc):.2f}x")
PY
