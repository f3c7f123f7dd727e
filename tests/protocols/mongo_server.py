"""A stand-in for mongod, speaking MongoDB's wire protocol as mongod 4.2 does, for tests/mongo.rs.

It is a stand-in because no MongoDB server can be installed here: Debian 12 does not package
one, and PyPI and npm only carry installers that download it from mongodb.com, which this
machine cannot reach. The client that talks to it is a real one (Debian's python3-pymongo), so
the bytes on the wire are a real driver's; this server answers the commands the test drives the
way mongod answers them:

- isMaster/hello over OP_QUERY (a driver's first message on every connection) answered with
  OP_REPLY, and over OP_MSG after it; offers snappy, zlib or zstd compression when the client
  asks for it;
- insert (in the command or as an OP_MSG document sequence), a duplicate _id failing with a
  write error 11000, as mongod's unique _id index does;
- find with a batch size, leaving a cursor that getMore and killCursors read and close;
- ping, endSessions; any other command answered ok: 0 with code 59 (CommandNotFound);
- OP_COMPRESSED (snappy, zlib or zstd) requests, answered compressed the same way;
- OP_MSG with moreToCome (an unacknowledged write) left unanswered.

Usage: mongo_server.py HOST PORT (prints "listening" once it accepts connections).
"""
import datetime
import socketserver
import struct
import sys
import threading
import zlib

import snappy
import zstandard

import bson
from bson.int64 import Int64
from bson.son import SON

OP_REPLY, OP_QUERY, OP_COMPRESSED, OP_MSG = 1, 2004, 2012, 2013
MORE_TO_COME = 2

lock = threading.Lock()
collections = {}  # "db.coll" -> list of documents
cursors = {}  # id -> (namespace, remaining documents, batch size)
next_ids = {"request": 1000, "cursor": 77}


def new_id(kind):
    with lock:
        next_ids[kind] += 1
        return next_ids[kind]


def matches(doc, query):
    return all(doc.get(k) == v for k, v in query.items())


# The compressors offered, and by their wire ids: (compress, decompress).
COMPRESSORS = ("snappy", "zlib", "zstd")
COMPRESSOR_IDS = {
    # python-snappy's compress/decompress are snappy's raw block format, as MongoDB's.
    1: (snappy.compress, snappy.decompress),
    2: (zlib.compress, zlib.decompress),
    3: (lambda data: zstandard.ZstdCompressor().compress(data),
        lambda data: zstandard.ZstdDecompressor().decompress(data)),
}


def command(db, cmd, compression):
    name = next(iter(cmd))
    if name.lower() in ("ismaster", "hello"):
        reply = SON([("ismaster", True), ("maxBsonObjectSize", 16777216),
                     ("maxMessageSizeBytes", 48000000), ("maxWriteBatchSize", 100000),
                     ("localTime", datetime.datetime.now(datetime.timezone.utc)),
                     ("minWireVersion", 0), ("maxWireVersion", 8), ("readOnly", False)])
        offered = [c for c in cmd.get("compression", []) if c in COMPRESSORS]
        if offered:
            compression.append(offered[0])
            reply["compression"] = offered[:1]
        reply["ok"] = 1.0
        return reply
    if name in ("ping", "endSessions"):
        return SON([("ok", 1.0)])
    if name == "insert":
        ns = f"{db}.{cmd['insert']}"
        with lock:
            docs = collections.setdefault(ns, [])
            errors, n = [], 0
            for i, doc in enumerate(cmd.get("documents", [])):
                if any(d.get("_id") == doc.get("_id") for d in docs):
                    errors.append(SON([("index", i), ("code", 11000), (
                        "errmsg", f"E11000 duplicate key error collection: {ns} index: _id_ "
                                  f"dup key: {{ _id: {doc.get('_id')!r} }}")]))
                    if cmd.get("ordered", True):
                        break
                    continue
                docs.append(doc)
                n += 1
        reply = SON([("n", n)])
        if errors:
            reply["writeErrors"] = errors
        reply["ok"] = 1.0
        return reply
    if name == "find":
        ns = f"{db}.{cmd['find']}"
        with lock:
            found = [d for d in collections.get(ns, []) if matches(d, cmd.get("filter", {}))]
        size = cmd.get("batchSize", 101) or 101
        return batch(ns, found, size, "firstBatch")
    if name == "getMore":
        with lock:
            ns, rest, size = cursors.pop(cmd["getMore"], (f"{db}.{cmd['collection']}", [], 101))
        size = cmd.get("batchSize", size)
        return batch(ns, rest, size, "nextBatch")
    if name == "killCursors":
        with lock:
            killed = [c for c in cmd.get("cursors", []) if cursors.pop(c, None) is not None]
        return SON([("cursorsKilled", killed), ("cursorsNotFound", []), ("cursorsAlive", []),
                    ("cursorsUnknown", []), ("ok", 1.0)])
    return SON([("ok", 0.0), ("errmsg", f"no such command: '{name}'"), ("code", 59),
                ("codeName", "CommandNotFound")])


