#!/bin/bash
# squall-healthcheck: a container health check with nothing but bash (the
# images carry no curl or wget).
#
#   squall-healthcheck http://HOST:PORT/PATH   healthy when it answers 2xx
#   squall-healthcheck tcp://HOST:PORT         healthy when it accepts a connection
#
# Gives up after SQUALL_HEALTHCHECK_TIMEOUT seconds (default 3); prints why it
# is unhealthy (docker inspect shows it).
set -u
url="${1:?usage: squall-healthcheck http://HOST:PORT/PATH | tcp://HOST:PORT}"
limit="${SQUALL_HEALTHCHECK_TIMEOUT:-3}"

case "$url" in
  http://*) rest="${url#http://}"; scheme=http ;;
  tcp://*) rest="${url#tcp://}"; scheme=tcp ;;
  *) echo "squall-healthcheck: $url is neither http:// nor tcp://" >&2; exit 2 ;;
esac
hostport="${rest%%/*}"
path=/
[ "$rest" != "$hostport" ] && path="/${rest#*/}"
host="${hostport%:*}"; port="${hostport##*:}"

# The whole exchange runs under `timeout`: a server that accepts and never
# answers must not hang the check past docker's own timeout.
# shellcheck disable=SC2016 # the inner script expands its own arguments
timeout "$limit" bash -c '
  scheme="$1" host="$2" port="$3" path="$4"
  if ! exec 2>/dev/null 3<>"/dev/tcp/$host/$port"; then
    echo "unhealthy: cannot connect to $host:$port"; exit 1
  fi
  [ "$scheme" = tcp ] && exit 0
  printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$path" "$host" >&3
  IFS=" " read -r version status _ <&3
  case "$status" in
    2??) exit 0 ;;
    "") echo "unhealthy: no HTTP answer from $host:$port$path"; exit 1 ;;
    *) echo "unhealthy: $host:$port$path answered $status"; exit 1 ;;
  esac
' squall-healthcheck "$scheme" "$host" "$port" "$path"
rc=$?
[ "$rc" -eq 124 ] && echo "unhealthy: $url did not answer within ${limit}s"
exit "$rc"
