"""A real gRPC client (grpcio): CALLS (default 1) unary calls to helloworld.Greeter/SayHello on one channel."""
import sys

import grpc

calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1
with grpc.insecure_channel(sys.argv[1]) as channel:
    say_hello = channel.unary_unary("/helloworld.Greeter/SayHello")
    for _ in range(calls):
        # HelloRequest{name = "shark"}
        print(say_hello(b"\x0a\x05shark", timeout=5))
