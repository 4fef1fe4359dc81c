#!/usr/bin/env bash
# Prints COUNT (default 1) distinct free TCP ports on 127.0.0.1, one per line, for a server the
# calling script is about to start. All COUNT sockets are bound before any is closed, so the kernel
# cannot hand out one port twice (probing one port at a time could: a CI run had chorusd's RPC and
# HTTP listeners get the same port and fail with EADDRINUSE).
#
#   read -r rpc_port http_port < <(tools/free-ports.sh 2 | xargs)
set -euo pipefail
python3 - "${1:-1}" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in sockets))
for s in sockets:
    s.close()
PY
