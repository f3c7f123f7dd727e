// Which KFL field each list cell stands for, so "+" can add `field == value` to the filter.

import type { Endpoint, Row } from "./api";
import { kflString } from "./format";

/** The request field each protocol shows in the METHOD column. */
const METHOD_FIELD: Record<string, string> = {
  http: "request.method",
  grpc: "request.grpcMethod",
  dns: "request.qtype",
  redis: "request.command",
  postgres: "request.type",
  kafka: "request.apiName",
  mysql: "request.command",
  icmp: "request.type",
  amqp: "request.method",
  mongo: "request.command",
};

/** The request field each protocol shows in the PATH column. */
const PATH_FIELD: Record<string, string> = {
  http: "request.path",
  grpc: "request.path",
  redis: "request.key",
  kafka: "request.topic",
  tls: "request.sni",
};

/** `field == value` (or `!=`) for a cell of `row`, or null when the cell stands for no one field. */
export function cellClause(row: Row, column: string, negate: boolean): string | null {
  const op = negate ? "!=" : "==";
  const text = (field: string, value: unknown) =>
    value === undefined || value === null || value === "" ? null : `${field} ${op} ${typeof value === "number" ? value : kflString(String(value))}`;
  const proto = row.protocol.name;
  switch (column) {
    case "proto":
      return text("protocol.name", proto);
    case "method":
      return METHOD_FIELD[proto] ? text(METHOD_FIELD[proto], row.request[METHOD_FIELD[proto].slice(8)]) : null;
    case "path": {
      if (proto === "dns") {
        const q = (row.request.questions as string[] | undefined)?.[0];
        return q ? `${negate ? "not " : ""}request.questions.contains(${kflString(q)})` : null;
      }
      return PATH_FIELD[proto] ? text(PATH_FIELD[proto], row.request[PATH_FIELD[proto].slice(8)]) : null;
    }
    case "status": {
      // A connection record's STATUS says how it ended.
      if (proto === "tcp" || proto === "udp") return text("response.state", row.response.state);
      const status = row.response.status;
      return typeof status === "number" ? text("response.status", status) : null;
    }
    case "src":
      return endpointClause("src", row.src, op);
    case "dst":
      return endpointClause("dst", row.dst, op);
    case "node":
      return text("node.name", row.node.name);
    case "cluster":
      return text("cluster", row.cluster);
    default:
      return null;
  }
}

function endpointClause(side: string, e: Endpoint, op: string): string {
  return e.name ? `${side}.name ${op} ${kflString(e.name)}` : `${side}.ip ${op} ${kflString(e.ip)}`;
}
