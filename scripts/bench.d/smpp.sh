# shellcheck shell=bash
# The SMPP side-by-side benchmark: Kannel and Switchboard sending through the same SMPP 3.4 SMSC
# (Tests/Peers/smsc.py, PyPI's smpp34), receipts coming back. Sourced by scripts/bench after
# common.sh, kannel.sh, receiver.sh, switchboard.sh and http.sh (its record, wait_count, median,
# fmt, ratio and CPU helpers).
#
# Scenarios, each run with a fresh SMSC, the same window of 64 submit_sm in flight towards it:
#   S0  the SMSC alone: smpp_load.py straight to smsc.py (its ceiling, so no figure below is the
#       simulator's without saying so)
#   S1  HTTP in, SMPP out: Kannel (wrk GET sendsms with dlr-mask=1 and a dlr-url to nginx; bearerbox
#       submits to the SMSC; receipts come back and smsbox calls the dlr-url) against Switchboard
#       without add-ons (wrk POST /v1/messages; an smpp_connectors bind to the SMSC; receipts make
#       messages delivered), once without a status callback and once with one to nginx (like the
#       dlr-url)
#   S2  SMPP in, SMPP out: smpp_load.py bound to Switchboard's smpp_server, registered_delivery=1;
#       Switchboard submits to the SMSC and sends each receipt back to the load client
# Every accepted message must get its receipt applied within DRAIN_MAX_S of the end of the load.

SMSC_PORT=18775
SMSC_CONTROL_PORT=18776
SB_SMPP_PORT=18275
# submit_sm in flight: Kannel's max-pending-submits, Switchboard's connector window, and the load
# client's window towards Switchboard's SMPP server or the SMSC.
SMPP_WINDOW=${SMPP_WINDOW:-64}
# Switchboard's S1 runs: without callbacks (the row the target is about) and with a status callback
# standing for Kannel's DLR URL; scripts/bench's --quick keeps the first only.
SMPP_S1_VARIANTS=${SMPP_S1_VARIANTS:-none callback}
# Each receipt leaves the SMSC this long after its submit_sm_resp (smsc_later_receipts.py says why).
SMSC_RECEIPT_DELAY_MS=${SMSC_RECEIPT_DELAY_MS:-100}
SMSC_PID=""
SMSC_LOG=""
SMPP_LOAD_PID=""
SMPP_KANNEL_URL="http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms?username=tester&password=foobar&from=ACME&to=37255512345&text=hello+world"
# dlr-mask=1: one report per message, when the SMSC's receipt says delivered; to the receiver as a GET.
SMPP_KANNEL_DLR_URL="$SMPP_KANNEL_URL&dlr-mask=1&dlr-url=http%3A%2F%2F127.0.0.1%3A$RECEIVER_PORT%2Fsdlr%3Fs%3D%25d%26id%3D%25I"

# The bench's own CPU (http.sh's account) also holds the SMSC, which is the carrier, not a server.
bench_own_ticks() {
    # shellcheck disable=SC2046,SC2086 # lists of pids, maybe empty
    cpu_ticks $$ $(receiver_pids) ${KANNEL_FAKESMSC_PID:-} ${SMSC_PID:-}
}

# Starts a fresh SMSC simulator (smsc.py, receipts a moment after the response) logging to DIR/smsc.log.
smsc_start() {
    local dir=$1
    mkdir -p "$dir"
    require_free_ports "$SMSC_PORT" "$SMSC_CONTROL_PORT"
    SMSC_LOG="$dir/smsc.log"
    python3 "$BENCH_D/smsc_later_receipts.py" --receipt-delay-ms "$SMSC_RECEIPT_DELAY_MS" "$ROOT/Tests/Peers/smsc.py" \
        --port "$SMSC_PORT" --control-port "$SMSC_CONTROL_PORT" >"$SMSC_LOG" 2>&1 &
    SMSC_PID=$!
    wait_for 15 "the SMSC simulator on :$SMSC_PORT" smsc_listening
}

smsc_listening() {
    kill -0 "$SMSC_PID" 2>/dev/null || die "the SMSC simulator exited at start: $(tail -3 "$SMSC_LOG" 2>/dev/null)"
    port_open "$SMSC_CONTROL_PORT" && port_open "$SMSC_PORT"
}

