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
  calls      call args.method every second for args.seconds while librtmp answers the server's
             pings: prints the calls made and answered and the pings received
  publish    publish the FLV read from stdin, paced by its timestamps, as stream args.name with
             publish type args.type (live: librtmp's own RTMP_Write path, which always says
             "live"; record/append: the same packets as RTMP_Write, after a publish command of
             that type), answering the server's pings meanwhile: prints tags sent and pings received
  play       play URL (live) for args.seconds with librtmp's RTMP_Read and write the FLV it makes
             to args.out: prints the bytes written
  member     a Flash user in a classroom: connect (connect_data from args.connect), answer the
             server's areYouThere calls, call args.method with args.params (a whiteboard stroke),
             then play each stream of args.play (a NetStream each, as Flash does) for args.seconds,
             writing each one's audio and video to an FLV file in args.dir: prints the call's result
             and, per stream, the file, its audio and video message counts and the statuses received
Prints one JSON object on stdout; exits 1 with a message on stderr on failure.
"""
import json
import select
import struct
import sys
import time

import librtmp
from librtmp.amf import AMFObject, decode_amf, encode_amf

INVOKE = librtmp.PACKET_TYPE_INVOKE
SHARED_OBJECT = librtmp.PACKET_TYPE_SHARED_OBJECT
CONTROL = librtmp.PACKET_TYPE_CONTROL
AUDIO = librtmp.PACKET_TYPE_AUDIO
VIDEO = librtmp.PACKET_TYPE_VIDEO
PING_REQUEST = 6
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


def is_ping_request(packet):
    return packet.type == CONTROL and len(packet.body) >= 2 and struct.unpack_from(">H", packet.body, 0)[0] == PING_REQUEST


class Peer:
    def __init__(self, conn):
        self.conn = conn
        self.handlers = {}
        self.so_messages = []
        self.replies = {}
        self.statuses = []
        self.pings = 0
        # Audio and video messages (types 8 and 9) go here when set: fn(packet).
        self.on_media = None

    @classmethod
    def connect(cls, url, app, connect_data=None):
        """Connects and waits for the connect _result itself (librtmp would send createStream)."""
        peer = cls(librtmp.RTMP(url, app=app, connect_data=connect_data, timeout=10))
        peer.conn.connect()
        connect = peer.wait_reply(1)
        if connect["name"] != "_result":
            raise SystemExit("connect refused: " + json.dumps(connect["args"]))
        return peer

    def pump(self):
        """Reads one packet and handles it: replies, server calls, shared objects, control."""
        packet = self.conn.read_packet()
        if packet.type == INVOKE:
            values = decode_amf(packet.body)
            name, tx = values[0], values[1]
            if name in ("_result", "_error"):
                self.replies[tx] = {"name": name, "args": plain(values[3:])}
            elif name == "onStatus":
                self.statuses.append(plain(values[3]).get("code"))
            elif name in self.handlers and tx:
                result = self.handlers[name](*values[3:])
                self.conn.call("_result", result, transaction_id=tx)
        elif packet.type == SHARED_OBJECT:
            self.so_messages.append(parse_so(packet.body))
        elif packet.type in (AUDIO, VIDEO) and self.on_media:
            self.on_media(packet)
        else:
            # Chunk size, window, pings: librtmp's business. It answers a ping (and acknowledges
            # bytes) on chunk stream 2 with a type 1 header, which is what these modes exercise.
            if is_ping_request(packet):
                self.pings += 1
            self.conn.handle_packet(packet)

    def pump_ready(self):
        """Handles whatever the server sent without blocking (librtmp has no non-blocking read)."""
        fd = librtmp.librtmp.RTMP_Socket(self.conn.rtmp)
        while select.select([fd], [], [], 0)[0]:
            self.pump()

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


def flv_tags(source):
    """(type, timestamp, body) of each tag of an FLV byte stream."""
    header = source.read(9)
    if header[:3] != b"FLV":
        raise SystemExit("stdin is not FLV")
    source.read(header[8] - 9 + 4)
    while True:
        tag = source.read(11)
        if len(tag) < 11:
            return
        size = struct.unpack(">I", b"\0" + tag[1:4])[0]
        timestamp = struct.unpack(">I", tag[7:8] + tag[4:7])[0]
        body = source.read(size)
        source.read(4)
        yield tag[0], timestamp, tag + body + struct.pack(">I", 11 + size)


def flv_tag(tag_type, timestamp, body):
    """One FLV tag (header, body, previous tag size) holding a message's body."""
    header = bytes([tag_type]) + struct.pack(">I", len(body))[1:]
    header += struct.pack(">I", timestamp & 0xFFFFFF)[1:] + bytes([(timestamp >> 24) & 0xFF]) + b"\0\0\0"
    return header + body + struct.pack(">I", 11 + len(body))


