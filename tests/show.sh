# Sourced by demo.sh. show ARGS…: print `$ kubectl shark ARGS…` as it can be pasted back into a
# shell (an argument with spaces, quotes or shell characters in single quotes), then run "$shark"
# with them.
show() {
  local line='$ kubectl shark' arg q="'"
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      line+=" $arg"
    else
      line+=" '${arg//$q/$q\\$q$q}'"
    fi
  done
  echo
  echo "$line"
  "$shark" "$@"
}
