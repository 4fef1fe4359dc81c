#!/usr/bin/env bash
# Waits until something accepts TCP connections on 127.0.0.1:PORT (a server the calling script
# just started); exits 1 after SECONDS (default 10) without one.
#
#   tools/wait-for-port.sh 7071 [30]
set -euo pipefail
port="$1"
seconds="${2:-10}"
for _ in $(seq 1 $((seconds * 10))); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.2).close()" "$port" 2>/dev/null; then
        exit 0
    fi
    sleep 0.1
done
echo "wait-for-port: nothing accepted connections on 127.0.0.1:${port} within ${seconds} s" >&2
exit 1
