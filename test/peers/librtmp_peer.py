#!/usr/bin/python3
"""An independent RTMP peer for the origin's tests, on Debian's python3-librtmp (run it with
/usr/bin/python3). librtmp does the handshake, chunking and AMF0; this script only builds and
reads shared object messages (librtmp has no API for them) and drives calls.

usage: librtmp_peer.py MODE URL APP [JSON-ARGS]
  remoting   connect (connect_data from args.connect), call args.method with args.params, then
             call an unknown method, then args.method again: prints the results and the _error
  so         use shared object args.name (persistent if args.persistent), optionally request
             args.set = {key: value}, wait until args.until_key appears (or the sync), print state
  answer     answer the server's areYouThere calls with "python here" for args.seconds
  raw        send args.hex as a raw shared object message (type 19), then call args.method:
             prints the shared object statuses received and the call's result
Prints one JSON object on stdout; exits 1 with a message on stderr on failure.
"""
import json
import struct
import sys
import time

import librtmp
from librtmp.amf import AMFObject, decode_amf, encode_amf

INVOKE = librtmp.PACKET_TYPE_INVOKE
SHARED_OBJECT = librtmp.PACKET_TYPE_SHARED_OBJECT
EVENT = {1: "use", 2: "release", 3: "requestChange", 4: "change", 5: "success", 6: "send",
         7: "status", 8: "clear", 9: "remove", 10: "requestRemove", 11: "useSuccess"}


def plain(value):
    """librtmp's AMFObject -> JSON-able values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def amf_object(value):
    """dict -> AMFObject, so it is encoded as an AMF0 object (plain dicts become ECMA arrays)."""
    if isinstance(value, dict):
        return AMFObject({k: amf_object(v) for k, v in value.items()})
    if isinstance(value, list):
        return [amf_object(v) for v in value]
    return value


def bare(s):
    b = s.encode("utf8")
    return struct.pack(">H", len(b)) + b


def so_message(name, version, persistent, events):
    out = bare(name) + struct.pack(">III", version, 2 if persistent else 0, 0)
    for kind, body in events:
        out += struct.pack(">BI", kind, len(body)) + body
    return out


def parse_so(body):
    (n,) = struct.unpack_from(">H", body, 0)
    name = body[2:2 + n].decode("utf8")
    version, flags, _ = struct.unpack_from(">III", body, 2 + n)
    pos = 2 + n + 12
    events = []
    while pos < len(body):
        kind, length = struct.unpack_from(">BI", body, pos)
        pos += 5
        data = body[pos:pos + length]
        pos += length
        event = {"kind": EVENT.get(kind, kind)}
        if kind in (3, 4, 5, 9, 10):
            (kl,) = struct.unpack_from(">H", data, 0)
            event["key"] = data[2:2 + kl].decode("utf8")
            if kind in (3, 4) and len(data) > 2 + kl:
                event["value"] = plain(decode_amf(data[2 + kl:])[0])
        elif kind == 7:
            (cl,) = struct.unpack_from(">H", data, 0)
            (ll,) = struct.unpack_from(">H", data, 2 + cl)
            event["code"] = data[2:2 + cl].decode("utf8")
            event["level"] = data[4 + cl:4 + cl + ll].decode("utf8")
        elif kind == 6:
            event["args"] = plain(decode_amf(data))
        events.append(event)
    return {"name": name, "version": version, "persistent": flags == 2, "events": events}


class Peer:
    def __init__(self, url, app, connect_data=None):
        self.conn = librtmp.RTMP(url, app=app, connect_data=connect_data, timeout=10)
        self.handlers = {}
        self.so_messages = []
        self.replies = {}
        self.conn.connect()
        connect = self.wait_reply(1)
        if connect["name"] != "_result":
            raise SystemExit("connect refused: " + json.dumps(connect["args"]))

    def pump(self):
        """Reads one packet and handles it: replies, server calls, shared objects, control."""
        packet = self.conn.read_packet()
        if packet.type == INVOKE:
            values = decode_amf(packet.body)
            name, tx = values[0], values[1]
            if name in ("_result", "_error"):
                self.replies[tx] = {"name": name, "args": plain(values[3:])}
            elif name in self.handlers and tx:
                result = self.handlers[name](*values[3:])
                self.conn.call("_result", result, transaction_id=tx)
        elif packet.type == SHARED_OBJECT:
            self.so_messages.append(parse_so(packet.body))
        else:
            self.conn.handle_packet(packet)  # chunk size, window, pings: librtmp's business

    def wait(self, done, seconds=8):
        deadline = time.time() + seconds
        while not done():
            if time.time() > deadline:
                raise SystemExit("timed out; shared object messages: " + json.dumps(self.so_messages))
            self.pump()

    def wait_reply(self, tx):
        self.wait(lambda: tx in self.replies)
        return self.replies.pop(tx)

    def call(self, method, *args):
        self.conn.call(method, *[amf_object(a) for a in args])
        return self.wait_reply(self.conn.transaction_id)

    def send_so(self, body):
        packet = librtmp.RTMPPacket(type=SHARED_OBJECT, format=librtmp.PACKET_SIZE_LARGE, channel=3, body=body)
        self.conn.send_packet(packet, queue=False)

    def so_events(self, name):
        return [e for m in self.so_messages if m["name"] == name for e in m["events"]]


def main():
    mode, url, app = sys.argv[1:4]
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    peer = Peer(url, app, amf_object(args.get("connect")))
    if mode == "remoting":
        first = peer.call(args["method"], *args.get("params", []))
        unknown = peer.call("noSuchMethodFromPython", 1)
        again = peer.call(args["method"], *args.get("params", []))
        print(json.dumps({"first": first, "unknown": unknown, "again": again}))
    elif mode == "so":
        name = args["name"]
        peer.send_so(so_message(name, 0, args.get("persistent", False), [(1, b"")]))
        peer.wait(lambda: any(e["kind"] == "useSuccess" for e in peer.so_events(name)))
        for key, value in args.get("set", {}).items():
            peer.send_so(so_message(name, 0, False, [(3, bare(key) + encode_amf(amf_object(value)))]))
        until = args.get("until_key")
        if until:
            peer.wait(lambda: any(e.get("key") == until and e["kind"] in ("change", "success") for e in peer.so_events(name)), args.get("seconds", 8))
        data = {}
        for e in peer.so_events(name):
            if e["kind"] == "clear":
                data = {}
            elif e["kind"] == "change":
                data[e["key"]] = e.get("value")
            elif e["kind"] == "remove":
                data.pop(e["key"], None)
        version = [m["version"] for m in peer.so_messages if m["name"] == name][-1]
        print(json.dumps({"data": data, "version": version, "events": peer.so_events(name)}))
    elif mode == "answer":
        peer.handlers["areYouThere"] = lambda *a: "python here"
        print(json.dumps({"ready": True}), flush=True)
        end = time.time() + args.get("seconds", 5)
        while time.time() < end:
            peer.pump()
    elif mode == "raw":
        peer.send_so(bytes.fromhex(args["hex"]))
        result = peer.call(args["method"], *args.get("params", []))
        statuses = [e for m in peer.so_messages for e in m["events"] if e["kind"] == "status"]
        print(json.dumps({"statuses": statuses, "result": result}))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