# "submits N receipts N binds N" from the SMSC's control port (bash's /dev/tcp: no extra tool).
smsc_counts() {
    local line=""
    exec 7<>"/dev/tcp/127.0.0.1/$SMSC_CONTROL_PORT" || return 1
    printf 'COUNTS\n' >&7
    read -r -t 5 line <&7 || true
    exec 7>&-
    echo "$line"
}

# N in "... WORD N ..." of smsc_counts.
smsc_count() {
    awk -v w="$1" '{ for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1); exit } }' <<<"$(smsc_counts)"
}

# The load client (only there when the bench is stopped part way), then the SMSC.
smpp_stop() {
    if [ -n "$SMPP_LOAD_PID" ]; then
        stop_pid "$SMPP_LOAD_PID" TERM 5
        SMPP_LOAD_PID=""
    fi
    smsc_stop
}

smsc_stop() {
    [ -n "$SMSC_PID" ] || return 0
    stop_pid "$SMSC_PID" TERM 5
    wait "$SMSC_PID" 2>/dev/null || true
    SMSC_PID=""
}

# CPU of the SMSC since SMSC_TICKS0, as a percentage of one core over SECONDS.
smsc_cpu_pct() {
    awk -v t=$(($(cpu_ticks "$SMSC_PID") - SMSC_TICKS0)) -v hz="$CLK_TCK" -v s="$1" \
        'BEGIN { printf "%.0f", (s > 0 ? 100 * t / (hz * s) : 0) }'
}

# Runs the SMPP load client; its JSON result goes to OUT (stderr to OUT.err). In the background,
# so that a signal to the bench reaches its trap at once and the cleanup stops the client.
# smpp_load OUT PORT SYSTEM_ID PASSWORD DURATION
smpp_load() {
    local out=$1 port=$2 system_id=$3 password=$4 duration=$5 status=0
    python3 "$BENCH_D/smpp_load.py" --port "$port" --system-id "$system_id" --password "$password" \
        --duration "$duration" --window "$SMPP_WINDOW" --drain "$DRAIN_MAX_S" >"$out" 2>"$out.err" &
    SMPP_LOAD_PID=$!
    wait "$SMPP_LOAD_PID" || status=$?
    SMPP_LOAD_PID=""
    [ "$status" = 0 ] || die "smpp_load.py failed (exit $status): $(tail -3 "$out.err")"
    jq -e .accepted "$out" >/dev/null 2>&1 || die "smpp_load.py printed no result: $(tail -3 "$out.err")"
}

# "key=value ..." of the load client's result for KEYS.
load_figures() {
    local file=$1 key out=""
    shift
    for key in "$@"; do out+="${out:+ }$key=$(jq -r --arg k "$key" '.[$k]' "$file")"; done
    echo "$out"
}

# S0: the SMSC's own ceiling under the load client (no Kannel, no Switchboard).
smsc_ceiling() {
    local run=$1 duration=$2
    local dir="$WORK/smsc-S0-$run" label="SMSC alone run $run"
    rm -rf "$dir"
    mkdir -p "$dir"
    smsc_start "$dir"
    local wall
    SMSC_TICKS0=$(cpu_ticks "$SMSC_PID")
    other_cpu_start
    smpp_load "$dir/load.json" "$SMSC_PORT" bench secret "$duration"
    # The SMSC's busy time: from the start of the load to the last receipt.
    wall=$(jq -r --argjson d "$duration" '[.receipts_s, $d] | max' "$dir/load.json")
    other_cpu_figure 0 "$label"
    local accepted receipts
    accepted=$(jq -r .accepted "$dir/load.json") receipts=$(jq -r .receipts "$dir/load.json")
    [ "$receipts" -ge "$accepted" ] ||
        fail_later "$label: the SMSC accepted $accepted submits, only $receipts receipts came back within ${DRAIN_MAX_S}s"
    record "run=$run scenario=S0 server=smsc variant=- $(load_figures "$dir/load.json" accepted refused errors \
        accepted_per_s receipts receipts_per_s p50_ms p99_ms unmatched repeated)" \
        "load_cpu_s=$(jq -r .cpu_s "$dir/load.json") smsc_cpu_pct=$(smsc_cpu_pct "$wall") $OTHER_CPU"
    smsc_stop
}

