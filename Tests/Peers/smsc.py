#!/usr/bin/env python3
"""An SMSC for tests and the benchmark, on PyPI's smpp34 (an SMPP 3.4 codec and server in Rust that
Switchboard does not share code with).

It accepts every bind and answers every submit_sm with a message id; when the ESME asks for a
receipt (registered_delivery bits 0-1 = 1, or 2 for a failure) it sends one as deliver_sm
(esm_class 0x04: the text form and the receipted_message_id and message_state TLVs). Every submit_sm
is written as one JSON line to --log (fields as received, short_message in hex), so tests can check
what went over the wire. A control port takes lines to inject traffic:
  MO <from> <to> <text>         a mobile-originated deliver_sm (GSM 03.38 unpacked, or UCS-2 when needed)
  MOLONG <from> <to> <text>     the same as concatenated parts with a UDH, 10 characters per part
  MOSPLIT <from> <to> <n> <text> the same, the whole text's octets cut every n octets, inside a character if it falls there
  COUNTS                        answers "submits N receipts N binds N"

usage: smsc.py --port P [--control-port C] [--log FILE] [--id-format hex|dec]
               [--receipt-id-format same|dec|hex|padded] [--fail-every N] [--reject-every N]
               [--throttle-every N] [--receipt-first] [--no-text-receipt] [--delay-ms N] [--state FILE]

Receipts are owed until an ESME acknowledges them: one whose session is gone goes to the next
session bound for the same system_id, and with --state they survive a restart of the SMSC.
"""
import argparse, asyncio, itertools, json, sys, time
import smpp34

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=2775)
ap.add_argument("--control-port", type=int, default=0)
ap.add_argument("--log", default="")
ap.add_argument("--id-format", choices=("hex", "dec"), default="hex")
ap.add_argument("--receipt-id-format", choices=("same", "dec", "hex", "padded"), default="same")
ap.add_argument("--fail-every", type=int, default=0, help="every Nth receipt says UNDELIV err:001")
ap.add_argument("--reject-every", type=int, default=0, help="every Nth submit_sm is refused ESME_RINVDSTADR")
ap.add_argument("--throttle-every", type=int, default=0, help="every Nth submit_sm is answered ESME_RTHROTTLED")
ap.add_argument("--receipt-first", action="store_true", help="send each receipt before the submit_sm_resp")
ap.add_argument("--no-text-receipt", action="store_true", help="receipts carry only the TLVs")
ap.add_argument("--delay-ms", type=int, default=0, help="answer each submit_sm this late (keeps a window full)")
ap.add_argument("--state", default="", help="keep receipts not yet acknowledged in this file, as an SMSC keeps "
                                            "them on disk, and send them after a restart")
a = ap.parse_args()

ids = itertools.count(0x10000000)
attempts = itertools.count(1)
stats = {"binds": 0, "submits": 0, "receipts": 0}
sessions = {}
log = open(a.log, "a", buffering=1) if a.log else None

GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
       "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def encode(text):
    """GSM 03.38 unpacked (data_coding 0) when every character is in the basic table, else UCS-2 (8)."""
    if all(c in GSM and c != "\x1b" for c in text):
        return 0, bytes(GSM.index(c) for c in text)
    return 8, text.encode("utf-16-be")


def receipt_id(mid, n):
    if a.receipt_id_format == "dec":
        return str(int(mid, 16)) if a.id_format == "hex" else mid
    if a.receipt_id_format == "hex":
        return f"{int(mid):X}" if a.id_format == "dec" else mid
    if a.receipt_id_format == "padded":
        return mid.rjust(20, "0")
    return mid


# Receipts owed: mid -> what the receipt needs; sent by `owed_sender` to any session of the system_id.
owed = {}
sending = set()


def remember(entry):
    owed[entry["mid"]] = entry
    if a.state:
        with open(a.state, "a") as state:
            state.write(json.dumps(entry) + "\n")


def settled(mid):
    owed.pop(mid, None)
    if a.state:
        with open(a.state, "a") as state:
            state.write(json.dumps({"done": mid}) + "\n")


def load_state():
    global ids
    if not a.state:
        return
    try:
        with open(a.state) as state:
            for line in state:
                entry = json.loads(line)
                if "done" in entry:
                    owed.pop(entry["done"], None)
                else:
                    owed[entry["mid"]] = entry
    except FileNotFoundError:
        return
    # Ids carry on after the last one given, as an SMSC's do across its restarts.
    given = [int(e["mid"], 16) if a.id_format == "hex" else int(e["mid"]) for e in map(json.loads, open(a.state))
             if "mid" in e]
    if given:
        ids = itertools.count(max(given) + 1)


async def send_receipt(esme, entry):
    failed = a.fail_every and entry["n"] % a.fail_every == 0
    stat, err = ("UNDELIV", "001") if failed else ("DELIVRD", "000")
    rid = receipt_id(entry["mid"], entry["n"])
    now = time.strftime("%y%m%d%H%M")
    text = "" if a.no_text_receipt else \
        f"id:{rid} sub:001 dlvrd:{'001' if not failed else '000'} submit date:{now} done date:{now} stat:{stat} err:{err} text:"
    await esme.deliver_sm(source_addr=entry["dst"], destination_addr=entry["src"], esm_class=0x04,
                          short_message=text.encode(),
                          tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, rid.encode() + b"\0"),
                                smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([5 if failed else 2]))])
    stats["receipts"] += 1


def owes_receipt(ev, n):
    failed = a.fail_every and n % a.fail_every == 0
    wants = ev.registered_delivery & 3
    return wants == 1 or (wants == 2 and failed)


