# shellcheck shell=bash
# Switchboard under test: the release daemon with its own data directory, one account, and the
# bundled add-ons enabled or not. Sourced by scripts/bench.

SB_PORT=18080
SB_URL="http://127.0.0.1:$SB_PORT"
# Variant https serves the API over TLS here and keeps plain HTTP on SB_PORT for the bench's own
# calls (account, /metrics, /healthz), as an operator's http.plain_port does for local checks.
SB_TLS_PORT=18443
SB_TOKEN="bench-operator-token-0123456789"
SB_ADDONS=(com.switchboard.compliance-scrub com.switchboard.reporting com.switchboard.monitoring)
# The add-ons the bench account enables in a variant with add-ons: all of them unless a caller
# (scripts/bench-ab --addons) names fewer, to see what each one costs alone.
SB_ENABLED_ADDONS=("${SB_ADDONS[@]}")
SB_PID=""
# The build under test: a release build directory holding switchboard, its runner and the add-ons.
SB_BIN=${SB_BIN:-}

# Isolation of each bundled add-on in VARIANT, as "id=mode" words:
#   none            no add-on enabled for the account (they are loaded, in process, and idle)
#   https           as none, with the API served over HTTPS (TLS 1.3, an ECDSA P-256 certificate)
#   inproc          all three enabled, in process
#   scrub-isolated  all three enabled, ComplianceScrub in a runner process, the others in process
#   all-isolated    all three enabled, each in its own runner
sb_isolation() {
    case $1 in
    none | https | inproc) echo "com.switchboard.compliance-scrub=in_process com.switchboard.reporting=in_process com.switchboard.monitoring=in_process" ;;
    scrub-isolated) echo "com.switchboard.compliance-scrub=isolated com.switchboard.reporting=in_process com.switchboard.monitoring=in_process" ;;
    all-isolated) echo "com.switchboard.compliance-scrub=isolated com.switchboard.reporting=isolated com.switchboard.monitoring=isolated" ;;
    *) die "unknown Switchboard variant $1" ;;
    esac
}

# Writes the daemon's config: loopback, its own data directory, no send limit that the load could
# hit, an instant carrier that never fails (like fakesmsc), the cheapest password hash allowed.
sb_write_config() {
    local file=$1 data_dir=$2 variant=$3 overrides="" pair port=$SB_PORT http=""
    for pair in $(sb_isolation "$variant"); do
        overrides+="${overrides:+, }\"${pair%%=*}\": \"${pair#*=}\""
    done
    if [ "$variant" = https ]; then
        sb_tls_files "$(dirname "$file")/tls"
        port=$SB_TLS_PORT
        http="\"http\": { \"tls\": { \"certificate_file\": \"$SB_TLS_CERT\", \"key_file\": \"$SB_TLS_KEY\" },"
        http+=" \"plain_port\": $SB_PORT },"
    fi
    cat >"$file" <<EOF
{
  "host": "127.0.0.1",
  "port": $port,$http
  "data_dir": "$data_dir",
  "durability": "normal",
  "operator_token": "$SB_TOKEN",
  "password_cost": 10,
  "rate_limits": { "send_per_second": 1000000, "send_burst": 1000000 },
  "simulator": { "latency_ms": 0, "failure_rate": 0.0, "seed": 1 },
  "callbacks": { "allow_targets": ["127.0.0.1"], "allow_http": true },
  "addons": { "isolation": { "overrides": { $overrides } } }
}
EOF
}

# A throwaway self-signed certificate for 127.0.0.1 in DIR (ECDSA P-256, as ACME clients issue by
# default); sets SB_TLS_CERT and SB_TLS_KEY. wrk does not verify it, so no CA is needed.
sb_tls_files() {
    local dir=$1
    mkdir -p "$dir"
    SB_TLS_CERT=$dir/cert.pem SB_TLS_KEY=$dir/key.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$SB_TLS_KEY" -out "$SB_TLS_CERT" 2>"$dir/openssl.log" ||
        die "openssl could not make the benchmark's certificate: $(tail -3 "$dir/openssl.log")"
}

