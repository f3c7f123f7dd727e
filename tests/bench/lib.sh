# Helpers shared by the benchmark sections: progress, timing with hyperfine, numbers for tables.
# Sourced by run.sh; expects W (work directory), RUNS, and KS (the kubectl-shark binary).

# log MESSAGE…: progress on stderr.
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# q ARG…: the arguments as one shell-quoted command line (for hyperfine and the report).
q() { printf '%q ' "$@" | sed 's/ $//'; }

# note TITLE COMMAND: remembers a command for the report's list of exact commands.
note() { printf -- '- %s: `%s`\n' "$1" "$2" >>"$W/commands.md"; }

# median NAME COMMAND [PREPARE]: median wall seconds over $RUNS runs of a shell command line; one warm-up run
# unless PREPARE is given (then PREPARE runs before each run instead). Prints nothing if the command fails.
median() {
  local name=$1 cmd=$2 prepare=${3:-} json="$W/hyperfine/$1.json"
  local args=(--runs "$RUNS" --style none --export-json "$json")
  if [ -n "$prepare" ]; then args+=(--prepare "$prepare"); else args+=(--warmup 1); fi
  note "$name" "$cmd"
  if hyperfine "${args[@]}" "$cmd" >"$W/hyperfine/$name.log" 2>&1; then
    jq -r '.results[0].median' "$json"
  else
    log "failed: $cmd (see $W/hyperfine/$name.log)"
  fi
}

# calc FORMAT EXPR: awk arithmetic, or "n/a" when a value is missing (empty or n/a) or a divisor is 0.
calc() {
  case "$2" in *'()'*|*'n/a'*) echo "n/a"; return ;; esac
  local r
  r=$(awk "BEGIN { v = $2; printf \"$1\", v }" 2>/dev/null) || r="n/a"
  case "$r" in *inf*|*nan*|'') r="n/a" ;; esac
  echo "$r"
}

# mbs BYTES SECONDS: megabytes per second.
mbs() { calc '%.1f' "($1) / 1e6 / ($2)"; }

# per_s COUNT SECONDS: count per second, whole.
per_s() { calc '%.0f' "($1) / ($2)"; }

# ratio A B: A / B with two decimals ("n/a" when either is missing).
ratio() { calc '%.2f' "($1) / ($2)"; }

# secs FORMAT SECONDS: "1.23 s", or "n/a" when missing.
secs() { local v; v=$(calc "$1" "($2)"); if [ "$v" = n/a ]; then echo n/a; else echo "$v s"; fi; }

# times A B: the table cell for ratio A / B, e.g. **2.50×** ("n/a" when either is missing).
times() { local r; r=$(ratio "$1" "$2"); if [ "$r" = n/a ]; then echo n/a; else echo "**$r×**"; fi; }

# bytes_of PATH…: total size in bytes of files (0 when none).
bytes_of() { local total=0 f; for f in "$@"; do [ -f "$f" ] && total=$((total + $(stat -c %s "$f"))); done; echo "$total"; }

# max_rss_mib TIMEFILE: peak resident memory from a `/usr/bin/time -v` report, in MiB.
max_rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

# ks_has SUBCOMMAND: true when this kubectl-shark build has the subcommand.
ks_has() { [ -x "$KS" ] && "$KS" "$1" --help 2>/dev/null | grep -qi usage; }

# missing WHAT: the sentence a table shows instead of a figure it cannot produce yet.
missing() { printf '_Not measured: %s._\n' "$1"; }

# need_load_tools WHO: stops with one line naming the package when a load generator is missing.
need_load_tools() {
  command -v ab >/dev/null || { echo "$1: ab is not installed (apt-get install apache2-utils)" >&2; exit 1; }
  command -v redis-benchmark >/dev/null || { echo "$1: redis-benchmark is not installed (apt-get install redis-tools)" >&2; exit 1; }
  command -v pgbench >/dev/null || { echo "$1: pgbench is not installed (apt-get install postgresql)" >&2; exit 1; }
}

# run_cpu NAME CMD: median over $RUNS runs of wall and CPU seconds (user + system) and max RSS, with
# $W/stores/tmp removed before each run (the last run's store is left there): prints "wall cpu rss_mib".
run_cpu() {
  local name=$1 cmd=$2 i
  note "$name" "$cmd"
  for i in $(seq "$RUNS"); do
    rm -rf "$W/stores/tmp"
    /usr/bin/time -f '%e %U %S %M' -o "$W/$name.$i.time" bash -c "$cmd >/dev/null 2>'$W/$name.log'" ||
      log "failed: $cmd"
    awk '{ printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$W/$name.$i.time"
  done | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)'
}
