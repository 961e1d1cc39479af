# shellcheck shell=bash
# The HTTP side-by-side benchmark: Kannel and Switchboard, alternately, under the same wrk load.
# Sourced by scripts/bench after common.sh, kannel.sh, receiver.sh and switchboard.sh.
#
# Every scenario run appends one line of key=value pairs to $WORK/raw.txt; the table is made of
# their medians. Scenarios (16 keep-alive connections, wrk -t1, same duration for both):
#   A  sends, no callbacks: accepted/s, delivered/s, latency, CPU per 1,000 messages
#   C  sends with a delivery-status callback to the local receiver: also final callbacks/s
#   1M Switchboard alone, A with all add-ons until 1,000,000 accepted: peak RSS
#   H  Switchboard alone, over plain HTTP and over HTTPS: new connections/s with one request each
#      (GET /healthz, `Connection: close`), so every request pays a TCP (and TLS) handshake

# Longest wait for the last message (or callback) to reach its final status once the load stops.
DRAIN_MAX_S=120
# Longest further wait for the add-ons' event queues to empty; scripts/bench may lower it.
ADDON_DRAIN_MAX_S=${ADDON_DRAIN_MAX_S:-30}
CLK_TCK=$(getconf CLK_TCK)

# Appends a raw line and echoes it.
record() {
    echo "$*" | tee -a "$WORK/raw.txt"
}

# CPU seconds between two tick counts, and per 1,000 messages.
cpu_figures() {
    local ticks=$1 messages=$2
    awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$messages" \
        'BEGIN { s = t / hz; printf "cpu_s=%.2f cpu_s_per_1k=%.3f", s, (n > 0 ? s * 1000 / n : 0) }'
}

# CPU of everything the bench runs besides the servers: this shell with its reaped children (wrk,
# sqlite3, curl), the callback receiver, and the fake carrier.
bench_own_ticks() {
    # shellcheck disable=SC2046,SC2086 # lists of pids, maybe empty
    cpu_ticks $$ $(receiver_pids) ${KANNEL_FAKESMSC_PID:-}
}

# Starts the machine-wide CPU account of a scenario run.
other_cpu_start() {
    OTHER_BUSY0=$(machine_busy_ticks) OTHER_OWN0=$(bench_own_ticks) OTHER_T0=$(now)
}

