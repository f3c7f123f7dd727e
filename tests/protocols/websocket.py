"""A WebSocket echo server and a client driving it, with Python's `websockets` (Debian's
python3-websockets). `websocket.py serve HOST PORT` echoes every message and answers close;
`websocket.py drive HOST PORT` makes two connections, one with permessage-deflate (the library's
default) and one without, and on each sends a text, a binary, a fragmented text and a ping, then
closes with code 1000 (the first) or 4001 (the second). Prints one line per step."""
import asyncio
import sys

import websockets


async def serve(host, port):
    async def echo(ws, path=None):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, host, port):
        print("listening", flush=True)
        await asyncio.Future()


async def session(uri, compression, code):
    async with websockets.connect(uri, compression=compression, max_size=None) as ws:
        await ws.send("hello " * 20 + "over " + ("deflate" if compression else "plain"))
        print("text", await ws.recv() is not None)
        await ws.send(bytes(range(256)) * 2)
        print("binary", len(await ws.recv()))
        await ws.send(["frag-one ", "frag-two ", "frag-three"])
        print("fragmented", await ws.recv())
        pong = await ws.ping(b"are you there")
        await pong
        print("ping answered")
        await ws.close(code=code, reason="bye now")
        print("closed", code)


async def drive(host, port):
    uri = f"ws://{host}:{port}/chat"
    await session(uri, "deflate", 1000)
    await session(uri, None, 4001)
    print("done")


mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
asyncio.run(serve(host, port) if mode == "serve" else drive(host, port))
