# shellcheck shell=bash
# Shared helpers of scripts/bench: tools, ports, processes, CPU ticks, wrk output.
# Sourced, not run; expects `set -euo pipefail` from the caller.

# Packages the HTTP benchmark uses (Debian names), installed with apt-get when a tool is missing,
# so a fresh CI machine needs nothing beyond scripts/setup and the Swift toolchain.
bench_install_tools() {
    local missing=0
    [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] || missing=1
    [ -x /usr/lib/kannel/test/fakesmsc ] || missing=1
    for tool in wrk nginx jq curl sqlite3 awk openssl; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing=1
    done
    [ "$missing" = 0 ] && return 0
    echo "installing the HTTP benchmark's tools: kannel kannel-extras wrk nginx-light jq curl sqlite3 openssl"
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
        kannel kannel-extras wrk nginx-light jq curl sqlite3 openssl
}

# Stops the whole run with a message on stderr.
die() {
    echo "bench: $*" >&2
    exit 1
}

# Notes something the run will fail on at the end, without throwing away the figures measured so far.
FAILURES=()
fail_later() {
    echo "FAIL: $*" >&2
    FAILURES+=("$*")
}

# Notes something odd that does not fail the run; repeated in the summary at the end.
WARNINGS=()
warn() {
    echo "WARN: $*" >&2
    WARNINGS+=("$*")
}

# True when something accepts TCP connections on 127.0.0.1:PORT (bash's /dev/tcp: no extra tool).
port_open() {
    (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Refuses to start when a port is taken: figures measured against someone else's server are worthless.
require_free_ports() {
    local port
    for port in "$@"; do
        port_open "$port" && die "127.0.0.1:$port is already in use; stop what listens there (ss -ltnp) and retry"
    done
    return 0
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds; dies after SECONDS.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${seconds}s waiting for $what"
        sleep 0.1
    done
}

# Sends SIGNAL to PID, waits up to SECONDS for it to go, then SIGKILLs it.
stop_pid() {
    local pid=$1 signal=$2 seconds=$3
    kill -0 "$pid" 2>/dev/null || return 0
    kill "-$signal" "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "bench: pid $pid ignored SIG$signal for ${seconds}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

now() { date +%s.%N; }

# CPU clock ticks (utime + stime + cutime + cstime) of each PID. cutime/cstime hold children that
# exited and were reaped in the meantime, e.g. an add-on runner that was restarted.
# The command name (field 2) may contain spaces, so fields are counted after its closing ')'.
cpu_ticks() {
    local pid total=0 stat rest
    local -a f
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        rest=${stat##*) }
        # rest starts at field 3 (state): utime is field 14, so the 12th word here.
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$total"
}

# Busy CPU ticks of the whole machine, all cores (user, nice, system, irq, softirq, steal).
machine_busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# Percentage of all cores busy over SECONDS (a look at what else runs before measuring).
machine_busy_pct() {
    local before after
    before=$(machine_busy_ticks)
    sleep "$1"
    after=$(machine_busy_ticks)
    awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v s="$1" -v n="$(nproc)" \
        'BEGIN { printf "%.0f", 100 * t / (hz * s * n) }'
}

# The live children of PID (the daemon's add-on runners), one per line. Scans /proc with builtins
# only: /proc/PID/task/*/children needs a kernel option that is often off, and procps may be absent.
children_of() {
    local parent=$1 stat_file stat rest
    local -a f
    for stat_file in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$stat_file" || continue
        rest=${stat##*) }
        read -r -a f <<<"$rest"
        [ "${f[1]}" = "$parent" ] && echo "${stat%% *}"
    done
    return 0
}

# KEY from /proc/PID/status in MiB (VmHWM, VmRSS), or "-" when the process is gone.
proc_mib() {
    awk -v key="$2:" '$1 == key { printf "%.1f", $2 / 1024; found = 1 } END { if (!found) printf "-" }' \
        "/proc/$1/status" 2>/dev/null || echo "-"
}

# wrk's latency ("812.00us", "1.23ms", "1.05s", "2.00m") in milliseconds.
wrk_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

# Reads a `wrk --latency` output file into WRK_REQUESTS, WRK_NON2XX, WRK_ACCEPTED (2xx answers),
# WRK_SECONDS, WRK_ACCEPTED_RPS, WRK_P50_MS, WRK_P99_MS, WRK_SOCKET_ERRORS.
# shellcheck disable=SC2034 # the results are read by http.sh
parse_wrk() {
    local file=$1 line
    line=$(grep -E '^ *[0-9]+ requests in ' "$file") || die "no result in $file: $(tail -3 "$file")"
    WRK_REQUESTS=$(awk '{ print $1 }' <<<"$line")
    # "in 15.01s," or "in 1.00m," (wrk switches unit on long runs)
    WRK_SECONDS=$(awk '{ v = $4; sub(/,$/, "", v); n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "m") n *= 60; else if (u == "ms") n /= 1000; printf "%.3f", n }' <<<"$line")
    WRK_NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
    WRK_NON2XX=${WRK_NON2XX:-0}
    WRK_SOCKET_ERRORS=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$file")
    WRK_SOCKET_ERRORS=${WRK_SOCKET_ERRORS:-0}
    WRK_ACCEPTED=$((WRK_REQUESTS - WRK_NON2XX))
    WRK_ACCEPTED_RPS=$(awk -v n="$WRK_ACCEPTED" -v s="$WRK_SECONDS" 'BEGIN { printf "%.0f", n / s }')
    WRK_P50_MS=$(wrk_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
    WRK_P99_MS=$(wrk_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
}

# Runs wrk like every scenario does: one thread, CONNS keep-alive connections, --latency.
# run_wrk OUTPUT DURATION URL [wrk args...]
run_wrk() {
    local out=$1 duration=$2 url=$3
    shift 3
    wrk -t1 "-c$CONNS" "-d${duration}s" --latency "$@" "$url" >"$out" 2>&1 ||
        die "wrk failed: $(tail -3 "$out")"
}
