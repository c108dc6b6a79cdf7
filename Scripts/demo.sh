#!/usr/bin/env bash
# The main job on a fresh machine: build `uds`, start a server on a socket file, send it messages, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

echo "== building uds (Scripts/build-release.sh: static and stripped; the first build takes a few minutes)"
build_log=$(mktemp)
made=$(Scripts/build-release.sh 2>"$build_log") || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
uds=$(grep '/uds$' <<<"$made")

dir=$(mktemp -d /tmp/uds-demo.XXXXXX)
sock="$dir/app.sock"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT

echo "== uds serve $sock"
"$uds" serve "$sock" &
server=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
ls -l "$sock"

echo "== uds send $sock 'hello, world'    (the reply is the byte count: the message arrived whole)"
"$uds" send "$sock" 'hello, world'

echo "== a 200 MiB file, streamed to a quiet server (it counts, it does not print)"
"$uds" serve "$dir/bulk.sock" --quiet &
bulk=$!
for _ in $(seq 100); do [ -S "$dir/bulk.sock" ] && break; sleep 0.05; done
head -c $((200 * 1024 * 1024)) /dev/zero > "$dir/big"
"$uds" send "$dir/bulk.sock" --file "$dir/big"
kill -TERM "$bulk"; wait "$bulk"

echo "== a second server on the same path is refused, and the first keeps serving"
"$uds" serve "$sock" || echo "(exit status $?)"
"$uds" send "$sock" 'still here'

echo "== SIGTERM: graceful shutdown, socket file removed"
kill -TERM "$server"
wait "$server" && echo "server exited 0"
[ -e "$sock" ] || echo "socket file removed"
"$uds" send "$sock" 'anyone?' || echo "(exit status $?)"
