#!/usr/bin/env python3
"""A dependency-free Chorus RPC client, written from proto/PROTOCOL.md and the .proto files.

It speaks the Chorus binary protocol (chorus/1) over plain TCP with nothing but the Python 3
standard library: the frame header is packed with `struct`, protobuf messages are encoded and
decoded by hand (varints and length-delimited fields), and no Chorus or protobuf code is imported.
The code is the package
`tools/rawclient/` (this file only runs it). Its purpose is to prove that the document is enough to interoperate, and to capture annotated hex
dumps of real exchanges.

    python3 tools/raw_client.py --server 127.0.0.1:7070 --query "Describe the opening scene" \
        --models gemini,pegasus [--hexdump] [--json]
    python3 tools/raw_client.py --server 127.0.0.1:7070 --method list-models
    python3 tools/raw_client.py --server 127.0.0.1:7070 --method health

Output: one line per Analyze event as it arrives (model-tagged), then the call's final status.
With --json every event and the final status are printed as one JSON object per line instead.
With --hexdump an annotated hex dump of every byte sent (C->S) and received (S->C) goes to stdout
(or to the file given with --hexdump-file), frame by frame, with each protobuf field decoded.

Exit status: 0 when the call ended with status OK (and, for Analyze, the event stream followed the
contract in PROTOCOL.md section 9); 1 otherwise (error status, connection error, contract violation);
2 for bad command-line arguments.
"""

import sys

from rawclient.cli import main

if __name__ == "__main__":
    sys.exit(main())