def member(peer, args):
    """A Flash user: a call (the whiteboard stroke), then every stream of args.play played into an FLV file of its own."""
    peer.handlers["areYouThere"] = lambda *a: "flash here"
    result = peer.call(args["method"], *args.get("params", []))
    streams = {}

    def on_media(packet):
        stream = streams.get(packet.packet.m_nInfoField2)
        if stream is None or not packet.body:
            return
        stream["audio" if packet.type == AUDIO else "video"] += 1
        stream["out"].write(flv_tag(packet.type, packet.timestamp, packet.body))

    # Set before the first play: a stream's first messages (its decoder configuration) may come while the next one is created.
    peer.on_media = on_media
    for name in args.get("play", []):
        created = peer.call("createStream", None)
        stream_id = int(created["args"][0])
        path = "%s/%s.flv" % (args["dir"], name)
        out = open(path, "wb")
        out.write(b"FLV\x01\x05\x00\x00\x00\x09" + struct.pack(">I", 0))
        streams[stream_id] = {"name": name, "file": path, "out": out, "audio": 0, "video": 0}
        command = encode_amf("play") + encode_amf(0) + encode_amf(None) + encode_amf(name) + encode_amf(-2)
        packet = librtmp.RTMPPacket(type=INVOKE, format=librtmp.PACKET_SIZE_LARGE, channel=8, body=command)
        packet.packet.m_nInfoField2 = stream_id
        peer.conn.send_packet(packet, queue=False)

    fd = librtmp.librtmp.RTMP_Socket(peer.conn.rtmp)
    end = time.time() + args["seconds"]
    while time.time() < end:
        if select.select([fd], [], [], 0.2)[0]:
            peer.pump()
    peer.conn.close()
    for stream in streams.values():
        stream.pop("out").close()
    return {"result": result, "streams": {s.pop("name"): s for s in streams.values()}, "statuses": peer.statuses}


def publish(url, app, args):
    name, kind = args["name"], args.get("type", "live")
    tags = flv_tags(sys.stdin.buffer)
    if kind == "live":
        # librtmp's publishing path as every librtmp tool uses it: RTMP_ConnectStream sends
        # createStream and publish(name, "live"), RTMP_Write turns FLV tags into packets.
        peer = Peer(librtmp.RTMP(url, live=True, timeout=10))
        peer.conn.connect()
        stream = peer.conn.create_stream(writeable=True)
        send = lambda tag_type, timestamp, tag: stream.write(tag)
    else:
        peer = Peer.connect(url, app)
        created = peer.call("createStream", None)
        stream_id = int(created["args"][0])
        command = encode_amf("publish") + encode_amf(0) + encode_amf(None) + encode_amf(name) + encode_amf(kind)
        packet = librtmp.RTMPPacket(type=INVOKE, format=librtmp.PACKET_SIZE_LARGE, channel=4, body=command)
        packet.packet.m_nInfoField2 = stream_id
        peer.conn.send_packet(packet, queue=False)
        peer.wait(lambda: "NetStream.Publish.Start" in peer.statuses)

        def send(tag_type, timestamp, tag):
            # What RTMP_Write builds from a tag: a full header for data and for media at time 0,
            # a type 1 header otherwise, on the source channel 4; "@setDataFrame" before metadata.
            body = tag[11:-4]
            large = tag_type == 18 or timestamp == 0
            if tag_type == 18:
                body = encode_amf("@setDataFrame") + body
            packet = librtmp.RTMPPacket(type=tag_type, format=librtmp.PACKET_SIZE_LARGE if large else librtmp.PACKET_SIZE_MEDIUM,
                                        channel=4, timestamp=timestamp, body=body)
            packet.packet.m_nInfoField2 = stream_id
            peer.conn.send_packet(packet, queue=False)

    print(json.dumps({"ready": True}), flush=True)
    start = time.time()
    sent = 0
    for tag_type, timestamp, tag in tags:
        delay = start + timestamp / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)
        peer.pump_ready()
        send(tag_type, timestamp, tag)
        sent += 1
    peer.pump_ready()
    peer.conn.close()
    print(json.dumps({"tags": sent, "pings": peer.pings, "seconds": round(time.time() - start, 1)}))


def main():
    mode, url, app = sys.argv[1:4]
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    if mode == "publish":
        publish(url, app, args)
        return
    if mode == "play":
        conn = librtmp.RTMP(url, live=True, timeout=10)
        conn.connect()
        stream = conn.create_stream()
        written = 0
        end = time.time() + args["seconds"]
        with open(args["out"], "wb") as out:
            while time.time() < end:
                data = stream.read(64 * 1024)
                if not data:
                    break
                out.write(data)
                written += len(data)
        conn.close()
        print(json.dumps({"bytes": written}))
        return
    peer = Peer.connect(url, app, amf_object(args.get("connect")))
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
    elif mode == "member":
        print(json.dumps(member(peer, args)))
    elif mode == "raw":
        peer.send_so(bytes.fromhex(args["hex"]))
        result = peer.call(args["method"], *args.get("params", []))
        statuses = [e for m in peer.so_messages for e in m["events"] if e["kind"] == "status"]
        print(json.dumps({"statuses": statuses, "result": result}))
    elif mode == "calls":
        made, answered = 0, 0
        end = time.time() + args["seconds"]
        while time.time() < end:
            reply = peer.call(args["method"], *args.get("params", []))
            made += 1
            answered += reply["name"] == "_result"
            second = time.time() + 1
            while time.time() < second:
                peer.pump_ready()
                time.sleep(0.05)
        print(json.dumps({"calls": made, "answered": answered, "pings": peer.pings}))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