# "other_cpu_pct=N": the share of all cores used by anything but the servers (SERVER_TICKS) and the
# bench itself since other_cpu_start; another job on the machine shows here. Warns above 10%.
other_cpu_figure() {
    local server_ticks=$1 label=$2 busy own pct
    busy=$(($(machine_busy_ticks) - OTHER_BUSY0))
    own=$(($(bench_own_ticks) - OTHER_OWN0))
    pct=$(awk -v t=$((busy - own - server_ticks)) -v hz="$CLK_TCK" -v s="$(elapsed "$OTHER_T0" "$(now)")" \
        -v n="$(nproc)" 'BEGIN { p = 100 * t / (hz * s * n); printf "%.0f", (p < 0 ? 0 : p) }')
    [ "$pct" -le 10 ] || warn "$label: something else used ${pct}% of the machine's CPU meanwhile; figures are low"
    OTHER_CPU="other_cpu_pct=$pct"
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Waits until COUNT_COMMAND prints at least TARGET and then stays unchanged for a second (messages
# still in flight when wrk stopped may add a few). Sets DRAINED_COUNT and DRAINED_AT (time of the
# last change seen, polled every 0.2 s). Returns 1 when the target was not reached in DRAIN_MAX_S.
wait_count() {
    local target=$1 start=$2
    shift 2
    local count last=-1 stable_since deadline=$((SECONDS + DRAIN_MAX_S))
    DRAINED_AT=$start
    while :; do
        count=$("$@")
        if [ "$count" != "$last" ]; then
            last=$count
            DRAINED_AT=$(now)
            stable_since=$SECONDS
        elif [ "$count" -ge "$target" ] && [ $((SECONDS - stable_since)) -ge 1 ]; then
            break
        fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.2
    done
    DRAINED_COUNT=$count
    [ "$count" -ge "$target" ]
}

# One Kannel run of scenario A or C.
kannel_scenario() {
    local scenario=$1 run=$2 duration=$3
    local dir="$WORK/kannel-$scenario-$run" url=$KANNEL_URL
    kannel_start "$dir"
    if [ "$scenario" = C ]; then
        url=$(kannel_dlr_url "$RECEIVER_PORT")
        KANNEL_CB0=$(receiver_count 'GET /dlr\?s=8')
    fi
    local pids ticks0 t0 t1 ticks
    pids=$(kannel_server_pids)
    # shellcheck disable=SC2086 # two pids
    ticks0=$(cpu_ticks $pids)
    other_cpu_start
    t0=$(now)
    run_wrk "$dir/wrk.txt" "$duration" "$url"
    t1=$(now)
    parse_wrk "$dir/wrk.txt"
    local ok=1 extra
    wait_count "$WRK_ACCEPTED" "$t1" kannel_delivered || ok=0
    local delivered=$DRAINED_COUNT delivered_at=$DRAINED_AT done_at=$DRAINED_AT
    [ "$ok" = 1 ] || fail_later "Kannel $scenario run $run: $WRK_ACCEPTED accepted, only $delivered delivered after ${DRAIN_MAX_S}s"
    extra="delivered=$delivered delivered_per_s=$(rate "$delivered" "$(elapsed "$t0" "$delivered_at")")"
    if [ "$scenario" = C ]; then
        wait_count "$WRK_ACCEPTED" "$t1" count_kannel_callbacks ||
            fail_later "Kannel C run $run: $WRK_ACCEPTED accepted, only $DRAINED_COUNT delivery reports after ${DRAIN_MAX_S}s"
        done_at=$DRAINED_AT
        extra+=" final_callbacks=$DRAINED_COUNT callbacks=$DRAINED_COUNT"
        extra+=" callbacks_per_s=$(rate "$DRAINED_COUNT" "$(elapsed "$t0" "$done_at")")"
    fi
    # shellcheck disable=SC2086
    ticks=$(($(cpu_ticks $pids) - ticks0))
    other_cpu_figure "$ticks" "Kannel $scenario run $run"
    extra+=" $OTHER_CPU"
    kannel_stop
    record "run=$run scenario=$scenario server=kannel variant=- requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "accepted_per_s=$WRK_ACCEPTED_RPS non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS $extra $(cpu_figures "$ticks" "$WRK_ACCEPTED")" \
        "drain_s=$(elapsed "$t1" "$done_at")"
    warn_non2xx "Kannel $scenario run $run"
}

# Delivery reports the receiver got from Kannel in this run (KANNEL_CB0: the count before it).
count_kannel_callbacks() {
    echo $(($(receiver_count 'GET /dlr\?s=8') - KANNEL_CB0))
}

warn_non2xx() {
    [ "$WRK_NON2XX" = 0 ] || warn "$1: $WRK_NON2XX non-2xx answers (refused, not lost)"
    [ "$WRK_SOCKET_ERRORS" = 0 ] || warn "$1: $WRK_SOCKET_ERRORS socket errors"
    return 0
}

# Polls the daemon's database until every message is in its final status and every status callback
# answered. Sets SB_MESSAGES_AT (first time no message was pending) and SB_CALLBACKS_AT (first time
# nothing was). Returns 1 when that did not happen within DRAIN_MAX_S.
sb_wait_messages() {
    local deadline=$((SECONDS + DRAIN_MAX_S)) pending
    SB_MESSAGES_AT="" SB_CALLBACKS_AT=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        pending=$(sb_pending)
        if [ "${pending%%|*}" = 0 ]; then
            [ -n "$SB_MESSAGES_AT" ] || SB_MESSAGES_AT=$(now)
            if [[ $pending == 0\|0\|* ]]; then
                SB_CALLBACKS_AT=$(now)
                # A request answered just as wrk stopped may commit a moment later: look once more.
                sleep 0.5
                pending=$(sb_pending)
                [[ $pending == 0\|0\|* ]] && return 0
                SB_MESSAGES_AT="" SB_CALLBACKS_AT=""
            fi
        fi
        sleep 0.2
    done
    [ -n "$SB_MESSAGES_AT" ] || SB_MESSAGES_AT=$(now)
    SB_CALLBACKS_AT=$(now)
    return 1
}

# Then gives the add-ons up to ADDON_DRAIN_MAX_S to take their queued events. Their lag is reported
# (SB_ADDON_BACKLOG events left, SB_ADDONS_AT), not failed on: no message depends on it.
sb_wait_addons() {
    local deadline=$((SECONDS + ADDON_DRAIN_MAX_S)) pending
    while :; do
        pending=$(sb_pending)
        SB_ADDON_BACKLOG=${pending##*|}
        SB_ADDONS_AT=$(now)
        [ "$SB_ADDON_BACKLOG" != 0 ] && [ "$SECONDS" -lt "$deadline" ] || return 0
        sleep 0.2
    done
}

# Starts the daemon for VARIANT with a fresh data directory, the bench account and its add-ons.
sb_prepare() {
    local dir=$1 variant=$2
    sb_kill_strays
    sb_start "$dir" "$variant"
    sb_create_account
    if sb_addons_enabled "$variant"; then sb_enable_addons; fi
    # Consent changes reach the dispatcher within a second (docs/operators.md).
    sleep 1
    sb_check_addons "$variant"
}

# What the add-ons received, from /metrics: scrub's checks and the events delivered to the others.
# Fails the run when an enabled add-on got nothing: the scenario would not be what it claims.
# Sets SB_ADDON_FIGURES (not printed: fail_later must run in this shell, not a subshell).
sb_addon_figures() {
    local variant=$1 label=$2 metrics checks reporting monitoring
    metrics=$(curl -sf --max-time 10 "$SB_URL/metrics") || die "GET /metrics failed"
    checks=$(sb_metric "$metrics" switchboard_addon_check_duration_seconds_count 'compliance-scrub')
    reporting=$(sb_metric "$metrics" switchboard_addon_events_delivered_total 'reporting')
    monitoring=$(sb_metric "$metrics" switchboard_addon_events_delivered_total 'monitoring')
    if sb_addons_enabled "$variant" && { [ "$checks" = 0 ] || [ "$reporting" = 0 ] || [ "$monitoring" = 0 ]; }; then
        fail_later "$label: an enabled add-on received nothing (scrub checks $checks, reporting events $reporting, monitoring events $monitoring)"
    fi
    SB_ADDON_FIGURES="scrub_checks=$checks reporting_events=$reporting monitoring_events=$monitoring"
}

# One Switchboard run of scenario A or C in VARIANT.
sb_scenario() {
    local scenario=$1 variant=$2 run=$3 duration=$4
    local dir="$WORK/switchboard-$scenario-$variant-$run" label="Switchboard $scenario $variant run $run"
    local callback="" cb0=0
    sb_prepare "$dir" "$variant"
    if [ "$scenario" = C ]; then
        callback="http://127.0.0.1:$RECEIVER_PORT/cb"
        cb0=$(receiver_count 'POST /cb')
    fi
    local pids ticks0 t0 t1 ticks ticks_all
    pids=$(sb_server_pids)
    # shellcheck disable=SC2086 # daemon and runners
    ticks0=$(cpu_ticks $pids)
    other_cpu_start
    t0=$(now)
    BENCH_AUTH=$SB_AUTH BENCH_CALLBACK=$callback \
        run_wrk "$dir/wrk.txt" "$duration" "$(sb_api_url "$variant")/v1/messages" -s "$BENCH_D/send.lua"
    t1=$(now)
    parse_wrk "$dir/wrk.txt"
    sb_wait_messages || fail_later "$label: messages or callbacks still pending after ${DRAIN_MAX_S}s"
    # CPU up to the point Kannel's is taken too: every message final (and called back, in C).
    # Runners started or restarted during the run count too (a reaped one is in the daemon's cutime).
    # shellcheck disable=SC2046
    ticks=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    other_cpu_figure "$ticks" "$label"
    # Then what the add-ons still had to catch up on, reported apart.
    sb_wait_addons
    [ "$SB_ADDON_BACKLOG" = 0 ] ||
        warn "$label: $SB_ADDON_BACKLOG add-on events still queued ${ADDON_DRAIN_MAX_S}s after the last message was final"
    # shellcheck disable=SC2046
    ticks_all=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    local counts total delivered no_sent_at
    counts=$(sb_sql "SELECT count(*), coalesce(sum(status = 'delivered'), 0), coalesce(sum(sent_at IS NULL), 0)
        FROM messages WHERE direction = 'outbound';")
    IFS='|' read -r total delivered no_sent_at <<<"$counts"
    # A delivered message has been sent; one without sent_at went from queued straight to delivered.
    [ "$no_sent_at" = 0 ] || warn "$label: $no_sent_at delivered messages were never marked sent (no sent_at)"
    [ "$total" -ge "$WRK_ACCEPTED" ] ||
        fail_later "$label: wrk got $WRK_ACCEPTED acknowledgements but only $total messages are stored"
    [ "$delivered" = "$total" ] ||
        fail_later "$label: $total messages stored, only $delivered delivered ($(sb_sql "SELECT group_concat(status || ' ' || n) FROM (SELECT status, count(*) n FROM messages GROUP BY status);"))"
    local extra
    extra="delivered=$delivered never_sent=$no_sent_at"
    extra+=" delivered_per_s=$(rate "$delivered" "$(elapsed "$t0" "$SB_MESSAGES_AT")")"
    if [ "$scenario" = C ]; then
        local final callbacks unasked
        # Each message asks for its final status only (status_callback_events), as Kannel's
        # dlr-mask=8 does: one callback per message, and none saying "sent". Counted per message: a
        # message with two "delivered" callbacks still has one final.
        final=$(sb_sql "SELECT count(DISTINCT message_id) FROM callbacks WHERE state = 'delivered'
            AND CAST(payload AS TEXT) LIKE '%\"status\":\"delivered\"%';")
        unasked=$(sb_sql "SELECT count(*) FROM callbacks WHERE CAST(payload AS TEXT) LIKE '%\"status\":\"sent\"%';")
        callbacks=$(($(receiver_count 'POST /cb') - cb0))
        [ "$final" = "$total" ] ||
            fail_later "$label: $total messages, $final have their final (delivered) callback answered"
        [ "$callbacks" -ge "$total" ] ||
            fail_later "$label: $total messages, the receiver got $callbacks callbacks (expected 1 per message)"
        [ "$unasked" = 0 ] ||
            fail_later "$label: $unasked \"sent\" callbacks were queued, though every message asked for final statuses only"
        extra+=" final_callbacks=$final callbacks=$callbacks unasked_callbacks=$unasked"
        extra+=" callbacks_per_s=$(rate "$final" "$(elapsed "$t0" "$SB_CALLBACKS_AT")")"
    fi
    sb_addon_figures "$variant" "$label"
    extra+=" $SB_ADDON_FIGURES log_problems=$(sb_log_problems) $OTHER_CPU"
    extra+=" rss_mib=$(proc_mib "$SB_PID" VmRSS) hwm_mib=$(proc_mib "$SB_PID" VmHWM)"
    sb_stop
    record "run=$run scenario=$scenario server=switchboard variant=$variant requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "accepted_per_s=$WRK_ACCEPTED_RPS non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS stored=$total $extra $(cpu_figures "$ticks" "$WRK_ACCEPTED")" \
        "drain_s=$(elapsed "$t1" "$SB_CALLBACKS_AT") addon_backlog=$SB_ADDON_BACKLOG" \
        "addon_drain_s=$(elapsed "$t1" "$SB_ADDONS_AT")" \
        "$(cpu_figures "$ticks_all" "$WRK_ACCEPTED" | sed 's/cpu_s/cpu_all_s/g')"
    warn_non2xx "$label"
}

# Scenario H in VARIANT (none: plain HTTP, https: TLS): wrk's connections each send one GET
# /healthz with `Connection: close`, so the rate is of connections set up and torn down, and the CPU
# per 1,000 is what a client that does not keep its connection costs. Runs at most 5 s: at several
# thousand connections a second, longer runs fill the loopback's TIME_WAIT table and measure that.
sb_connections() {
    local variant=$1 run=$2 duration=$3
    local dir="$WORK/switchboard-H-$variant-$run" label="Switchboard H $variant run $run"
    [ "$duration" -le 5 ] || duration=5
    sb_kill_strays
    sb_start "$dir" "$variant"
    local pids ticks0 t0 ticks
    pids=$(sb_server_pids)
    # shellcheck disable=SC2086 # daemon and runners
    ticks0=$(cpu_ticks $pids)
    other_cpu_start
    run_wrk "$dir/wrk.txt" "$duration" "$(sb_api_url "$variant")/healthz" -H "Connection: close"
    parse_wrk "$dir/wrk.txt"
    # shellcheck disable=SC2046
    ticks=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    other_cpu_figure "$ticks" "$label"
    local handshakes
    handshakes=$(curl -sf --max-time 10 "$SB_URL/metrics" | grep -c '^switchboard_tls_certificate_expiry' || true)
    [ "$variant" != https ] || [ "$handshakes" -ge 1 ] ||
        fail_later "$label: /metrics shows no certificate for the HTTPS listener; the run may not have used TLS"
    [ "$WRK_ACCEPTED" -gt 0 ] || fail_later "$label: no request was answered"
    # wrk counts a "read" socket error each time the server closes a connection after its answer:
    # the answer does not repeat `Connection: close` (Hummingbird's encoder drops it), so wrk
    # expected to reuse the connection. One per request is the normal case here; connect, write and
    # timeout errors are real.
    WRK_SOCKET_ERRORS=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $8 + $10 }' "$dir/wrk.txt")
    WRK_SOCKET_ERRORS=${WRK_SOCKET_ERRORS:-0}
    sb_stop
    record "run=$run scenario=H server=switchboard variant=$variant requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "connections_per_s=$WRK_ACCEPTED_RPS non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS log_problems=$(sb_log_problems) $OTHER_CPU" \
        "$(cpu_figures "$ticks" "$WRK_ACCEPTED")"
    warn_non2xx "$label"
}

# Scenario A with all add-ons (ComplianceScrub isolated) until TARGET messages are accepted, then
# the daemon's peak and current RSS once everything is delivered.
sb_million() {
    local target=$1 variant=scrub-isolated dir="$WORK/switchboard-1M"
    local label="Switchboard 1M $variant"
    echo "== 1M: Switchboard, A with all add-ons ($variant) until $target accepted"
    sb_prepare "$dir" "$variant"
    local t0 t1 wrk_pid stored=0 pids ticks0 ticks
    pids=$(sb_server_pids)
    # shellcheck disable=SC2086 # daemon and runner
    ticks0=$(cpu_ticks $pids)
    other_cpu_start
    t0=$(now)
    # wrk cannot stop after N requests; it stops early and reports on SIGINT. A wrk killed from
    # outside (its output is lost with it) is started again: the phase is about the daemon's memory
    # after a million messages, and the figures of the last wrk still describe the load.
    local restarts=0 next_note=$((SECONDS + 60))
    BENCH_AUTH=$SB_AUTH wrk -t1 "-c$CONNS" -d3600s --latency -s "$BENCH_D/send.lua" "$SB_URL/v1/messages" \
        >"$dir/wrk.txt" 2>&1 &
    wrk_pid=$!
    while [ "$stored" -lt "$target" ]; do
        sleep 1
        if [ "$SECONDS" -ge "$next_note" ]; then
            echo "   $stored accepted after $(elapsed "$t0" "$(now)") s"
            next_note=$((SECONDS + 60))
        fi
        if ! kill -0 "$wrk_pid" 2>/dev/null; then
            wait "$wrk_pid" || true
            restarts=$((restarts + 1))
            warn "$label: wrk was stopped from outside after $stored accepted messages; started again"
            [ "$restarts" -le 5 ] || die "$label: wrk keeps being stopped from outside"
            BENCH_AUTH=$SB_AUTH wrk -t1 "-c$CONNS" -d3600s --latency -s "$BENCH_D/send.lua" \
                "$SB_URL/v1/messages" >"$dir/wrk.txt" 2>&1 &
            wrk_pid=$!
        fi
        stored=$(sb_sql "SELECT coalesce(max(seq), 0) FROM messages;")
    done
    kill -INT "$wrk_pid"
    wait "$wrk_pid" || die "wrk failed: $(tail -3 "$dir/wrk.txt")"
    echo "   $stored accepted in $(elapsed "$t0" "$(now)") s; waiting for delivery"
    t1=$(now)
    parse_wrk "$dir/wrk.txt"
    sb_wait_messages || fail_later "$label: messages still pending after ${DRAIN_MAX_S}s"
    # shellcheck disable=SC2046
    ticks=$(($(cpu_ticks $(sb_server_pids)) - ticks0))
    other_cpu_figure "$ticks" "$label"
    sb_wait_addons
    local counts total delivered runner_hwm="" pid
    counts=$(sb_sql "SELECT count(*), sum(status = 'delivered') FROM messages WHERE direction = 'outbound';")
    total=${counts%%|*} delivered=${counts#*|}
    if [ "$total" -lt "$WRK_ACCEPTED" ] || [ "$delivered" != "$total" ]; then
        fail_later "$label: $WRK_ACCEPTED acknowledged, $total stored, $delivered delivered"
    fi
    for pid in $(children_of "$SB_PID"); do runner_hwm+="${runner_hwm:+,}$(proc_mib "$pid" VmHWM)"; done
    local hwm rss
    hwm=$(proc_mib "$SB_PID" VmHWM) rss=$(proc_mib "$SB_PID" VmRSS)
    local extra
    sb_addon_figures "$variant" "$label"
    extra="$SB_ADDON_FIGURES log_problems=$(sb_log_problems) $OTHER_CPU $(cpu_figures "$ticks" "$total")"
    extra+=" db_mib=$(du -sm "$dir/data" | awk '{ print $1 }')"
    sb_stop
    # The rate over the whole phase, from the daemon's count: wrk's covers its last start only.
    record "run=1 scenario=1M server=switchboard variant=$variant requests=$WRK_REQUESTS accepted=$WRK_ACCEPTED" \
        "accepted_per_s=$(rate "$total" "$(elapsed "$t0" "$t1")") wrk_restarts=$restarts" \
        "non2xx=$WRK_NON2XX socket_errors=$WRK_SOCKET_ERRORS" \
        "p50_ms=$WRK_P50_MS p99_ms=$WRK_P99_MS stored=$total delivered=$delivered" \
        "hwm_mib=$hwm rss_mib=$rss runner_hwm_mib=${runner_hwm:--} load_s=$(elapsed "$t0" "$t1")" \
        "drain_s=$(elapsed "$t1" "$SB_CALLBACKS_AT") addon_backlog=$SB_ADDON_BACKLOG $extra"
    warn_non2xx "$label"
}

# The median of KEY over the raw lines of SCENARIO/SERVER/VARIANT, or "-" when there are none.
median() {
    local scenario=$1 server=$2 variant=$3 key=$4
    awk -v s="$scenario" -v srv="$server" -v v="$variant" -v k="$key" '
        { delete f; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) } }
        f["scenario"] == s && f["server"] == srv && f["variant"] == v && (k in f) && f[k] != "-" { print f[k] }
    ' "$WORK/raw.txt" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        print m }'
}

# Formats a figure with about three significant digits (counts and rates as whole numbers).
fmt() {
    awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v >= 100 || v == int(v)) printf "%.0f\n", v;
        else if (v >= 10) printf "%.1f\n", v; else if (v >= 1) printf "%.2f\n", v; else printf "%.3f\n", v }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# One table row: | scenario | figure | Kannel | Switchboard | Switchboard / Kannel |
row() {
    local title=$1 figure=$2 scenario=$3 variant=$4 key=$5 k s
    k=$(median "$scenario" kannel - "$key")
    s=$(median "$scenario" switchboard "$variant" "$key")
    echo "| $title | $figure | $(fmt "$k") | $(fmt "$s") | $(ratio "$s" "$k") |"
}

# A row of the HTTPS table: | figure | plain HTTP | HTTPS | HTTPS / plain HTTP |
tls_row() {
    local figure=$1 scenario=$2 key=$3 p s
    p=$(median "$scenario" switchboard none "$key")
    s=$(median "$scenario" switchboard https "$key")
    echo "| $figure | $(fmt "$p") | $(fmt "$s") | $(ratio "$s" "$p") |"
}

# A row with a Switchboard figure only.
sb_row() {
    echo "| $1 | $2 | - | $(fmt "$(median "$3" switchboard "$4" "$5")") | - |"
}

variant_title() {
    case $1 in
    none) echo "no add-ons" ;;
    https) echo "no add-ons, HTTPS" ;;
    inproc) echo "3 add-ons in process" ;;
    scrub-isolated) echo "3 add-ons, ComplianceScrub isolated" ;;
    all-isolated) echo "3 add-ons, all isolated" ;;
    esac
}

