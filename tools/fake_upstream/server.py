#!/usr/bin/env python3
"""Fake upstream model APIs for Chorus tests: OpenAI, Gemini and TwelveLabs on one port.

Standard library only. Serves byte-faithful imitations of

  OpenAI      POST /v1/chat/completions                          (SSE `data:` chunks, `[DONE]`)
  Gemini      POST /v1beta/models/{model}:streamGenerateContent   (?alt=sse: CRLF-framed SSE;
                                                                   without alt=sse: a JSON array)
              POST /v1beta/models/{model}:generateContent
              POST /upload/v1beta/files                           (resumable upload: start, upload,
                                                                   finalize, query)
              GET|DELETE /v1beta/files/{id}                       (PROCESSING -> ACTIVE | FAILED)
  TwelveLabs  POST /v1.3/analyze                                  (NDJSON event_type lines)
              GET  /v1.3/indexes/{index}/videos/{video}           (video retrieval with hls.video_url)
              POST /v1.3/assets                                   (multipart direct upload)
              GET  /v1.3/assets/{asset_id}                        (processing -> ready | failed)
              DELETE /v1.3/assets/{asset_id}                      (204, then 404)

plus test helpers: GET /media/{file} (files from --media-dir, with Range), GET /_fake/health,
GET /_fake/requests[?tag=T&since=N] (what clients sent), POST /_fake/reset.

    python3 tools/fake_upstream/server.py --port 0      # first stdout line: "PORT <n>"

Misbehaviour is chosen per request, either with the header

    X-Fake-Behavior: split=random;seed=3;text=Caf%C3%A9

or with a marker anywhere in the prompt text, `[fake:split=random;seed=3]` (both may be given;
the header wins key by key). The full syntax is in tools/fake_upstream/README.md and in
BEHAVIOR_HELP of fakeupstream/behavior.py (`--help-behavior` prints it).

This file is only the command line; the server itself is the package `fakeupstream` next to it
(see its __init__.py for which module holds what).
"""

import argparse
import os
import signal
import sys
import threading

# The Swift tests run this file by absolute path from any working directory: make the package
# next to it importable whatever the current directory is.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeupstream.behavior import BEHAVIOR_HELP  # noqa: E402
from fakeupstream.handler import Handler, Server  # noqa: E402
from fakeupstream.state import LOG_REQUESTS, MEDIA_DIR, SHUTDOWN  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0,
                    help="0 picks a free port; the first stdout line is 'PORT <n>'")
    ap.add_argument("--media-dir", help="directory served at /media/ (HLS/MP4 for video URLs)")
    ap.add_argument("--log-requests", action="store_true", help="one stderr line per request")
    ap.add_argument("--help-behavior", action="store_true", help="print the behaviour syntax")
    args = ap.parse_args(argv)
    if args.help_behavior:
        print(BEHAVIOR_HELP)
        return 0
    MEDIA_DIR[0] = os.path.abspath(args.media_dir) if args.media_dir else None
    LOG_REQUESTS[0] = args.log_requests
    server = Server((args.host, args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)

    def stop(*_):
        SHUTDOWN.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent may start us from a thread that blocks signals (Foundation's Process, launched from
    # a libdispatch worker, passes its mask on); blocked, SIGTERM would never stop the server.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        SHUTDOWN.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
