"""Command line: arguments, output streams, exit status."""

import argparse
import socket
import sys
import time

from .protocol import METHODS
from .connection import Connection, ProtocolError
from .call import report_status, run_call
from .hexdump import HexDump


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Dependency-free Chorus RPC client (stdlib only).")
    parser.add_argument("--server", default="127.0.0.1:7070", help="host:port of chorusd (default 127.0.0.1:7070)")
    parser.add_argument("--method", choices=sorted(METHODS), default="analyze")
    parser.add_argument("--query", help="the question (Analyze)")
    parser.add_argument("--models", default="", help="comma-separated registry names; empty lets the server recommend")
    parser.add_argument("--request-id")
    parser.add_argument("--index-id")
    parser.add_argument("--video-id")
    parser.add_argument("--video-path")
    parser.add_argument("--model-timeout-ms", type=int)
    parser.add_argument("--max-output-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--timeout", type=float, help="call deadline in seconds (sent as CallStart.timeout_micros)")
    parser.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="request metadata (repeatable)")
    parser.add_argument("--window", type=int, default=0,
                        help="CallStart.initial_window in bytes (0 = protocol default, 1 MiB)")
    parser.add_argument("--no-window-updates", action="store_true",
                        help="never send WINDOW_UPDATE (to watch the server stop at the window)")
    parser.add_argument("--read-delay", type=float, default=0.0, help="sleep this long after each MESSAGE (slow reader)")
    parser.add_argument("--cancel-after", type=int, default=0, help="send CANCEL after this many events")
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="one JSON object per event / status line")
    parser.add_argument("--quiet", action="store_true", help="print only the final status")
    parser.add_argument("--hexdump", action="store_true", help="annotated hex dump of both directions")
    parser.add_argument("--hexdump-file", help="write the hex dump here instead of stdout")
    parser.add_argument("--hexdump-text-frames", type=int, default=None, metavar="N",
                        help="in the dump, show only the first N text_generation frames per model")
    args = parser.parse_args(argv)
    if args.method == "analyze" and args.query is None:
        parser.error("--query is required for --method analyze")
    host, _, port = args.server.rpartition(":")
    if not host or not port.isdigit():
        parser.error("--server must be host:port")
    args.host, args.port = host.strip("[]"), int(port)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def out(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def err(line):
        sys.stderr.write("raw_client: " + line + "\n")
        sys.stderr.flush()

    dump = None
    dump_file = None
    conn = None
    if args.hexdump:
        dump_file = open(args.hexdump_file, "w") if args.hexdump_file else sys.stdout
        dump = HexDump(dump_file, args.hexdump_text_frames)
        if not args.hexdump_file:
            # Keep the dump readable: events go to stderr when both share stdout.
            out = err
    try:
        conn = Connection(args.host, args.port, args.connect_timeout, dump=dump,
                          log=err if not (args.json or args.quiet) else None)
    except OSError as error:
        report_status(out, err, args, 14, "cannot connect to %s: %s" % (args.server, error), [], local=True)
        return 1
    try:
        conn.handshake(time.monotonic() + args.connect_timeout)
        return run_call(conn, args, out, err)
    except ProtocolError as error:
        # Our side detected a connection error: tell the server (GOAWAY) and give up.
        conn.go_away(error.code, str(error))
        report_status(out, err, args, error.code, str(error), [], local=True)
        return 1
    except socket.timeout:
        report_status(out, err, args, 14, "timed out waiting for the server", [], local=True)
        return 1
    except OSError as error:
        report_status(out, err, args, 14, "connection failed: %s" % error, [], local=True)
        return 1
    finally:
        if dump:
            dump.flush_elided()
        if conn:
            conn.close()
        if dump_file and dump_file is not sys.stdout:
            dump_file.close()
