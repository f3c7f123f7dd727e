"""Drives tests/protocols/mongo_server.py (a stand-in for mongod: see its docstring) with a real
driver, Debian's pymongo: the handshake (isMaster over OP_QUERY, then OP_MSG), inserts (one in
the command, several as an OP_MSG document sequence), a duplicate _id failing with 11000, a find
read through getMore, an unknown command failing with 59, an unacknowledged write (moreToCome),
and three more clients, asking for zlib, zstd and snappy (OP_COMPRESSED). Prints one line per
step.

Usage: mongo_client.py HOST PORT"""
import sys

import pymongo
from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.write_concern import WriteConcern

host, port = sys.argv[1], int(sys.argv[2])
client = pymongo.MongoClient(host, port, directConnection=True, serverSelectionTimeoutMS=5000,
                             heartbeatFrequencyMS=60000)
users = client.shop.users
users.insert_one({"_id": 1, "name": "ada", "age": 36})
users.insert_many([{"_id": i, "name": f"user{i}", "age": 20 + i} for i in range(2, 6)])
print("inserted 5")
try:
    users.insert_one({"_id": 1, "name": "again"})
except DuplicateKeyError as e:
    print("duplicate", e.code)
names = [d["name"] for d in users.find({}).batch_size(2)]
print("found", len(names))
try:
    client.shop.command("frobnicate")
except OperationFailure as e:
    print("failed", e.code, e.details.get("codeName"))
users.with_options(write_concern=WriteConcern(w=0)).insert_one({"_id": 6, "name": "quiet"})
print("ping", client.admin.command("ping")["ok"])
client.close()
for compressor in ("zlib", "zstd", "snappy"):
    packed = pymongo.MongoClient(host, port, directConnection=True, compressors=compressor,
                                 serverSelectionTimeoutMS=5000, heartbeatFrequencyMS=60000)
    print(compressor, "found", len(list(packed.shop.users.find({"age": 36}))))
    packed.close()
print("done")