# Ready when the SMSC connection is bound and smsbox is connected to bearerbox.
smpp_kannel_ready() {
    local status
    status=$(kannel_status) || return 1
    grep -q 'smsbox:' <<<"$status" && grep -Eq 'SIM\[SIM\].*\(online' <<<"$status" && port_open "$KANNEL_SENDSMS_PORT"
}

# Starts a fresh Kannel in DIR whose carrier is the SMSC simulator over SMPP (kannel-smpp.conf).
smpp_kannel_start() {
    local dir=$1
    rm -rf "$dir/logs" "$dir/store"
    mkdir -p "$dir/logs" "$dir/store"
    sed -e "s#@RUN@#$dir#g" -e "s#@SMSC_PORT@#$SMSC_PORT#g" -e "s#@WINDOW@#$SMPP_WINDOW#g" \
        "$BENCH_D/kannel-smpp.conf" >"$dir/kannel.conf"
    require_free_ports "${KANNEL_PORTS[@]}"
    (cd "$dir" && exec /usr/sbin/bearerbox -v 2 kannel.conf >logs/bb.out 2>&1) &
    KANNEL_BB_PID=$!
    KANNEL_PIDS=("$KANNEL_BB_PID")
    wait_for 20 "bearerbox to answer on :$KANNEL_ADMIN_PORT" kannel_status >/dev/null
    (cd "$dir" && exec /usr/sbin/smsbox -v 2 kannel.conf >logs/smsbox.out 2>&1) &
    KANNEL_SMSBOX_PID=$!
    KANNEL_PIDS+=("$KANNEL_SMSBOX_PID")
    KANNEL_DIR=$dir
    wait_for 30 "Kannel (smsbox connected, SMPP bound to the SMSC)" smpp_kannel_ready
}

# Delivery reports (receipt said delivered) the receiver got from Kannel in this run.
count_smpp_kannel_dlrs() {
    echo $(($(receiver_count 'GET /sdlr\?s=1') - SMPP_KANNEL_DLR0))
}

# S1, Kannel: HTTP sendsms with a DLR URL, bearerbox submitting to the SMSC.
smpp_kannel_scenario() {
    local run=$1 duration=$2
    local dir="$WORK/kannel-S1-$run" label="Kannel S1 run $run"
    rm -rf "$dir"
    mkdir -p "$dir"
    smsc_start "$dir"
    smpp_kannel_start "$dir"
    SMPP_KANNEL_DLR0=$(receiver_count 'GET /sdlr\?s=1')
    local pids ticks0 t0 t1 ticks
    pids=$(kannel_server_pids)
    # shellcheck disable=SC2086 # two pids
    ticks0=$(cpu_ticks $pids)
    SMSC_TICKS0=$(cpu_ticks "$SMSC_PID")
    other_cpu_start
    t0=$(now)
    run_wrk "$dir/wrk.txt" "$duration" "$SMPP_KANNEL_DLR_URL"
    t1=$(now)
    parse_wrk "$dir/wrk.txt"
    wait_count "$WRK_ACCEPTED" "$t1" count_smpp_kannel_dlrs ||
        fail_later "$label: $WRK_ACCEPTED accepted, only $DRAINED_COUNT delivery reports (receipts) reached the DLR URL after ${DRAIN_MAX_S}s"
    local dlrs=$DRAINED_COUNT done_at=$DRAINED_AT submits receipts wall
    # shellcheck disable=SC2086
    ticks=$(($(cpu_ticks $pids) - ticks0))
    wall=$(elapsed "$t0" "$done_at")
    other_cpu_figure "$ticks" "$label"
    submits=$(smsc_count submits) receipts=$(smsc_count receipts)
    local smsc_pct not_found
    smsc_pct=$(smsc_cpu_pct "$wall")
    # The SMSC first: bearerbox stopping with its SMPP bind up takes over 10 s.
    smsc_stop
    kannel_stop
    # Receipts bearerbox could not match to a message (it drops them).
    not_found=$(grep -c 'DLR from SMSC.* not found' "$dir/logs/bearerbox.log" || true)
    record "run=$run scenario=S1 server=kannel variant=- requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "accepted_per_s=$WRK_ACCEPTED_RPS non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS smsc_submits=$submits smsc_receipts=$receipts" \
        "delivered=$dlrs delivered_per_s=$(rate "$dlrs" "$wall") receipts_not_found=$not_found" \
        "$(cpu_figures "$ticks" "$WRK_ACCEPTED") smsc_cpu_pct=$smsc_pct drain_s=$(elapsed "$t1" "$done_at") $OTHER_CPU"
    warn_non2xx "$label"
}

