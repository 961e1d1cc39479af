# shellcheck shell=bash
# Kannel 1.4.5 as the peer: bearerbox (queues and routes), smsbox (HTTP sendsms), fakesmsc (the carrier).
# Sourced by scripts/bench. Ports must match kannel.conf.

KANNEL_ADMIN_PORT=18100
KANNEL_SENDSMS_PORT=18113
KANNEL_FAKESMSC_PORT=18110
KANNEL_PORTS=(18100 18101 18110 18113)
KANNEL_URL="http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms?username=tester&password=foobar&from=123&to=234&text=hello+world"
# dlr-mask=8: one report per message, on SMSC success (delivered), sent to the receiver as a GET.
kannel_dlr_url() {
    echo "$KANNEL_URL&dlr-mask=8&dlr-url=http%3A%2F%2F127.0.0.1%3A$1%2Fdlr%3Fs%3D%25d%26id%3D%25I%26to%3D%25p"
}
KANNEL_PIDS=()
KANNEL_FAKESMSC_PID=""

kannel_status() {
    curl -sf --max-time 2 "http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt?password=foo"
}

# Ready when the fake SMSC is online and smsbox is connected to bearerbox: before that, sendsms
# answers but messages would wait in a queue and count against Kannel's drain time.
kannel_ready() {
    local status
    status=$(kannel_status) || return 1
    grep -q 'smsbox:' <<<"$status" && grep -Eq 'FAKE:[0-9]+ \(online' <<<"$status" && port_open "$KANNEL_SENDSMS_PORT"
}

# Starts a fresh Kannel in DIR (empty store and logs). Restarted for every run: figures drift down
# about 20% over consecutive runs in one bearerbox session.
kannel_start() {
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir/logs" "$dir/store"
    sed "s#@RUN@#$dir#g" "$BENCH_D/kannel.conf" >"$dir/kannel.conf"
    require_free_ports "${KANNEL_PORTS[@]}"
    (cd "$dir" && exec /usr/sbin/bearerbox -v 2 kannel.conf >logs/bb.out 2>&1) &
    KANNEL_BB_PID=$!
    KANNEL_PIDS=("$KANNEL_BB_PID")
    wait_for 20 "bearerbox to answer on :$KANNEL_ADMIN_PORT" kannel_status >/dev/null
    # -m 0: receive only; every message it gets is logged as a "Got message" line.
    (cd "$dir" && exec /usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r "$KANNEL_FAKESMSC_PORT" -i 0 -m 0 \
        '123 234 text nop' >logs/fakesmsc.out 2>&1) &
    KANNEL_FAKESMSC_PID=$!
    KANNEL_PIDS+=("$KANNEL_FAKESMSC_PID")
    (cd "$dir" && exec /usr/sbin/smsbox -v 2 kannel.conf >logs/smsbox.out 2>&1) &
    KANNEL_SMSBOX_PID=$!
    KANNEL_PIDS+=("$KANNEL_SMSBOX_PID")
    KANNEL_DIR=$dir
    wait_for 30 "Kannel (smsbox connected, fake SMSC online)" kannel_ready
}

# Messages the fake carrier received so far.
kannel_delivered() {
    grep -c 'Got message' "$KANNEL_DIR/logs/fakesmsc.out" || true
}

# The server processes whose CPU counts (the carrier simulator fakesmsc does not).
kannel_server_pids() {
    echo "$KANNEL_BB_PID $KANNEL_SMSBOX_PID"
}

# smsbox first, so bearerbox is not left with a queue to store; bearerbox can take a few seconds.
kannel_stop() {
    local pid i
    for ((i = ${#KANNEL_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${KANNEL_PIDS[i]}
        stop_pid "$pid" INT 10
        wait "$pid" 2>/dev/null || true
    done
    KANNEL_PIDS=()
    KANNEL_FAKESMSC_PID=""
}
