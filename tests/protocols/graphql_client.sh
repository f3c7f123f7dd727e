#!/usr/bin/env bash
# Drives graphql_server.py with curl: a named query with variables, a mutation, a query whose
# resolver fails, a GET query, and a JSON POST that is not GraphQL. One line per request.
set -euo pipefail
url=http://${1:?usage: graphql_client.sh HOST PORT}:$2
post() { curl -sf -H 'Content-Type: application/json' --data "$2" "$url$1"; echo; }
post /graphql '{"query":"query Book($id: Int!) { book(id: $id) }","operationName":"Book","variables":{"id":1}}'
post /graphql '{"query":"mutation AddBook { addBook(title: \"Ulysses\") }"}'
post /graphql '{"query":"query Missing { book(id: 99) }"}'
curl -sf "$url/graphql?query=%7B%20count%20%7D"; echo
post /search '{"query":{"match_all":{}}}'