def batch(ns, docs, size, key):
    now, rest = docs[:size], docs[size:]
    cursor_id = 0
    if rest:
        cursor_id = new_id("cursor")
        with lock:
            cursors[cursor_id] = (ns, rest, size)
    return SON([("cursor", SON([(key, now), ("id", Int64(cursor_id)), ("ns", ns)])), ("ok", 1.0)])


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def cstring(data, at):
    end = data.index(b"\0", at)
    return data[at:end].decode(), end + 1


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        compression = []
        sock = self.request
        try:
            while True:
                length, request_id, _, opcode = struct.unpack("<iiii", read_exactly(sock, 16))
                body = read_exactly(sock, length - 16)
                compressor = None
                if opcode == OP_COMPRESSED:
                    opcode, _, compressor = struct.unpack("<iiB", body[:9])
                    body = COMPRESSOR_IDS[compressor][1](body[9:])
                reply = self.answer(opcode, body, compression)
                if reply is None:
                    continue
                reply_opcode, reply_body = reply
                if compressor is not None:
                    pack = COMPRESSOR_IDS[compressor][0]
                    reply_body = struct.pack("<iiB", reply_opcode, len(reply_body), compressor) + pack(reply_body)
                    reply_opcode = OP_COMPRESSED
                header = struct.pack("<iiii", 16 + len(reply_body), new_id("request"), request_id, reply_opcode)
                sock.sendall(header + reply_body)
        except (EOFError, ConnectionResetError):
            pass

    def answer(self, opcode, body, compression):
        if opcode == OP_QUERY:
            ns, at = cstring(body, 4)
            query = bson.decode(body[at + 8:], codec_options=bson.CodecOptions(document_class=SON))
            if "$query" in query:
                query = query["$query"]
            reply = command(ns.split(".")[0], query, compression)
            return OP_REPLY, struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply)
        if opcode == OP_MSG:
            flags = struct.unpack("<I", body[:4])[0]
            at, doc, sequences = 4, None, {}
            end = len(body) - (4 if flags & 1 else 0)
            while at < end:
                kind = body[at]
                at += 1
                if kind == 0:
                    size = struct.unpack("<i", body[at:at + 4])[0]
                    doc = bson.decode(body[at:at + size], codec_options=bson.CodecOptions(document_class=SON))
                    at += size
                else:
                    size = struct.unpack("<i", body[at:at + 4])[0]
                    name, pos = cstring(body, at + 4)
                    sequences[name] = list(bson.decode_all(body[pos:at + size]))
                    at += size
            doc.update(sequences)
            reply = command(doc.get("$db", "admin"), doc, compression)
            if flags & MORE_TO_COME:
                return None
            return OP_MSG, struct.pack("<I", 0) + b"\0" + bson.encode(reply)
        raise EOFError


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    server = Server((sys.argv[1], int(sys.argv[2])), Handler)
    print("listening", flush=True)
    server.serve_forever()
