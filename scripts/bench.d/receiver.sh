# shellcheck shell=bash
# The status-callback receiver: nginx answering 200 to everything, one access-log line per callback.
# Sourced by scripts/bench. One instance serves the whole run; scenarios count log lines before/after.

RECEIVER_PORT=18090
RECEIVER_DIR=""

receiver_start() {
    RECEIVER_DIR=$1
    rm -rf "$RECEIVER_DIR"
    mkdir -p "$RECEIVER_DIR/logs" "$RECEIVER_DIR/tmp"
    sed -e "s#@RUN@#$RECEIVER_DIR#g" -e "s#@PORT@#$RECEIVER_PORT#g" "$BENCH_D/nginx.conf" >"$RECEIVER_DIR/nginx.conf"
    require_free_ports "$RECEIVER_PORT"
    # nginx complains about the default error log until it reads its config; that log may not be writable.
    nginx -e "$RECEIVER_DIR/logs/error.log" -p "$RECEIVER_DIR" -c "$RECEIVER_DIR/nginx.conf" -g 'daemon on;' ||
        die "nginx (the callback receiver) did not start: $(tail -3 "$RECEIVER_DIR/logs/error.log" 2>/dev/null)"
    wait_for 10 "nginx on :$RECEIVER_PORT" port_open "$RECEIVER_PORT"
}

# Requests logged so far whose request line matches PATTERN (grep -E).
receiver_count() {
    grep -cE "$1" "$RECEIVER_DIR/logs/access.log" 2>/dev/null || true
}

# nginx's master and worker, whose CPU is the bench's, not the servers'.
receiver_pids() {
    [ -f "$RECEIVER_DIR/nginx.pid" ] || return 0
    local master
    master=$(cat "$RECEIVER_DIR/nginx.pid")
    echo "$master $(children_of "$master" | tr '\n' ' ')"
}

receiver_stop() {
    [ -n "$RECEIVER_DIR" ] && [ -f "$RECEIVER_DIR/nginx.pid" ] || return 0
    stop_pid "$(cat "$RECEIVER_DIR/nginx.pid")" QUIT 10
    rm -f "$RECEIVER_DIR/nginx.pid"
}
