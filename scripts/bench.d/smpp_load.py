#!/usr/bin/env python3
"""SMPP load for scripts/bench: customers' ESMEs submitting as fast as a window allows.

Binds BINDS transceivers (PyPI's smpp34 client, an SMPP implementation Switchboard shares no code
with), keeps WINDOW submit_sm outstanding in all (spread over the binds) for DURATION seconds, each
asking for a receipt (registered_delivery 1), then waits up to DRAIN seconds for the receipt of
every accepted message. Receipts are matched to the ids of submit_sm_resp (the receipted_message_id
TLV, or the id: of the text form); deliver_sm are acknowledged by smpp34's core.

Prints one JSON object on stdout:
  accepted, refused, errors        submit_sm answered ESME_ROK, answered with an error, failed
  load_s, accepted_per_s           the load's duration and the accepted submits per second
  p50_ms, p99_ms                   submit_sm to submit_sm_resp, over the accepted submits
  receipts                         distinct accepted messages whose receipt arrived
  receipts_s, receipts_per_s       time from the start of the load to the last receipt, and the rate
  delivered_receipts               receipts whose stat is DELIVRD
  unmatched, repeated              receipts for no accepted id, and second receipts for one
  cpu_s                            this process's CPU (all threads)

usage: smpp_load.py --port P --system-id ID --password PW --duration S
                    [--window N] [--binds N] [--drain S] [--to NUMBER] [--from SENDER] [--text TEXT]
"""
import argparse, asyncio, json, os, re, resource, sys, time
import smpp34

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--system-id", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--duration", type=float, required=True)
ap.add_argument("--window", type=int, default=64)
ap.add_argument("--binds", type=int, default=1)
ap.add_argument("--drain", type=float, default=120.0)
ap.add_argument("--to", default="37255512345")
ap.add_argument("--from", dest="sender", default="ACME")
ap.add_argument("--text", default="hello world")
a = ap.parse_args()

RECEIPT_ID = re.compile(rb"id:(\S+)")

accepted_ids = set()
receipt_ids = set()
stats = {"accepted": 0, "refused": 0, "errors": 0, "unmatched": 0, "repeated": 0, "delivered_receipts": 0}
latencies = []
last_receipt = None
early = set()  # receipts that came before their submit_sm_resp was seen here


def receipt_id(ev):
    for tlv in ev.tlvs or []:
        if tlv.tag == smpp34.TLV_RECEIPTED_MESSAGE_ID:
            return tlv.value.rstrip(b"\0").decode(errors="replace")
    found = RECEIPT_ID.search(ev.short_message or b"")
    return found.group(1).decode(errors="replace") if found else None


def note_receipt(rid):
    global last_receipt
    if rid in receipt_ids:
        stats["repeated"] += 1
        return
    receipt_ids.add(rid)
    last_receipt = time.perf_counter()


async def receive(session, done):
    while not done.is_set():
        ev = await session.next()
        if isinstance(ev, smpp34.Disconnected):
            return
        if not (ev.esm_class & 0x04):
            continue
        rid = receipt_id(ev)
        if rid is None:
            stats["unmatched"] += 1
            continue
        if b"stat:DELIVRD" in (ev.short_message or b""):
            stats["delivered_receipts"] += 1
        if rid in accepted_ids:
            note_receipt(rid)
        else:
            early.add(rid)


async def submitter(session, deadline):
    body = a.text.encode()
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            resp = await session.submit_sm(a.to, body, source_addr=a.sender, source_addr_ton=5, source_addr_npi=0,
                                           dest_addr_ton=1, dest_addr_npi=1, registered_delivery=1)
        except Exception as error:
            stats["errors"] += 1
            if stats["errors"] <= 3:
                print(f"smpp_load: submit_sm failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            await asyncio.sleep(0.01)
            continue
        if resp.command_status != 0 or not resp.message_id:
            stats["refused"] += 1
            continue
        latencies.append(time.perf_counter() - started)
        stats["accepted"] += 1
        mid = resp.message_id
        accepted_ids.add(mid)
        if mid in early:
            early.discard(mid)
            note_receipt(mid)


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main():
    sessions = []
    for _ in range(a.binds):
        client = smpp34.Client(a.host, a.port, a.system_id, a.password, bind_type="TRX",
                               window_size=max(a.window, 1), inbound_capacity=1_000_000)
        sessions.append(await client.connect())
    done = asyncio.Event()
    receivers = [asyncio.ensure_future(receive(s, done)) for s in sessions]
    t0 = time.perf_counter()
    deadline = t0 + a.duration
    await asyncio.gather(*(submitter(sessions[i % len(sessions)], deadline) for i in range(a.window)))
    t1 = time.perf_counter()
    drain_until = t1 + a.drain
    while len(receipt_ids) < len(accepted_ids) and time.perf_counter() < drain_until:
        await asyncio.sleep(0.05)
    # Receipts that came after all were in: none expected, but counted if they do within 0.5 s.
    await asyncio.sleep(0.5)
    done.set()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    load_s = t1 - t0
    receipts_s = (last_receipt - t0) if last_receipt else 0.0
    result = dict(stats)
    result.update({
        "load_s": round(load_s, 3),
        "accepted_per_s": round(stats["accepted"] / load_s) if load_s > 0 else 0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "receipts": len(receipt_ids),
        "receipts_s": round(receipts_s, 3),
        "receipts_per_s": round(len(receipt_ids) / receipts_s) if receipts_s > 0 else 0,
        "unmatched": stats["unmatched"] + len(early),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    })
    print(json.dumps(result), flush=True)
    for session in sessions:
        try:
            await asyncio.wait_for(session.unbind(), timeout=2)
        except Exception:
            pass


asyncio.run(main())
# smpp34's Rust threads can trip over Python's finalisation; the result is printed already.
os._exit(0)
