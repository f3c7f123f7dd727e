"""A stand-in Kubernetes API server for the agent in its container: serves the cluster's pods
(from up.sh's identities.yaml) to the agent's watchers over HTTPS, as an in-cluster API server
would. Lists answer with every pod; watches stay open and quiet, as a settled cluster's do.

    python3 kube_api.py IDENTITIES CERT KEY ADDR:PORT

Only what the agent asks for is served (pods, services, nodes, endpointslices, all namespaces);
anything else is 404. The bearer token is not checked: the test checks that the agent sends the
one its service account file holds (the log line "GET ... token=ok").
"""

import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

identities_file, cert, key, listen = sys.argv[1:5]
token = sys.argv[5] if len(sys.argv) > 5 else ""
host, port = listen.rsplit(":", 1)


def pod(identity):
    """A Pod object for one identity of kind Pod, as the API server returns it."""
    meta = {
        "name": identity["name"],
        "namespace": identity["namespace"],
        "resourceVersion": "1",
        "uid": "uid-" + identity["name"],
        "labels": identity.get("labels") or {},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": identity.get("node", ""), "containers": [{"name": "main", "image": "example"}]},
        "status": {"phase": "Running", "podIP": identity["ip"], "podIPs": [{"ip": identity["ip"]}]},
    }


with open(identities_file) as f:
    PODS = [pod(i) for i in yaml.safe_load(f) if i.get("kind") == "Pod"]

LISTS = {
    "/api/v1/pods": ("PodList", "v1", PODS),
    "/api/v1/services": ("ServiceList", "v1", []),
    "/api/v1/nodes": ("NodeList", "v1", []),
    "/apis/discovery.k8s.io/v1/endpointslices": ("EndpointSliceList", "discovery.k8s.io/v1", []),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path, _, query = self.path.partition("?")
        authorized = self.headers.get("Authorization", "") == f"Bearer {token}"
        sys.stderr.write(f"GET {path} watch={'watch=true' in query} token={'ok' if authorized else 'wrong'}\n")
        sys.stderr.flush()
        if path not in LISTS:
            return self.answer(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound"})
        kind, api_version, items = LISTS[path]
        if "watch=true" in query:
            # A quiet watch: headers now, events never; the agent's watcher waits on it.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3600)
            return
        self.answer(200, {"apiVersion": api_version, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer((host, int(port)), Handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"kube API listening on {host}:{port}", flush=True)
server.serve_forever()