# Starts the daemon in DIR without add-ons, with one SMPP connector to the SMSC and the SMPP server
# on, and the bench account; waits for the connector to be bound.
smpp_sb_start() {
    local dir=$1
    sb_kill_strays
    rm -rf "$dir/data" "$dir/switchboard.json"
    mkdir -p "$dir"
    sb_write_config "$dir/switchboard.base.json" "$dir/data" none
    jq --argjson smsc "$SMSC_PORT" --argjson smpp "$SB_SMPP_PORT" --argjson window "$SMPP_WINDOW" '. + {
        smpp_connectors: [{ name: "sim", host: "127.0.0.1", port: $smsc, system_id: "sbbench",
                            password: "secret", window: $window }],
        smpp_server: { port: $smpp, window: $window } }' "$dir/switchboard.base.json" >"$dir/switchboard.json"
    require_free_ports "$SB_PORT" "$SB_SMPP_PORT"
    sb_launch "$dir"
    sb_create_account
    wait_for 30 "Switchboard's connector to bind to the SMSC" smpp_sb_bound
    port_open "$SB_SMPP_PORT" || die "Switchboard's SMPP server does not listen on :$SB_SMPP_PORT"
}

smpp_sb_bound() {
    local metrics
    metrics=$(curl -sf --max-time 2 "$SB_URL/metrics") || return 1
    [ "$(sb_metric "$metrics" switchboard_smpp_bound 'connector="sim"')" = 1 ]
}

# The messages per status in one line ("delivered 9, sent 1"), for failure messages.
smpp_sb_statuses() {
    sb_sql "SELECT group_concat(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM messages GROUP BY status);"
}

# Receipts the connector applied, from /metrics.
smpp_sb_receipts() {
    local metrics
    metrics=$(curl -sf --max-time 10 "$SB_URL/metrics") || { echo "-"; return; }
    sb_metric "$metrics" switchboard_smpp_receipts_total 'connector="sim"'
}