# The table of medians, to stdout and $WORK/results.md.
report() {
    local runs=$1 duration=$2 variant
    {
        echo "\`${BENCH_COMMAND:-scripts/bench}\`, $(date -u +%Y-%m-%dT%H:%MZ): median of $runs run(s) of ${duration}s," \
            "$CONNS keep-alive connections (wrk -t1); $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB," \
            "${BUSY_AT_START:-?}% busy before the start; Switchboard $(git -C "$ROOT" rev-parse --short HEAD)," \
            "$(/usr/sbin/bearerbox --version 2>&1 | grep -om1 "Kannel bearerbox version \`[^']*'" | tr -d "\`'" || echo Kannel)."
        echo "Ratio: Switchboard / Kannel (above 1 is better for rates, below 1 for latency and CPU)."
        echo
        echo "| scenario | figure | Kannel | Switchboard | ratio |"
        echo "|---|---|---:|---:|---:|"
        for variant in $A_VARIANTS; do
            local t
            t="A, $(variant_title "$variant")"
            row "$t" "accepted/s" A "$variant" accepted_per_s
            row "$t" "delivered/s" A "$variant" delivered_per_s
            row "$t" "latency p50 ms" A "$variant" p50_ms
            row "$t" "latency p99 ms" A "$variant" p99_ms
            row "$t" "CPU s / 1,000 msgs" A "$variant" cpu_s_per_1k
            row "$t" "non-2xx answers" A "$variant" non2xx
            sb_row "$t" "delivered, never marked sent" A "$variant" never_sent
            if sb_addons_enabled "$variant"; then sb_row "$t" "add-on events queued ${ADDON_DRAIN_MAX_S}s after" A "$variant" addon_backlog; fi
        done
        for variant in $C_VARIANTS; do
            local t
            t="C, $(variant_title "$variant")"
            row "$t" "accepted/s" C "$variant" accepted_per_s
            row "$t" "final callbacks/s" C "$variant" callbacks_per_s
            row "$t" "latency p50 ms" C "$variant" p50_ms
            row "$t" "latency p99 ms" C "$variant" p99_ms
            row "$t" "CPU s / 1,000 msgs" C "$variant" cpu_s_per_1k
            row "$t" "non-2xx answers" C "$variant" non2xx
            sb_row "$t" "\"sent\" callbacks queued though not asked for" C "$variant" unasked_callbacks
            [ "$variant" = none ] || sb_row "$t" "add-on events queued ${ADDON_DRAIN_MAX_S}s after" C "$variant" addon_backlog
        done
        if [ "$(median 1M switchboard scrub-isolated hwm_mib)" != "-" ]; then
            local t="1M messages, 3 add-ons, ComplianceScrub isolated"
            sb_row "$t" "daemon peak RSS MiB (VmHWM)" 1M scrub-isolated hwm_mib
            sb_row "$t" "daemon RSS MiB at the end (VmRSS)" 1M scrub-isolated rss_mib
            sb_row "$t" "accepted/s" 1M scrub-isolated accepted_per_s
            sb_row "$t" "latency p99 ms" 1M scrub-isolated p99_ms
            sb_row "$t" "non-2xx answers" 1M scrub-isolated non2xx
            sb_row "$t" "add-on events queued ${ADDON_DRAIN_MAX_S}s after" 1M scrub-isolated addon_backlog
        fi
        if grep -qs 'scenario=H ' "$WORK/raw.txt"; then
            echo
            echo "HTTPS cost, Switchboard alone (no add-ons): the same daemon over plain HTTP and over TLS 1.3"
            echo "(ECDSA P-256 certificate). Ratio: HTTPS / plain HTTP."
            echo
            echo "| figure | plain HTTP | HTTPS | ratio |"
            echo "|---|---:|---:|---:|"
            tls_row "keep-alive (A): accepted/s" A accepted_per_s
            tls_row "keep-alive (A): CPU s / 1,000 msgs" A cpu_s_per_1k
            tls_row "keep-alive (A): latency p99 ms" A p99_ms
            tls_row "a connection per request (H): connections/s" H connections_per_s
            tls_row "a connection per request (H): CPU s / 1,000 connections" H cpu_s_per_1k
            tls_row "a connection per request (H): latency p99 ms" H p99_ms
        fi
    } | tee "$WORK/results.md"
}

# The whole HTTP benchmark: RUNS rounds of every scenario, Kannel and Switchboard alternating (none
# with RUNS 0), then the 1M phase unless MILLION is 0.
http_bench() {
    local runs=$1 duration=$2 million=$3 run variant
    echo "== HTTP benchmark: Kannel vs Switchboard, $runs run(s) of ${duration}s, work files in $WORK"
    # Both sides share the cores with wrk: anything else running skews the figures.
    BUSY_AT_START=$(machine_busy_pct 2)
    [ "$BUSY_AT_START" -le 10 ] ||
        warn "the machine was ${BUSY_AT_START}% busy before the benchmark: something else uses the CPU, figures will be low"
    : >"$WORK/raw.txt"
    receiver_start "$WORK/receiver"
    for ((run = 1; run <= runs; run++)); do
        echo "== run $run/$runs"
        kannel_scenario A "$run" "$duration"
        for variant in $A_VARIANTS; do sb_scenario A "$variant" "$run" "$duration"; done
        kannel_scenario C "$run" "$duration"
        for variant in $C_VARIANTS; do sb_scenario C "$variant" "$run" "$duration"; done
        for variant in $H_VARIANTS; do sb_connections "$variant" "$run" "$duration"; done
    done
    [ "$million" = 0 ] || sb_million "$million"
    echo
    report "$runs" "$duration"
    # shellcheck disable=SC2034 # read by scripts/bench when it exits
    REPORTED=1
}
