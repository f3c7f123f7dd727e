"""A GraphQL server over HTTP/1.1 with Debian's python3-graphql-core: POST /graphql (JSON body
`{"query", "operationName", "variables"}`) and GET /graphql?query=…; any other path answers a
plain JSON document. `graphql_server.py HOST PORT`; prints `listening` when it is."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from graphql import (GraphQLArgument, GraphQLField, GraphQLInt, GraphQLNonNull, GraphQLObjectType,
                     GraphQLSchema, GraphQLString, graphql)

BOOKS = {1: "Dune", 2: "Emma"}


def resolve_book(_root, _info, id):
    if id not in BOOKS:
        raise Exception(f"no book {id}")
    return BOOKS[id]


def resolve_add(_root, _info, title):
    BOOKS[len(BOOKS) + 1] = title
    return len(BOOKS)


schema = GraphQLSchema(
    query=GraphQLObjectType("Query", {
        "book": GraphQLField(GraphQLString, args={"id": GraphQLArgument(GraphQLNonNull(GraphQLInt))},
                             resolver=resolve_book),
        "count": GraphQLField(GraphQLInt, resolver=lambda *_: len(BOOKS)),
    }),
    mutation=GraphQLObjectType("Mutation", {
        "addBook": GraphQLField(GraphQLInt, args={"title": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                                resolver=resolve_add),
    }),
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, document):
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def run(self, query, name, variables):
        result = graphql(schema, query, variable_values=variables, operation_name=name)
        document = {"data": result.data}
        if result.errors:
            document["errors"] = [{"message": str(e)} for e in result.errors]
        self.answer(document)

    def do_GET(self):
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != "/graphql":
            return self.answer({"query": "not graphql"})
        self.run(params.get("query", ""), params.get("operationName"), None)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/graphql":
            return self.answer({"ok": True})
        self.run(body.get("query", ""), body.get("operationName"), body.get("variables"))

    def log_message(self, *_):
        pass


server = HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
print("listening", flush=True)
server.serve_forever()
