"""A real gRPC server (grpcio) for the end-to-end cluster: helloworld.Greeter/SayHello, no generated code."""
import sys
from concurrent import futures

import grpc


def say_hello(request: bytes, context) -> bytes:
    # HelloReply{message = "Hello " + name}: field 1, length-delimited.
    name = request[2:] if len(request) > 2 else b"world"
    message = b"Hello " + name
    return b"\x0a" + bytes([len(message)]) + message


handler = grpc.method_handlers_generic_handler(
    "helloworld.Greeter", {"SayHello": grpc.unary_unary_rpc_method_handler(say_hello)}
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port(sys.argv[1])
server.start()
server.wait_for_termination()
