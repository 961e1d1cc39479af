#!/usr/bin/env python3
"""Runs Tests/Peers/smsc.py as the benchmark's SMSC with each receipt (a deliver_sm with esm_class
0x04) sent DELAY ms after smsc.py asks for it, as a real SMSC's receipt comes well after its
submit_sm_resp (once the handset has the message).

smsc.py asks for the receipt the moment it accepts a submit_sm, and smpp34 may then write the
deliver_sm before the submit_sm_resp. An ESME that records a message's id only when the response
arrives finds no message for such a receipt: Kannel 1.4.5 drops it ("DLR ... not found"), about one
receipt in five under the benchmark's load. Switchboard keeps such receipts until their response.

Only smpp34's public API is wrapped (Server.next hands out sessions whose deliver_sm waits first),
so smsc.py itself runs unchanged.

usage: smsc_later_receipts.py [--receipt-delay-ms DELAY] SMSC_PY [smsc.py's arguments...]
"""
import asyncio, runpy, sys
import smpp34

args = sys.argv[1:]
delay_s = 0.1
if args[:1] == ["--receipt-delay-ms"]:
    delay_s = int(args[1]) / 1000
    args = args[2:]
if not args:
    sys.exit(__doc__)

RealServer, RealEsme = smpp34.Server, smpp34.Esme


class Esme:
    """A bound ESME session whose receipts leave DELAY later; everything else as smpp34's."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def deliver_sm(self, *args, **kwargs):
        if kwargs.get("esm_class", 0) & 0x04:
            await asyncio.sleep(delay_s)
        return await self._inner.deliver_sm(*args, **kwargs)


class Server:
    def __init__(self, *args, **kwargs):
        self._inner = RealServer(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def next(self):
        event = await self._inner.next()
        return Esme(event) if isinstance(event, RealEsme) else event


smpp34.Server, smpp34.Esme = Server, Esme
sys.argv = args
runpy.run_path(args[0], run_name="__main__")