# S1, Switchboard without add-ons: POST /v1/messages, the connector submitting to the SMSC. VARIANT
# none: no status callback; callback: a status_callback for the final status to the receiver, like
# Kannel's DLR URL (then "delivered" means the callback was answered).
smpp_sb_http_scenario() {
    local run=$1 duration=$2 variant=$3
    local dir="$WORK/switchboard-S1-$variant-$run" label="Switchboard S1 $variant run $run"
    local callback="" cb0=0
    rm -rf "$dir"
    mkdir -p "$dir"
    smsc_start "$dir"
    smpp_sb_start "$dir"
    if [ "$variant" = callback ]; then
        callback="http://127.0.0.1:$RECEIVER_PORT/scb"
        cb0=$(receiver_count 'POST /scb')
    fi
    local pids ticks0 t0 t1 ticks wall
    pids=$(sb_server_pids)
    # shellcheck disable=SC2086
    ticks0=$(cpu_ticks $pids)
    SMSC_TICKS0=$(cpu_ticks "$SMSC_PID")
    other_cpu_start
    t0=$(now)
    BENCH_AUTH=$SB_AUTH BENCH_CALLBACK=$callback \
        run_wrk "$dir/wrk.txt" "$duration" "$SB_URL/v1/messages" -s "$BENCH_D/send.lua"
    t1=$(now)
    parse_wrk "$dir/wrk.txt"
    sb_wait_messages || true
    # shellcheck disable=SC2046
    ticks=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    # Done when every receipt is applied or, with callbacks, every final callback answered.
    local done_at=$SB_MESSAGES_AT
    [ "$variant" = none ] || done_at=$SB_CALLBACKS_AT
    wall=$(elapsed "$t0" "$done_at")
    other_cpu_figure "$ticks" "$label"
    local counts total delivered no_sent_at
    counts=$(sb_sql "SELECT count(*), coalesce(sum(status = 'delivered'), 0), coalesce(sum(sent_at IS NULL), 0)
        FROM messages WHERE direction = 'outbound';")
    IFS='|' read -r total delivered no_sent_at <<<"$counts"
    [ "$total" -ge "$WRK_ACCEPTED" ] ||
        fail_later "$label: wrk got $WRK_ACCEPTED acknowledgements but only $total messages are stored"
    [ "$delivered" = "$total" ] ||
        fail_later "$label: $total messages accepted, $((total - delivered)) without their receipt applied ${DRAIN_MAX_S}s after the load ($(smpp_sb_statuses))"
    [ "$no_sent_at" = 0 ] || warn "$label: $no_sent_at delivered messages were never marked sent (no sent_at)"
    local receipts submits smsc_receipts
    receipts=$(smpp_sb_receipts)
    submits=$(smsc_count submits) smsc_receipts=$(smsc_count receipts)
    [ "$submits" = "$total" ] ||
        warn "$label: $total messages stored, the SMSC accepted $submits submit_sm (repeated or missing submissions)"
    local extra finished=$delivered
    if [ "$variant" = callback ]; then
        # One final callback per message, answered (counted per message), as http.sh's scenario C.
        local final callbacks
        final=$(sb_sql "SELECT count(DISTINCT message_id) FROM callbacks WHERE state = 'delivered'
            AND CAST(payload AS TEXT) LIKE '%\"status\":\"delivered\"%';")
        callbacks=$(($(receiver_count 'POST /scb') - cb0))
        [ "$final" = "$total" ] ||
            fail_later "$label: $total messages, $((total - final)) without their final callback answered ${DRAIN_MAX_S}s after the load"
        [ "$callbacks" -ge "$total" ] ||
            fail_later "$label: $total messages, the receiver got $callbacks callbacks (expected 1 per message)"
        finished=$final
        extra="final_callbacks=$final callbacks=$callbacks "
    fi
    extra+="stored=$total delivered=$delivered never_sent=$no_sent_at receipts_applied=$receipts"
    extra+=" smsc_submits=$submits smsc_receipts=$smsc_receipts log_problems=$(sb_log_problems)"
    extra+=" rss_mib=$(proc_mib "$SB_PID" VmRSS) hwm_mib=$(proc_mib "$SB_PID" VmHWM) smsc_cpu_pct=$(smsc_cpu_pct "$wall")"
    sb_stop
    smsc_stop
    record "run=$run scenario=S1 server=switchboard variant=$variant requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "accepted_per_s=$WRK_ACCEPTED_RPS non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS $extra delivered_per_s=$(rate "$finished" "$wall")" \
        "$(cpu_figures "$ticks" "$WRK_ACCEPTED")" \
        "drain_s=$(elapsed "$t1" "$done_at") $OTHER_CPU"
    warn_non2xx "$label"
}

# Makes an SMPP credential for the bench account; sets SMPP_SYSTEM_ID and SMPP_PASSWORD.
smpp_sb_credential() {
    local answer
    answer=$(curl -sf --max-time 10 -X POST -H "Authorization: Basic $SB_AUTH" "$SB_URL/v1/account/smpp-credentials") ||
        die "POST /v1/account/smpp-credentials failed"
    SMPP_SYSTEM_ID=$(jq -r .system_id <<<"$answer")
    SMPP_PASSWORD=$(jq -r .password <<<"$answer")
}

# S2, Switchboard without add-ons: the load client binds to the SMPP server, the connector submits
# to the SMSC, receipts travel back to the load client.
smpp_sb_smpp_scenario() {
    local run=$1 duration=$2
    local dir="$WORK/switchboard-S2-$run" label="Switchboard S2 run $run"
    rm -rf "$dir"
    mkdir -p "$dir"
    smsc_start "$dir"
    smpp_sb_start "$dir"
    smpp_sb_credential
    local pids ticks0 ticks wall
    pids=$(sb_server_pids)
    # shellcheck disable=SC2086
    ticks0=$(cpu_ticks $pids)
    SMSC_TICKS0=$(cpu_ticks "$SMSC_PID")
    other_cpu_start
    smpp_load "$dir/load.json" "$SB_SMPP_PORT" "$SMPP_SYSTEM_ID" "$SMPP_PASSWORD" "$duration"
    # shellcheck disable=SC2046
    ticks=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    local accepted receipts
    accepted=$(jq -r .accepted "$dir/load.json") receipts=$(jq -r .receipts "$dir/load.json")
    wall=$(jq -r --argjson d "$duration" '[.receipts_s, $d] | max' "$dir/load.json")
    other_cpu_figure "$ticks" "$label"
    [ "$receipts" -ge "$accepted" ] ||
        fail_later "$label: $accepted submit_sm accepted, $((accepted - receipts)) receipts did not reach the client ${DRAIN_MAX_S}s after the load ($(smpp_sb_statuses); $(sb_sql "SELECT count(*) FROM smpp_deliveries WHERE delivered_at IS NULL;") deliveries owed)"
    local counts total delivered
    counts=$(sb_sql "SELECT count(*), coalesce(sum(status = 'delivered'), 0) FROM messages WHERE direction = 'outbound';")
    IFS='|' read -r total delivered <<<"$counts"
    [ "$total" -ge "$accepted" ] ||
        fail_later "$label: the client got $accepted acknowledgements but only $total messages are stored"
    [ "$delivered" = "$total" ] ||
        fail_later "$label: $total messages accepted, $((total - delivered)) without their receipt applied ($(smpp_sb_statuses))"
    local extra
    extra="stored=$total delivered=$delivered receipts_applied=$(smpp_sb_receipts)"
    extra+=" smsc_submits=$(smsc_count submits) smsc_receipts=$(smsc_count receipts) log_problems=$(sb_log_problems)"
    extra+=" load_cpu_s=$(jq -r .cpu_s "$dir/load.json") rss_mib=$(proc_mib "$SB_PID" VmRSS) hwm_mib=$(proc_mib "$SB_PID" VmHWM)"
    extra+=" smsc_cpu_pct=$(smsc_cpu_pct "$wall")"
    sb_stop
    smsc_stop
    record "run=$run scenario=S2 server=switchboard variant=none $(load_figures "$dir/load.json" accepted refused \
        errors accepted_per_s receipts receipts_per_s p50_ms p99_ms unmatched repeated) $extra" \
        "$(cpu_figures "$ticks" "$accepted") $OTHER_CPU"
}

# The SMPP table of medians, to stdout and $WORK/smpp-results.md.
smpp_report() {
    local runs=$1 duration=$2
    local t1="S1 HTTP in, SMPP out, no add-ons" t2="S2 SMPP in, SMPP out (Switchboard's SMPP server), no add-ons"
    {
        echo "\`${BENCH_COMMAND:-scripts/bench}\`, $(date -u +%Y-%m-%dT%H:%MZ): SMPP, median of $runs run(s) of ${duration}s;" \
            "HTTP load 16 keep-alive connections (wrk -t1), SMPP load 1 bind with $SMPP_WINDOW submit_sm in flight;" \
            "$SMPP_WINDOW submit_sm in flight to the SMSC (smsc.py, smpp34 $(python3 -c 'import smpp34; print(smpp34.__version__)' 2>/dev/null || echo ?));" \
            "$(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB, ${SMPP_BUSY_AT_START:-?}% busy before the start;" \
            "Switchboard $(git -C "$ROOT" describe --always --dirty --abbrev=7)," \
            "$(/usr/sbin/bearerbox --version 2>&1 | grep -om1 "Kannel bearerbox version \`[^']*'" | tr -d "\`'" || echo Kannel)."
        echo "Ratio: Switchboard / Kannel (above 1 is better for rates, below 1 for latency and CPU)."
        echo
        echo "| scenario | figure | Kannel | Switchboard | ratio |"
        echo "|---|---|---:|---:|---:|"
        row "$t1" "accepted/s" S1 none accepted_per_s
        row "$t1" "delivered/s (receipt applied)" S1 none delivered_per_s
        row "$t1" "latency p50 ms" S1 none p50_ms
        row "$t1" "latency p99 ms" S1 none p99_ms
        row "$t1" "CPU s / 1,000 msgs" S1 none cpu_s_per_1k
        row "$t1" "SMSC CPU, % of one core" S1 none smsc_cpu_pct
        row "$t1" "non-2xx answers" S1 none non2xx
        if [ "$(median S1 switchboard callback accepted_per_s)" != "-" ]; then
            local t1c="S1 with callbacks (Switchboard's status_callback for Kannel's DLR URL), no add-ons"
            row "$t1c" "accepted/s" S1 callback accepted_per_s
            row "$t1c" "receipts reaching the sender's URL/s" S1 callback delivered_per_s
            row "$t1c" "latency p50 ms" S1 callback p50_ms
            row "$t1c" "latency p99 ms" S1 callback p99_ms
            row "$t1c" "CPU s / 1,000 msgs" S1 callback cpu_s_per_1k
            row "$t1c" "non-2xx answers" S1 callback non2xx
        fi
        sb_row "$t2" "submit_sm accepted/s" S2 none accepted_per_s
        sb_row "$t2" "receipts back to the client/s" S2 none receipts_per_s
        sb_row "$t2" "submit_sm latency p50 ms" S2 none p50_ms
        sb_row "$t2" "submit_sm latency p99 ms" S2 none p99_ms
        sb_row "$t2" "CPU s / 1,000 msgs" S2 none cpu_s_per_1k
        sb_row "$t2" "SMSC CPU, % of one core" S2 none smsc_cpu_pct
        sb_row "$t2" "submit_sm refused" S2 none refused
        local ceiling
        ceiling=$(median S0 smsc - receipts_per_s)
        echo
        echo "S0, the SMSC alone (smpp_load.py straight to smsc.py, the same window):" \
            "$(fmt "$(median S0 smsc - accepted_per_s)") submit_sm accepted/s, $(fmt "$ceiling") receipts/s," \
            "the SMSC at $(fmt "$(median S0 smsc - smsc_cpu_pct)")% of one core. Receipts applied per second as a share" \
            "of that ceiling: Kannel S1 $(ratio "$(median S1 kannel - delivered_per_s)" "$ceiling")," \
            "Switchboard S1 $(ratio "$(median S1 switchboard none delivered_per_s)" "$ceiling")," \
            "Switchboard S2 $(ratio "$(median S2 switchboard none receipts_per_s)" "$ceiling")."
    } | tee "$WORK/smpp-results.md"
}

# The whole SMPP benchmark: RUNS rounds of S0, S1 (Kannel, then Switchboard) and S2.
smpp_bench() {
    local runs=$1 duration=$2 run variant
    echo "== SMPP benchmark: Kannel vs Switchboard through smsc.py, $runs run(s) of ${duration}s, work files in $WORK"
    SMPP_BUSY_AT_START=$(machine_busy_pct 2)
    [ "$SMPP_BUSY_AT_START" -le 10 ] ||
        warn "the machine was ${SMPP_BUSY_AT_START}% busy before the SMPP benchmark: something else uses the CPU, figures will be low"
    touch "$WORK/raw.txt"
    [ -n "$RECEIVER_DIR" ] && [ -f "$RECEIVER_DIR/nginx.pid" ] || receiver_start "$WORK/receiver"
    for ((run = 1; run <= runs; run++)); do
        echo "== SMPP run $run/$runs"
        smsc_ceiling "$run" "$duration"
        smpp_kannel_scenario "$run" "$duration"
        for variant in $SMPP_S1_VARIANTS; do smpp_sb_http_scenario "$run" "$duration" "$variant"; done
        smpp_sb_smpp_scenario "$run" "$duration"
    done
    echo
    smpp_report "$runs" "$duration"
}
