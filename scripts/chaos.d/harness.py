"""The pieces scripts/chaos builds its fault runs from: the daemon under test, a status-callback
receiver, a load generator, and the checks run once a scenario's load has drained.

Standard library only, loopback only. Every process started here is registered, so that whatever
ends the run (a failed check, an exception, Ctrl-C) `cleanup()` kills it: a daemon left behind
would hold its port and keep a core busy on a small shared machine.
"""
import base64
import collections
import contextlib
from decimal import ROUND_HALF_UP, Decimal
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

FINAL = ("delivered", "undelivered", "failed")
OPERATOR_TOKEN = "chaos-operator-token-0123456789"
ADDONS = ("com.switchboard.compliance-scrub", "com.switchboard.reporting", "com.switchboard.monitoring")
RUNNER = "switchboard-addon-runner"
STARTED = time.monotonic()
# Runs between fork and the daemon, as the daemon's own process (it execs): asks the kernel to
# SIGKILL the daemon when this script dies, however it dies (even kill -9), so no daemon is left
# behind; and sets the descriptor limit, soft and hard (the daemon raises its soft limit to the hard
# one at start). A separate program rather than Popen's preexec_fn, which is not safe while the
# load's threads run.
EXEC_WRAPPER = """
import ctypes, os, resource, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit("chaos: the script that started the daemon is gone")
if int(sys.argv[2]):
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[2])))
try:
    os.execv(sys.argv[3], sys.argv[3:])
except OSError as error:
    busy = " (it is being written: is a build running? run again once it is done)" if error.errno == 26 else ""
    sys.exit(f"chaos: cannot start {sys.argv[3]}: {error.strerror}{busy}")
"""


def say(message):
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


class ScenarioError(Exception):
    """A scenario could not go on (the daemon did not start, a fault could not be injected)."""


class Skip(Exception):
    """A scenario that cannot run on this machine (no privilege for a mount); not a pass."""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def merge(base, overrides):
    merged = dict(base)
    for key, value in overrides.items():
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge(merged[key], value) if nested else value
    return merged


# --- processes --------------------------------------------------------------------------------

_daemons = []
_loads = []
_receivers = []
_mounts = []
_cleanup_lock = threading.Lock()


