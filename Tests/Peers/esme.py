#!/usr/bin/env python3
"""A customer's ESME for tests, on PyPI's smpp34 client (an SMPP implementation Switchboard shares no
code with). It binds, submits the messages given as JSON on the command line, collects every
deliver_sm for --wait seconds, unbinds, and prints one JSON object with what happened.

usage: esme.py --port P --system-id ID --password PW [--bind trx|tx|rx]
               [--wait S] [--message JSON]...
  each --message: {"to": "...", "from": "...", "text": "...", "registered_delivery": 1,
                   "data_coding": 0|8, "udh_parts": N, "payload": true, "burst": N}
  "burst": N sends N copies at once, none waiting for another's submit_sm_resp
  "only_parts": [i, ...] with "udh_parts" sends only those parts (1-based) of the split text
"""
import argparse, asyncio, json, os, sys
import smpp34

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--system-id", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--bind", default="trx", choices=("trx", "tx", "rx"))
ap.add_argument("--wait", type=float, default=2.0)
ap.add_argument("--until-deliveries", type=int, default=0, help="stop waiting once this many deliver_sm arrived")
ap.add_argument("--message", action="append", default=[])
ap.add_argument("--bind-timeout-ms", type=int, default=10000,
                help="smpp34's client reports a refused bind only as a timeout: keep it short where a refusal is expected")
a = ap.parse_args()

GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
       "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def encode(text, coding):
    if coding == 8:
        return text.encode("utf-16-be")
    return bytes(GSM.index(c) for c in text)


async def main():
    result = {"bind": None, "submits": [], "deliveries": []}
    client = smpp34.Client("127.0.0.1", a.port, a.system_id, a.password, bind_type=a.bind.upper(),
                           connect_timeout_ms=a.bind_timeout_ms)
    try:
        smsc = await client.connect()
    except Exception as error:
        result["bind"] = f"error: {error}"
        print(json.dumps(result), flush=True)
        return
    result["bind"] = "ok"
    for raw in a.message:
        m = json.loads(raw)
        coding = m.get("data_coding", 0)
        body = encode(m["text"], coding)
        parts = m.get("udh_parts", 0)
        common = dict(source_addr=m.get("from", "ACME"), source_addr_ton=m.get("source_ton", 5),
                      dest_addr_ton=1, dest_addr_npi=1, data_coding=coding,
                      registered_delivery=m.get("registered_delivery", 0))
        try:
            if m.get("payload"):
                resp = await smsc.submit_sm(m["to"], b"", tlvs=[smpp34.Tlv(smpp34.TLV_MESSAGE_PAYLOAD, body)], **common)
                result["submits"].append({"status": resp.command_status, "message_id": resp.message_id})
            elif parts:
                size = -(-len(body) // parts)
                chunks = [body[i:i + size] for i in range(0, len(body), size)]
                for index, chunk in enumerate(chunks):
                    if "only_parts" in m and index + 1 not in m["only_parts"]:
                        continue
                    udh = bytes([5, 0, 3, 0x42, len(chunks), index + 1])
                    resp = await smsc.submit_sm(m["to"], udh + chunk, esm_class=0x40, **common)
                    result["submits"].append({"status": resp.command_status, "message_id": resp.message_id})
            elif m.get("burst", 1) > 1:
                answers = await asyncio.gather(*[smsc.submit_sm(m["to"], body, **common) for _ in range(m["burst"])],
                                               return_exceptions=True)
                for resp in answers:
                    if isinstance(resp, BaseException):
                        result["submits"].append({"error": f"{type(resp).__name__}: {resp}"})
                    else:
                        result["submits"].append({"status": resp.command_status, "message_id": resp.message_id})
            else:
                resp = await smsc.submit_sm(m["to"], body, **common)
                result["submits"].append({"status": resp.command_status, "message_id": resp.message_id})
        except smpp34.SmppError as error:
            result["submits"].append({"error": str(error)})
        except Exception as error:
            result["submits"].append({"error": f"{type(error).__name__}: {error}"})

    async def collect():
        while True:
            ev = await smsc.next()
            if isinstance(ev, smpp34.Disconnected):
                result["disconnected"] = True
                return
            pdu = getattr(ev, "pdu", ev)
            entry = {"esm_class": getattr(pdu, "esm_class", None), "data_coding": getattr(pdu, "data_coding", None),
                     "source_addr": getattr(pdu, "source_addr", None),
                     "destination_addr": getattr(pdu, "destination_addr", None),
                     "short_message": (getattr(pdu, "short_message", b"") or b"").hex(),
                     "tlvs": {str(t.tag): t.value.hex() for t in (getattr(pdu, "tlvs", []) or [])}}
            result["deliveries"].append(entry)
            if hasattr(ev, "respond"):
                ev.respond()
            if a.until_deliveries and len(result["deliveries"]) >= a.until_deliveries:
                return

    try:
        await asyncio.wait_for(collect(), timeout=a.wait)
    except asyncio.TimeoutError:
        pass
    try:
        await smsc.unbind()
    except Exception:
        pass
    print(json.dumps(result), flush=True)


asyncio.run(main())
# smpp34's Rust threads can trip over Python's finalisation; the result is printed already.
os._exit(0)
