"""A stand-in Kubernetes API server for `kubectl shark … --context`: it serves, over plain HTTP,
what the CLI asks of a cluster whose agents it fronts: the agents' token Secret, their pods, the
pod proxy to each agent (forwarded to the agent's URL as the API server does), and empty lists
of what `clean` deletes.

    python3 fake_api.py PORT_FILE TOKEN AGENT_URL[,AGENT_URL…] [NAMESPACE/POD=IP,…]
    python3 fake_api.py PORT_FILE --refuse       # every request: 401, as with expired credentials

It listens on 127.0.0.1 on a free port (on $FAKE_API_PORT when set: an API server back where it
was) and writes the port to PORT_FILE once listening. Agent i
is pod `shark-agent-i` on node `node-i`; the pods named last are what the cluster lists with
their IPs (what names a peer another cluster's agents could not). Every request is logged on
stderr (`METHOD PATH`).
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file = sys.argv[1]
REFUSE = sys.argv[2] == "--refuse"
TOKEN = "" if REFUSE else sys.argv[2]
AGENTS = [] if REFUSE else sys.argv[3].split(",")
LISTED = [p.split("=") for p in sys.argv[4].split(",")] if len(sys.argv) > 4 and sys.argv[4] else []
PREFIX = "/api/v1/namespaces/shark/pods/"
# Lists answered empty: the pods and services every namespace (peers' names), and what `clean`
# looks for (nothing made by kubectl-shark here).
EMPTY_LISTS = {
    "/api/v1/pods", "/api/v1/services", "/api/v1/secrets", "/api/v1/serviceaccounts",
    "/api/v1/namespaces", "/apis/apps/v1/daemonsets",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}


def status(code, reason):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": reason, "reason": reason, "code": code}


def pod(i):
    return {"metadata": {"name": f"shark-agent-{i}", "namespace": "shark"},
            "spec": {"nodeName": f"node-{i}", "containers": []},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path, _, query = self.path.partition("?")
        sys.stderr.write(f"{self.command} {path}\n")
        if REFUSE:
            return self.answer(401, status(401, "Unauthorized"))
        if path == "/api/v1/namespaces/shark/secrets/shark-agent-token":
            token = base64.b64encode(TOKEN.encode()).decode()
            return self.answer(200, {"apiVersion": "v1", "kind": "Secret",
                                     "metadata": {"name": "shark-agent-token"},
                                     "data": {"token": token}})
        if path == "/api/v1/pods" and LISTED:
            items = [{"metadata": {"name": name.split("/")[1], "namespace": name.split("/")[0]},
                      "spec": {"containers": []}, "status": {"podIPs": [{"ip": ip}]}}
                     for name, ip in LISTED]
            return self.answer(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
        if path == "/api/v1/namespaces/shark/pods":
            return self.answer(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                                     "items": [pod(i) for i in range(len(AGENTS))]})
        if self.command == "GET" and path in EMPTY_LISTS:
            return self.answer(200, {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []})
        if path.startswith(PREFIX) and "/proxy/" in path:
            name, _, rest = path[len(PREFIX):].partition("/proxy")
            index = int(name.split(":")[0].rsplit("-", 1)[1])
            target = AGENTS[index] + rest + (f"?{query}" if query else "")
            request = urllib.request.Request(target, data=body, method=self.command, headers={
                "Content-Type": "application/json",
                "X-Shark-Token": self.headers.get("X-Shark-Token", ""),
            })
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return self.answer(response.status, response.read(),
                                       response.headers.get("Content-Type", "application/json"))
            except urllib.error.HTTPError as e:
                return self.answer(e.code, e.read(), "text/plain")
            except OSError as e:
                return self.answer(503, status(503, f"error trying to reach service: {e}"))
        return self.answer(404, status(404, "NotFound"))

    do_GET = do_POST = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("FAKE_API_PORT", "0"))), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