def children(parent):
    """Pids whose parent is `parent`, read from /proc (no procps needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def exe_name(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Daemon:
    """One `switchboard serve` on its own data directory and a fixed port, so that a restart after
    kill -9 comes back where the load generator and the callbacks expect it."""

    def __init__(self, bin_dir, root, work, data_dir, settings=None, nofile=None):
        self.bin_dir = bin_dir
        self.work = work
        self.data_dir = data_dir
        self.port = free_port()
        self.nofile = nofile
        self.proc = None
        self.starts = 0
        # Runner pids ever seen, to kill any that outlives its daemon (they normally exit with it).
        self.runners_seen = set()
        self.log_path = os.path.join(work, "daemon.log")
        self.config_path = os.path.join(work, "switchboard.json")
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "data_dir": data_dir,
            "durability": "normal",
            "operator_token": OPERATOR_TOKEN,
            # The cheapest password hash allowed: sign-up is setup here, not what is tested.
            "password_cost": 10,
            "rate_limits": {"send_per_second": 1000000, "send_burst": 1000000},
            # Reports come quickly so a drained run does not wait on the carrier, and a share of
            # messages fails or goes undelivered so that every final status is exercised.
            "simulator": {"latency_ms": 20, "failure_rate": 0.1, "seed": 7},
            # The receiver is on loopback; a callback whose attempt died with the daemon is retried soon.
            "callbacks": {"allow_targets": ["127.0.0.1"], "allow_http": True, "retry_base_ms": 200},
            "addons": {
                "bundled_dir": os.path.join(root, "Manifests"),
                "library_dirs": [bin_dir],
                "isolation": {
                    "overrides": {
                        "com.switchboard.compliance-scrub": "isolated",
                        "com.switchboard.reporting": "in_process",
                        "com.switchboard.monitoring": "in_process",
                    }
                },
            },
        }
        self.config = merge(config, settings or {})
        with open(self.config_path, "w") as file:
            json.dump(self.config, file, indent=2)
        _daemons.append(self)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def db_path(self):
        return os.path.join(self.data_dir, "switchboard.sqlite")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=60):
        command = [os.path.join(self.bin_dir, "switchboard"), "serve", "--config", self.config_path]
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", EXEC_WRAPPER, str(os.getpid()), str(self.nofile or 0)] + command,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.work)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ScenarioError(f"the daemon exited at start with {self.proc.returncode}: {self.log_tail()}")
            if self.healthy():
                self.note_runners()
                return
            time.sleep(0.1)
        raise ScenarioError(f"the daemon did not answer /healthz within {timeout} s: {self.log_tail()}")

    def healthy(self):
        try:
            status, _, _ = call(self.port, "GET", "/healthz", timeout=2)
            return status == 200
        except (OSError, http.client.HTTPException):
            return False

    def runners(self):
        """The live add-on runners started by this daemon."""
        if not self.running():
            return []
        pids = [pid for pid in children(self.proc.pid) if exe_name(pid) == RUNNER and alive(pid)]
        self.runners_seen.update(pids)
        return pids

    def note_runners(self):
        self.runners()

    def kill9(self):
        """SIGKILL, as a crash or an OOM kill would end it; reaps it and any runner left over."""
        self.note_runners()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reap_runners(grace=5)

    def stop(self, timeout=30):
        """SIGTERM (drains in-flight requests), SIGKILL after `timeout`; returns the exit status."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.note_runners()
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            status = f"killed after ignoring SIGTERM for {timeout} s"
        self.reap_runners(grace=5)
        return status

    def reap_runners(self, grace):
        deadline = time.monotonic() + grace
        for pid in sorted(self.runners_seen):
            while alive(pid) and exe_name(pid) == RUNNER and time.monotonic() < deadline:
                time.sleep(0.05)
            if alive(pid) and exe_name(pid) == RUNNER:
                say(f"runner {pid} outlived its daemon; killing it")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.runners_seen = {pid for pid in self.runners_seen if alive(pid) and exe_name(pid) == RUNNER}

    def cleanup(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self.reap_runners(grace=2)

    def log_tail(self, lines=6):
        try:
            with open(self.log_path, errors="replace") as log:
                return " | ".join(line.rstrip() for line in log.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_count(self, *words):
        try:
            with open(self.log_path, errors="replace") as log:
                return sum(1 for line in log if any(f" {word} " in line for word in words))
        except OSError:
            return 0


def call(port, method, path, body=None, headers=None, timeout=10):
    """One request on a connection of its own: (status, headers as a dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def call_json(port, method, path, body=None, headers=None, expect=(200,), timeout=10):
    status, _, data = call(port, method, path, body, headers, timeout)
    if status not in expect:
        raise ScenarioError(f"{method} {path} answered {status}: {data[:300]!r}")
    return json.loads(data) if data else None


def operator():
    return {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def admin_addons(daemon):
    return call_json(daemon.port, "GET", "/v1/admin/addons", headers=operator())


class Account:
    """One customer with every bundled add-on enabled for every category it asks for (the heaviest
    grant: ComplianceScrub also reads message bodies), as the benchmark sets it up."""

    def __init__(self, daemon):
        answer = call_json(daemon.port, "POST", "/v1/accounts", {
            "name": "Chaos", "email": f"chaos-{random.randrange(1 << 30)}@example.com",
            "password": "plum-harbor-violet-42"}, expect=(201,))
        self.id = answer["account_id"]
        token = base64.b64encode(f"{self.id}:{answer['api_key']}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        # A number of its own, for the inbound messages the load injects through the simulator.
        self.number = f"+3725550{random.randrange(10000):04d}"
        call_json(daemon.port, "POST", "/v1/account/numbers", {"number": self.number}, headers=self.headers,
                  expect=(201,))
        catalogue = call_json(daemon.port, "GET", "/v1/addons", headers=self.headers)
        for addon in ADDONS:
            entry = next((item for item in catalogue["data"] if item["id"] == addon), None)
            if entry is None:
                raise ScenarioError(f"add-on {addon} is not loaded: {[item['id'] for item in catalogue['data']]}")
            categories = sorted({field["category"] for field in entry["fields"]})
            call_json(daemon.port, "PUT", f"/v1/account/addons/{addon}", {"categories": categories},
                      headers=self.headers, expect=(201,))
        listing = admin_addons(daemon)
        if listing["failed"]:
            raise ScenarioError(f"add-ons refused: {listing['failed']}")
        want = daemon.config["addons"]["isolation"]["overrides"]
        for addon in ADDONS:
            loaded = next((item for item in listing["loaded"] if item["id"] == addon), None)
            got = loaded and (loaded["isolation"], loaded.get("runtime", {}).get("state"), loaded["enabled_accounts"])
            if got != (want[addon], "running", 1):
                raise ScenarioError(f"{addon}: expected ({want[addon]}, running, 1) (isolation, state, "
                                    f"enabled accounts), got {got}")


def wait_until(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --- the callback receiver --------------------------------------------------------------------

class Receiver:
    """Status callbacks, counted per (message id, status): a count above 1 is a duplicate (allowed,
    callbacks are at least once), a final status with no entry is a lost callback."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.posts = 0
        self.truncated = 0
        self.unreadable = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.read_body()
                if body is None:
                    # Cut short: the daemon died mid-request. It got no answer, so it sends again.
                    with receiver.lock:
                        receiver.truncated += 1
                    self.close_connection = True
                    return
                try:
                    payload = json.loads(body)
                    key = (payload["message_id"], payload["status"])
                except (ValueError, KeyError, TypeError):
                    key = None
                with receiver.lock:
                    receiver.posts += 1
                    if key:
                        receiver.counts[key] += 1
                    elif len(receiver.unreadable) < 5:
                        receiver.unreadable.append(body[:200])
                self.send_response(204)
                self.end_headers()

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        line = self.rfile.readline()
                        if not line.endswith(b"\n"):
                            return None
                        size = int(line.split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                return body if len(body) == length else None

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A daemon killed while sending a callback resets its connection: expected here.
                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/status"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        _receivers.append(self)

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.counts)

    def close(self):
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


# --- the load generator -----------------------------------------------------------------------

class Load:
    """Threads sending POST /v1/messages on one keep-alive connection each. Only a 201 counts as an
    acknowledgement; a connection error or a refusal is an attempt that acknowledged nothing, and
    the thread goes on with the next message (a new message each time, as a client retrying later
    would send it)."""

    def __init__(self, daemon, account, receiver, threads=6, rate=150, inbound_rate=10, tag="load"):
        self.daemon = daemon
        self.account = account
        self.receiver = receiver
        self.threads_wanted = threads
        # Paced, at about 60% of what a debug build takes on two cores: an unpaced load would starve
        # the daemon it tests (and everything else on a shared machine) and make drains long.
        self.interval = threads / rate
        self.tag = tag
        self.inbound_interval = 1 / inbound_rate if inbound_rate else None
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = []
        self.attempts = 0
        self.acked = []           # (message id, monotonic time of the answer)
        self.statuses = collections.Counter()
        self.connection_errors = 0
        self.refusals = collections.Counter()   # "503 disk_full", "422 addon_unavailable", ...
        self.bad_answers = []     # answers a client must never get: 5xx other than 503, empty or malformed problems
        self.retry_after = collections.Counter()
        self.inbound_attempts = 0
        self.inbound_acked = []   # ids of inbound messages the simulator answered 201 for
        _loads.append(self)

    def start(self):
        for index in range(self.threads_wanted):
            thread = threading.Thread(target=self.run, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)
        if self.inbound_interval:
            thread = threading.Thread(target=self.run_inbound, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(15)

    def acked_ids(self):
        with self.lock:
            return [message_id for message_id, _ in self.acked]

    def acks_between(self, start, end):
        with self.lock:
            return [at for _, at in self.acked if start <= at <= end]

    def note_bad(self, text):
        with self.lock:
            if len(self.bad_answers) < 20:
                self.bad_answers.append(text)
            else:
                self.bad_answers[-1] = f"(and more) {text}"

    def run(self, index):
        rng = random.Random(f"{self.tag}-{index}")
        headers = dict(self.account.headers)
        headers["Content-Type"] = "application/json"
        conn = None
        sent = 0
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            next_at = max(next_at + self.interval, time.monotonic() - self.interval)
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop_event.wait(delay):
                break
            sent += 1
            body = json.dumps({
                "to": f"+3725551{rng.randrange(10000):04d}", "from": "CHAOS",
                "body": f"{self.tag} {index}-{sent}", "status_callback": self.receiver.url,
                # One callback per message, with its outcome: half the callback traffic of all four.
                "status_callback_events": list(FINAL)})
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=15)
            try:
                conn.request("POST", "/v1/messages", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.attempts += 1
                    self.connection_errors += 1
                conn.close()
                conn = None
                self.stop_event.wait(0.1)
                continue
            pause = self.classify(response, data)
            if response.will_close:
                conn.close()
                conn = None
            if pause:
                self.stop_event.wait(pause)
        if conn is not None:
            conn.close()

    def run_inbound(self):
        """Inbound messages to the account's number: each is an event (message.inbound) for the
        isolated ComplianceScrub, so its outbox, not only its pre-send checks, lives through the faults."""
        rng = random.Random(f"{self.tag}-inbound")
        headers = {"Content-Type": "application/json", **operator()}
        conn = None
        count = 0
        while not self.stop_event.wait(self.inbound_interval):
            count += 1
            # Never a keyword (STOP, START...): an opt-out would refuse the outbound load's sends.
            body = json.dumps({"from": f"+3725552{rng.randrange(10000):04d}", "to": self.account.number,
                               "body": f"reply {count} from {self.tag}"})
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=15)
            try:
                conn.request("POST", "/v1/admin/simulator/inbound", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.inbound_attempts += 1
                conn.close()
                conn = None
                continue
            with self.lock:
                self.inbound_attempts += 1
            if response.status == 201:
                try:
                    message_id = json.loads(data)["message"]["id"]
                except (ValueError, KeyError, TypeError):
                    self.note_bad(f"inbound 201 without a message id: {data[:200]!r}")
                    continue
                with self.lock:
                    self.inbound_acked.append(message_id)
            elif parse_problem(response, data) is None or response.status != 503:
                self.note_bad(f"inbound answered {response.status}: {data[:200]!r}")
            if response.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def classify(self, response, data):
        """Counts one answer; returns how long to pause before the next message."""
        status = response.status
        with self.lock:
            self.attempts += 1
            self.statuses[status] += 1
        if status == 201:
            try:
                message_id = json.loads(data)["id"]
            except (ValueError, KeyError, TypeError):
                self.note_bad(f"201 without a message id: {data[:200]!r}")
                return 0
            with self.lock:
                self.acked.append((message_id, time.monotonic()))
            return 0
        problem = parse_problem(response, data)
        if problem is None:
            self.note_bad(f"{status} without a problem body: {data[:200]!r}")
            return 0.2
        if status == 503:
            retry_after = response.getheader("Retry-After")
            if not (retry_after or "").isdigit():
                self.note_bad(f"503 {problem.get('title')} without a Retry-After in seconds: {retry_after!r}")
            with self.lock:
                self.refusals[f"503 {problem.get('cause') or problem.get('title')}"] += 1
                self.retry_after[retry_after] += 1
            # A real client would wait Retry-After (30 s for storage); probing sooner shows when
            # the daemon recovers, and each probe is a new message, so nothing is sent twice.
            return 0.2
        if status == 422 and problem.get("reason_code") == "addon_unavailable":
            with self.lock:
                self.refusals["422 addon_unavailable"] += 1
            return 0.05
        self.note_bad(f"{status} {problem.get('title')}: {problem.get('detail')}")
        return 0.2

    def summary(self):
        with self.lock:
            refusals = ", ".join(f"{count} × {kind}" for kind, count in sorted(self.refusals.items()))
            return (f"{self.attempts} attempts, {len(self.acked)} acknowledged, {self.connection_errors} "
                    f"connection errors{', ' + refusals if refusals else ''}; inbound: {self.inbound_attempts} "
                    f"attempts, {len(self.inbound_acked)} acknowledged")


def parse_problem(response, data):
    """The problem+json document of an error answer, or None when it is empty or something else."""
    if not (response.getheader("Content-Type") or "").startswith("application/problem+json"):
        return None
    try:
        problem = json.loads(data)
    except ValueError:
        return None
    if not isinstance(problem, dict) or problem.get("status") != response.status or not problem.get("title"):
        return None
    return problem


# --- the checks after a run -------------------------------------------------------------------

def read_db(path):
    """A read-only connection, closed on leaving the `with` (the daemon may still be running: WAL
    readers never block it; an open one would keep the disk-full tmpfs busy at unmount)."""
    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10))


# Rows of the add-on event log that an add-on has still to receive: past its cursor and naming it.
ADDON_BACKLOG = ("(SELECT count(*) FROM addon_log l WHERE EXISTS (SELECT 1 FROM addon_cursors c"
                 " WHERE l.seq > c.seq AND instr(l.recipients, ',' || c.addon_id || ',') > 0))")


def pending(daemon, account):
    """(messages not final, callbacks not yet answered, add-on events not yet delivered)."""
    with read_db(daemon.db_path) as db:
        return db.execute(
            "SELECT (SELECT count(*) FROM messages WHERE account_id = ? AND status IN ('queued', 'sent')),"
            " (SELECT count(*) FROM callbacks WHERE state = 'pending'), " + ADDON_BACKLOG,
            (account.id,)).fetchone()


def drain(daemon, account, timeout):
    """Waits until everything accepted is finished: returns (seconds waited, what is still pending)."""
    started = time.monotonic()
    left = None
    while time.monotonic() - started < timeout:
        if not daemon.running():
            raise ScenarioError(f"the daemon died while draining: {daemon.log_tail()}")
        try:
            left = pending(daemon, account)
        except sqlite3.Error as error:
            left = (f"unreadable: {error}",)
        if left == (0, 0, 0):
            break
        time.sleep(0.5)
    return time.monotonic() - started, left


def metric(text, name):
    """Sum of a Prometheus series over its labels; None when absent."""
    total = None
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


class Verdict:
    """What one scenario measured and every check that failed."""

    def __init__(self, name):
        self.name = name
        self.faults = "-"
        self.attempts = 0
        self.acknowledged = 0
        self.final = 0
        self.lost = 0
        self.duplicates = 0
        self.missing = 0
        self.failures = []
        self.notes = []
        self.skipped = None

    def check(self, condition, failure):
        if not condition:
            self.failures.append(failure)
            say(f"FAIL {self.name}: {failure}")
        return condition

    def note(self, text):
        self.notes.append(text)
        say(f"{self.name}: {text}")

    @property
    def result(self):
        if self.skipped:
            return "skipped"
        return "FAILED" if self.failures else "passed"


def settle_and_verify(verdict, daemon, account, receiver, loads, drain_timeout):
    """Once the loads have stopped: waits for the daemon to finish what it accepted, stops it
    (SIGTERM) and checks the whole run: every acknowledged message stored and final, every final
    status called back, no add-on event left behind, Reporting's counts equal to the database's,
    the share ledger intact."""
    loads = loads if isinstance(loads, list) else [loads]
    acked = []
    inbound = []
    for load in loads:
        inbound += load.inbound_acked
        verdict.attempts += load.attempts
        verdict.acknowledged += len(load.acked)
        acked += load.acked_ids()
        verdict.check(not load.bad_answers, f"answers a client must never get: {load.bad_answers[:5]}")
        server_errors = {status: count for status, count in load.statuses.items() if status >= 500 and status != 503}
        verdict.check(not server_errors, f"server errors: {server_errors}")
        verdict.note(f"load {load.tag}: {load.summary()}")

    waited, left = drain(daemon, account, drain_timeout)
    verdict.check(left == (0, 0, 0), f"not drained within {drain_timeout} s: {left} (messages not final, "
                                     "callbacks pending, add-on events queued)")
    verdict.note(f"drained in {waited:.1f} s")
    try:
        reports = call_json(daemon.port, "GET", "/v1/account/addons/reporting/reports", headers=account.headers)
        # That request is itself an event for Monitoring (api.request): let it be delivered too,
        # so that an event left in the log below is one the faults stranded. (The request log,
        # and its event, may be written a moment after the answer.)
        time.sleep(1)
        drain(daemon, account, 30)
        status, _, text = call(daemon.port, "GET", "/metrics")
        metrics = text.decode() if status == 200 else ""
        depth = metric(metrics, "switchboard_addon_outbox_depth")
        verdict.check(depth == 0, f"/metrics: switchboard_addon_outbox_depth is {depth} after the drain")
        counters = {name: metric(metrics, f"switchboard_{name}") for name in (
            "carrier_reconciliations_total", "storage_write_retries_total", "addon_runner_crashes")}
        seen = [f"{name} {value:.0f}" for name, value in counters.items() if value]
        if seen:
            verdict.note("metrics of the last daemon: " + ", ".join(seen))
    except (OSError, http.client.HTTPException, ScenarioError) as error:
        verdict.check(False, f"could not read the Reporting reports or /metrics: {error}")
        reports = None

    exit_status = daemon.stop()
    verdict.check(exit_status == 0, f"the daemon's SIGTERM exit was {exit_status}: {daemon.log_tail()}")

    with read_db(daemon.db_path) as db:
        stored = dict(db.execute("SELECT id, status FROM messages WHERE account_id = ? AND direction = 'outbound'",
                                 (account.id,)))
        recipients = db.execute(
            "SELECT count(DISTINCT to_number), date(min(created_at) / 1000, 'unixepoch'),"
            " date(max(updated_at) / 1000, 'unixepoch') FROM messages WHERE account_id = ? AND direction = 'outbound'",
            (account.id,)).fetchone()
        by_status = collections.Counter(stored.values())
        outbox = db.execute("SELECT " + ADDON_BACKLOG).fetchone()[0]
        received = {row[0] for row in db.execute("SELECT id FROM messages WHERE account_id = ? AND direction = "
                                                 "'inbound' AND status = 'received'", (account.id,))}
        callbacks_failed = db.execute("SELECT count(*) FROM callbacks WHERE state NOT IN ('pending', 'delivered')"
                                      ).fetchone()[0]

    verdict.check(len(set(acked)) == len(acked), "the same message id was acknowledged twice")
    not_stored = [message_id for message_id in acked if message_id not in stored]
    not_final = [message_id for message_id in acked if stored.get(message_id) not in FINAL and message_id in stored]
    verdict.final += len(acked) - len(not_stored) - len(not_final)
    verdict.lost += len(not_stored) + len(not_final)
    verdict.check(not not_stored, f"{len(not_stored)} acknowledged message(s) not in the database: {not_stored[:5]}")
    verdict.check(not not_final, f"{len(not_final)} acknowledged message(s) not final: "
                                 f"{[(m, stored[m]) for m in not_final[:5]]}")
    inbound_lost = [message_id for message_id in inbound if message_id not in received]
    verdict.check(not inbound_lost, f"{len(inbound_lost)} acknowledged inbound message(s) not stored as received: "
                                    f"{inbound_lost[:5]}")
    unacked = len(stored) - len(set(acked) & set(stored))
    if unacked:
        # Stored, but its 201 never reached the client (the daemon died between commit and answer).
        verdict.note(f"{unacked} message(s) stored without an acknowledgement reaching the client")

    called = receiver.snapshot()
    finals = {message_id: status for message_id, status in stored.items() if status in FINAL}
    missing = [message_id for message_id, status in finals.items() if called[(message_id, status)] == 0]
    wrong = [(message_id, status) for (message_id, status) in called if status in FINAL and
             stored.get(message_id) != status]
    verdict.duplicates += sum(count - 1 for count in called.values() if count > 1)
    verdict.missing += len(missing)
    verdict.check(not missing, f"{len(missing)} final status(es) never called back: "
                               f"{[(m, finals[m]) for m in missing[:5]]}")
    verdict.check(not wrong, f"callbacks with a final status the message does not have: {wrong[:5]}")
    verdict.check(not receiver.unreadable, f"unreadable callback bodies: {receiver.unreadable}")
    if receiver.truncated:
        verdict.note(f"{receiver.truncated} callback(s) cut short by a kill (sent again by the daemon)")
    verdict.check(callbacks_failed == 0, f"{callbacks_failed} callback(s) given up by the daemon")
    verdict.check(outbox == 0, f"{outbox} add-on event(s) left undelivered in addon_log")

    if reports is not None:
        rows = reports.get("data", [])
        reported = {key: sum(row.get(key, 0) for row in rows) for key in ("sent", "delivered", "undelivered", "failed")}
        # Only delivered and undelivered messages went through "sent"; failed ones were refused at submission.
        expected = {"sent": by_status["delivered"] + by_status["undelivered"], "delivered": by_status["delivered"],
                    "undelivered": by_status["undelivered"], "failed": by_status["failed"]}
        verdict.check(reported == expected, f"Reporting counts {reported}, the database {expected}")
        verdict.note(f"Reporting {reported} over {len(rows)} day(s); database {expected}")
        outcomes = expected["delivered"] + expected["undelivered"] + expected["failed"]
        # Rounded as Reporting rounds (half away from zero, AddonKit's rounded(toPlaces:)), not with
        # Python's round(), which rounds half to even: 870 of 960 is 0.90625, 0.9063 to Reporting.
        rate = float((Decimal(expected["delivered"]) / Decimal(outcomes)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP)) if outcomes else 0
        if len(rows) == 1:
            verdict.check(abs(rows[0].get("delivery_rate", -1) - rate) < 1e-9,
                          f"Reporting's delivery_rate {rows[0].get('delivery_rate')}, the database's {rate}")
        # Recipients are counted per UTC day of each status update: comparable only when every
        # message of the run was created and finished on the report's one day.
        distinct, first_day, last_day = recipients
        if len(rows) == 1 and first_day == last_day == rows[0].get("date"):
            if verdict.check(rows[0].get("unique_recipients") == distinct, f"Reporting's unique_recipients "
                             f"{rows[0].get('unique_recipients')}, the database's {distinct}"):
                verdict.note(f"Reporting's delivery_rate {rate} and unique_recipients {distinct} = database")
        else:
            verdict.note("the run crossed midnight UTC: unique_recipients and delivery_rate not compared")

    audit = subprocess.run([os.path.join(daemon.bin_dir, "switchboard"), "audit", "verify", "--data-dir",
                            daemon.data_dir], capture_output=True, text=True, timeout=120, cwd=daemon.work)
    verdict.check(audit.returncode == 0, f"audit verify exited {audit.returncode}: "
                                         f"{(audit.stdout + audit.stderr).strip()[:300]}")
    if audit.returncode == 0:
        verdict.note(audit.stdout.strip())
    problems = daemon.log_count("critical")
    verdict.check(problems == 0, f"{problems} critical line(s) in {daemon.log_path}")


# --- cleanup ----------------------------------------------------------------------------------

def privileged():
    """The prefix that runs mount and umount: none as root, else sudo without a password prompt
    (as CI machines allow), else None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def mount_tmpfs(path, size_mb):
    os.makedirs(path, exist_ok=True)
    prefix = privileged()
    if prefix is None:
        raise Skip("mounting a tmpfs needs root (or sudo without a password)")
    # Owned by this user, so that a daemon run without root can write its data there.
    options = f"size={size_mb}m,mode=0700,uid={os.getuid()},gid={os.getgid()}"
    result = subprocess.run(prefix + ["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise Skip(f"mount -t tmpfs refused: {(result.stdout + result.stderr).strip()}")
    _mounts.append((path, prefix))


def unmount(path):
    for mounted, prefix in list(_mounts):
        if mounted != path:
            continue
        result = subprocess.run(prefix + ["umount", path], capture_output=True, text=True)
        if result.returncode != 0:
            # Something still holds it open; detach it so no tmpfs is left mounted.
            subprocess.run(prefix + ["umount", "-l", path], capture_output=True)
        _mounts.remove((mounted, prefix))


def cleanup():
    """Kills and closes everything started here; safe to call more than once."""
    with _cleanup_lock:
        for load in _loads:
            load.stop_event.set()
        for daemon in _daemons:
            daemon.cleanup()
        for receiver in _receivers:
            receiver.close()
        _receivers.clear()
        for path, _ in list(_mounts):
            unmount(path)


def forget_finished(daemon, load=None, receiver=None):
    """Drops a finished scenario's objects from the cleanup lists (they are stopped already)."""
    if load in _loads:
        _loads.remove(load)
    if daemon in _daemons and not daemon.running():
        _daemons.remove(daemon)
    if receiver in _receivers:
        receiver.close()
        _receivers.remove(receiver)


def install_signal_handlers():
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGHUP, interrupted)


if __name__ == "__main__":
    sys.exit("harness.py is a module of scripts/chaos; run scripts/chaos")