# Whether VARIANT enables the add-ons for the bench account.
sb_addons_enabled() {
    [ "$1" != none ] && [ "$1" != https ]
}

# Where the load goes in VARIANT: the HTTPS listener for https, the plain one otherwise.
sb_api_url() {
    if [ "$1" = https ]; then echo "https://127.0.0.1:$SB_TLS_PORT"; else echo "$SB_URL"; fi
}

sb_healthy() {
    curl -sf --max-time 2 "$SB_URL/healthz" >/dev/null
}

# Starts the daemon for one scenario run in DIR (fresh data directory, so runs are independent).
sb_start() {
    local dir=$1 variant=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    sb_write_config "$dir/switchboard.json" "$dir/data" "$variant"
    require_free_ports "$SB_PORT" "$SB_TLS_PORT"
    sb_launch "$dir"
}

# Serves DIR/switchboard.json (data in DIR/data, log in DIR/daemon.log) and waits for /healthz.
sb_launch() {
    local dir=$1
    "${SB_BIN:-$ROOT/.build/release}/switchboard" serve --config "$dir/switchboard.json" >"$dir/daemon.log" 2>&1 &
    SB_PID=$!
    SB_DIR=$dir
    SB_DB="$dir/data/switchboard.sqlite"
    local deadline=$((SECONDS + 60))
    until sb_healthy; do
        kill -0 "$SB_PID" 2>/dev/null || die "switchboard exited at start: $(tail -5 "$dir/daemon.log")"
        [ "$SECONDS" -lt "$deadline" ] || die "switchboard did not answer /healthz within 60s"
        sleep 0.1
    done
}

# Creates the bench account; sets SB_ACCOUNT and SB_AUTH (base64 of account_id:api_key for wrk).
sb_create_account() {
    local answer key
    answer=$(curl -sf --max-time 10 "$SB_URL/v1/accounts" -H 'content-type: application/json' \
        -d '{"name":"Bench","email":"bench@example.com","password":"plum-harbor-violet-42"}') ||
        die "creating the bench account failed"
    SB_ACCOUNT=$(jq -r .account_id <<<"$answer")
    key=$(jq -r .api_key <<<"$answer")
    SB_AUTH=$(printf '%s:%s' "$SB_ACCOUNT" "$key" | base64 | tr -d '\n')
}

# Enables the bundled add-ons of SB_ENABLED_ADDONS (all, unless bench-ab --addons names fewer) for the
# account with every category each asks for (the heaviest grant: ComplianceScrub also reads message bodies).
sb_enable_addons() {
    local catalogue id categories
    catalogue=$(curl -sf --max-time 10 -H "Authorization: Basic $SB_AUTH" "$SB_URL/v1/addons") ||
        die "GET /v1/addons failed"
    for id in "${SB_ENABLED_ADDONS[@]}"; do
        categories=$(jq -c --arg id "$id" '[.data[] | select(.id == $id) | .fields[].category] | unique' <<<"$catalogue")
        [ "$categories" != "[]" ] || die "add-on $id is not loaded: $(jq -c '[.data[].id]' <<<"$catalogue")"
        curl -sf --max-time 10 -X PUT -H "Authorization: Basic $SB_AUTH" -H 'content-type: application/json' \
            "$SB_URL/v1/account/addons/$id" -d "{\"categories\":$categories}" >/dev/null ||
            die "enabling $id for the bench account failed"
    done
}