async def deliver_owed(mid):
    entry = owed.get(mid)
    if entry is None or mid in sending:
        return
    # The session the message came on first, else any other of the same system_id.
    first = sessions.get(entry.get("session"))
    targets = ([first] if first is not None and first.can_receive else []) + \
        [e for e in sessions.values() if e.can_receive and e.system_id == entry["system_id"] and e is not first]
    if not targets:
        return
    sending.add(mid)
    try:
        await send_receipt(targets[0], entry)
        settled(mid)
    except Exception:
        pass  # the session went away: owed still, sent again to the next session
    finally:
        sending.discard(mid)


async def owed_sender():
    while True:
        await asyncio.sleep(0.5)
        for mid in list(owed):
            asyncio.ensure_future(deliver_owed(mid))


async def on_submit(ev):
    n = next(attempts)
    if a.delay_ms:
        await asyncio.sleep(a.delay_ms / 1000)
    if log:
        log.write(json.dumps({
            "source_addr": ev.source_addr, "source_addr_ton": ev.source_addr_ton, "source_addr_npi": ev.source_addr_npi,
            "destination_addr": ev.destination_addr, "dest_addr_ton": ev.dest_addr_ton, "dest_addr_npi": ev.dest_addr_npi,
            "esm_class": ev.esm_class, "data_coding": ev.data_coding, "registered_delivery": ev.registered_delivery,
            "short_message": ev.short_message.hex(), "tlvs": {str(t.tag): t.value.hex() for t in ev.tlvs},
        }) + "\n")
    if a.throttle_every and n % a.throttle_every == 0:
        ev.reject(smpp34.ESME_RTHROTTLED)
        return
    if a.reject_every and n % a.reject_every == 0:
        ev.reject(smpp34.ESME_RINVDSTADR)
        return
    k = next(ids)
    mid = f"{k:08X}" if a.id_format == "hex" else str(k)
    stats["submits"] += 1
    esme = sessions.get(ev.session_id)
    if not owes_receipt(ev, k) or esme is None:
        ev.accept(message_id=mid)
        return
    entry = {"mid": mid, "n": k, "src": ev.source_addr, "dst": ev.destination_addr, "system_id": esme.system_id,
             "session": ev.session_id}
    if a.receipt_first:
        await send_receipt(esme, entry)
        ev.accept(message_id=mid)
        return
    remember(entry)
    ev.accept(message_id=mid)
    asyncio.ensure_future(deliver_owed(mid))


async def deliver_mo(source, destination, text, parts_of=0, split_octets=0):
    targets = [e for e in sessions.values() if e.can_receive]
    if not targets:
        return "no receiver bound"
    esme = targets[0]
    if not parts_of and not split_octets:
        coding, body = encode(text)
        await esme.deliver_sm(source_addr=source, destination_addr=destination, source_addr_ton=1, source_addr_npi=1,
                              dest_addr_ton=1, dest_addr_npi=1, short_message=body, data_coding=coding)
        return "ok"
    if split_octets:
        coding, whole = encode(text)
        chunks = [(coding, whole[i:i + split_octets]) for i in range(0, len(whole), split_octets)]
    else:
        chunks = [encode(text[i:i + parts_of]) for i in range(0, len(text), parts_of)]
    ref = next(ids) & 0xFF
    for index, (coding, body) in enumerate(chunks):
        udh = bytes([5, 0, 3, ref, len(chunks), index + 1])
        await esme.deliver_sm(source_addr=source, destination_addr=destination, source_addr_ton=1, source_addr_npi=1,
                              dest_addr_ton=1, dest_addr_npi=1, short_message=udh + body, data_coding=coding,
                              esm_class=0x40)
    return "ok"


async def control(reader, writer):
    while line := (await reader.readline()).decode().rstrip("\n"):
        words = line.split(" ", 3)
        try:
            if words[0] == "MO":
                answer = await deliver_mo(words[1], words[2], words[3])
            elif words[0] == "MOLONG":
                answer = await deliver_mo(words[1], words[2], words[3], parts_of=10)
            elif words[0] == "MOSPLIT":
                size, text = words[3].split(" ", 1)
                answer = await deliver_mo(words[1], words[2], text, split_octets=int(size))
            elif words[0] == "COUNTS":
                answer = f"submits {stats['submits']} receipts {stats['receipts']} binds {stats['binds']}"
            else:
                answer = "unknown command"
        except Exception as error:  # the test reads the reason
            answer = f"error {error}"
        writer.write((answer + "\n").encode())
        await writer.drain()
    writer.close()


async def report():
    last = 0
    while True:
        await asyncio.sleep(1)
        n = stats["submits"]
        print(f"smsc: binds {stats['binds']} submits {n} (+{n - last}/s) receipts {stats['receipts']}",
              file=sys.stderr, flush=True)
        last = n


async def main():
    server = smpp34.Server(host="127.0.0.1", port=a.port, system_id="SMSCSIM")
    await server.start()
    if a.control_port:
        await asyncio.start_server(control, "127.0.0.1", a.control_port)
    print(f"smsc: listening on 127.0.0.1:{a.port}", file=sys.stderr, flush=True)
    asyncio.ensure_future(report())
    load_state()
    asyncio.ensure_future(owed_sender())
    while True:
        ev = await server.next()
        if isinstance(ev, smpp34.Esme):
            sessions[ev.session_id] = ev
            stats["binds"] += 1
        elif isinstance(ev, smpp34.SubmitSmEvent):
            asyncio.ensure_future(on_submit(ev))
        elif isinstance(ev, smpp34.Unbound):
            sessions.pop(getattr(ev, "session_id", None), None)


asyncio.run(main())
