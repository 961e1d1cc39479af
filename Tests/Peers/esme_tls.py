#!/usr/bin/env python3
"""A customer's ESME over TLS for tests, on PyPI's smpplib (an SMPP client Switchboard shares no code
with) and Python's ssl module: it verifies the server's certificate against --cafile, binds as a
transceiver, submits one message, unbinds, and prints one JSON object with what happened.

usage: esme_tls.py --port P --cafile CA --system-id ID --password PW --to NUMBER --text TEXT
"""
import argparse, functools, json, socket, ssl, sys
import smpplib.client, smpplib.consts, smpplib.exceptions

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cafile", required=True)
ap.add_argument("--system-id", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--to", required=True)
ap.add_argument("--text", required=True)
a = ap.parse_args()

result = {"bind": None, "submit": None}
context = ssl.create_default_context(cafile=a.cafile)
# smpplib wraps its socket without a server name; the certificate is checked against 127.0.0.1.
context.wrap_socket = functools.partial(context.wrap_socket, server_hostname="127.0.0.1")
# A handshake of its own first: smpplib reports a failed one only as "Connection refused".
try:
    with socket.create_connection(("127.0.0.1", a.port), timeout=20) as raw:
        with context.wrap_socket(raw) as tls:
            result["tls_version"] = tls.version()
except ssl.SSLError as error:
    result["bind"] = f"tls error: {error}"
    print(json.dumps(result), flush=True)
    sys.exit(0)
client = smpplib.client.Client("127.0.0.1", a.port, timeout=20, ssl_context=context)
answers = []
client.set_message_sent_handler(lambda pdu: answers.append(pdu))
try:
    client.connect()
    client.bind_transceiver(system_id=a.system_id, password=a.password)
    result["bind"] = "ok"
    client.send_message(source_addr_ton=5, source_addr="ACME", dest_addr_ton=1, dest_addr_npi=1,
                        destination_addr=a.to, short_message=a.text.encode("ascii"), data_coding=0)
    while not answers:
        client.read_once()
    pdu = answers[0]
    result["submit"] = {"status": pdu.status,
                        "message_id": pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else pdu.message_id}
    client.unbind()
    client.disconnect()
except ssl.SSLError as error:
    result["bind"] = f"tls error: {error}"
except Exception as error:
    result["bind"] = result["bind"] or f"error: {type(error).__name__}: {error}"
    result["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(result), flush=True)