# Checks with the operator API that every add-on is loaded in the expected isolation, running, and
# enabled for the account (or not, in variant none). Dies otherwise: the figures would lie.
sb_check_addons() {
    local variant=$1 listing pair id mode want_enabled=1 want got
    sb_addons_enabled "$variant" || want_enabled=0
    listing=$(curl -sf --max-time 10 -H "Authorization: Bearer $SB_TOKEN" "$SB_URL/v1/admin/addons") ||
        die "GET /v1/admin/addons failed"
    [ "$(jq '.failed | length' <<<"$listing")" = 0 ] || die "add-ons refused: $(jq -c .failed <<<"$listing")"
    for pair in $(sb_isolation "$variant"); do
        id=${pair%%=*} mode=${pair#*=} want=$want_enabled
        [[ " ${SB_ENABLED_ADDONS[*]} " == *" $id "* ]] || want=0
        got=$(jq -r --arg id "$id" '.loaded[] | select(.id == $id) |
            "\(.isolation) \(.runtime.state // "running") \(.enabled_accounts)"' <<<"$listing")
        [ "$got" = "$mode running $want" ] ||
            die "$id: expected \"$mode running $want\" (isolation, state, enabled accounts), got \"$got\""
    done
}

# Prometheus counter or gauge value (summed over series matching the label filter), 0 when absent.
sb_metric() {
    local metrics=$1 name=$2 filter=${3:-}
    awk -v name="$name" -v filter="$filter" '
        $1 ~ "^" name "({|$)" && index($1, filter) { sum += $NF }
        END { printf "%.0f", sum }' <<<"$metrics"
}

sb_sql() {
    # A reader can meet a lock for a moment (WAL checkpoint); wait instead of failing the run.
    sqlite3 -readonly -cmd '.timeout 5000' "$SB_DB" "$1"
}

# "messages|callbacks|events": messages not yet in a final status, status callbacks not yet answered,
# add-on events (and erasure orders) in the event log past some add-on's cursor and for it. The
# first two use a partial or covering index and the log is pruned as add-ons pass it, so polling
# stays cheap under load.
sb_pending() {
    sb_sql "SELECT (SELECT count(*) FROM messages WHERE status IN ('queued', 'sent')),
        (SELECT count(*) FROM callbacks WHERE state = 'pending'),
        (SELECT count(*) FROM addon_log l WHERE EXISTS (SELECT 1 FROM addon_cursors c
            WHERE l.seq > c.seq AND instr(l.recipients, ',' || c.addon_id || ',') > 0));"
}

# The daemon plus its live runner processes.
sb_server_pids() {
    echo "$SB_PID $(children_of "$SB_PID" | tr '\n' ' ')"
}

# Warnings and errors the daemon logged (swift-log's default format: "<time> <level> <label> : ...").
sb_log_problems() {
    grep -cE '^[^ ]+ (warning|error|critical) ' "$SB_DIR/daemon.log" || true
}

# SIGTERM drains in-flight requests and stops the runners; SIGKILL after 30 s, runners included.
sb_stop() {
    [ -n "$SB_PID" ] || return 0
    local runners
    runners=$(children_of "$SB_PID")
    stop_pid "$SB_PID" TERM 30
    wait "$SB_PID" 2>/dev/null || true
    for pid in $runners; do stop_pid "$pid" TERM 5; done
    SB_PID=""
}

# Leftovers of an interrupted earlier run of this checkout's release build (never anything else):
# processes whose executable path starts with this checkout's .build/release/switchboard, by either
# name (the daemon starts runners by the resolved path of the symlink .build/release).
sb_kill_strays() {
    local file pid arg0 resolved
    resolved=$(cd "$ROOT/.build/release" 2>/dev/null && pwd -P) || resolved="$ROOT/.build/release"
    for file in /proc/[0-9]*/cmdline; do
        arg0=""
        IFS= read -r -d '' arg0 2>/dev/null <"$file" || true
        case $arg0 in
        "$ROOT/.build/release/switchboard"* | "$resolved/switchboard"*)
            pid=${file#/proc/}
            pid=${pid%/cmdline}
            [ "$pid" = "$SB_PID" ] && continue
            echo "bench: stopping a leftover $arg0 (pid $pid)" >&2
            stop_pid "$pid" TERM 10
            ;;
        esac
    done
}
