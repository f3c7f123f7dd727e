"""A real gRPC client (grpcio): one unary call to helloworld.Greeter/SayHello."""
import sys

import grpc

with grpc.insecure_channel(sys.argv[1]) as channel:
    say_hello = channel.unary_unary("/helloworld.Greeter/SayHello")
    # HelloRequest{name = "shark"}
    print(say_hello(b"\x0a\x05shark", timeout=5))
