# Sourced by the bench scripts: what they start is stopped when they exit.
# A script adds each process it starts to PIDS and may set WORK (a scratch
# directory); `stop_started` stops those started so far and goes on. On
# exit every process gets SIGTERM, then SIGKILL if it is
# still running 5 s later (SeaweedFS's `weed server` can ignore SIGTERM for
# minutes), and WORK is removed: the script returns at once after its
# figures.
PIDS=()

# Whether process $1 still runs (not gone, not a zombie waiting to be reaped).
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Stops what was started so far (the script goes on, and may start more).
stop_started() {
    local pid left
    # (Empty-array-safe under set -u on every bash.)
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        left=0
        for pid in ${PIDS[@]+"${PIDS[@]}"}; do running "$pid" && left=1; done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        if running "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    done
    # Only what was started here: another child (a one-shot iperf3 -s
    # waiting for its client) must not hold the exit.
    if [ ${#PIDS[@]} -gt 0 ]; then wait "${PIDS[@]}" 2>/dev/null || true; fi
    PIDS=()
}

stop_all() {
    stop_started
    if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}
trap stop_all EXIT
