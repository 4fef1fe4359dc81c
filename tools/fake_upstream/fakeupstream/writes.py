"""Write patterns: how a stream's events become HTTP chunks (split, coalesce, gap, drip), and the
failures on the way (delay, stall, cut). The events themselves are never changed."""

import select
import socket
import struct
import time

from .state import SHUTDOWN


def multibyte_inner_offsets(data):
    """Offsets p (0 < p < len) where data[p] continues a multi-byte UTF-8 sequence."""
    return [i for i in range(1, len(data)) if 0x80 <= data[i] <= 0xBF]


def terminator_inner_offsets(data):
    """Offsets inside the trailing run of CR/LF bytes that ends an event."""
    end = len(data)
    start = end
    while start > 0 and data[start - 1] in (0x0A, 0x0D):
        start -= 1
    return list(range(max(start, 1), end))


def split_unit(unit, mode, rng):
    if not mode or mode == "none" or len(unit) <= 1:
        return [unit]
    cuts = set()
    if mode == "random":
        inner = multibyte_inner_offsets(unit)
        k = rng.randint(1, 3)
        if inner and rng.random() < 0.7:
            cuts.add(rng.choice(inner))
            k -= 1
        for _ in range(k):
            cuts.add(rng.randint(1, len(unit) - 1))
    elif mode == "utf8":
        prev = -2
        for p in multibyte_inner_offsets(unit):
            if p != prev + 1:            # first continuation byte of each sequence
                cuts.add(p)
            prev = p
        cuts.update(terminator_inner_offsets(unit))
        if not cuts:
            cuts.add(len(unit) // 2)
    else:
        try:
            size = max(1, int(mode))
        except ValueError:
            return [unit]
        cuts.update(range(size, len(unit), size))
    out, last = [], 0
    for c in sorted(c for c in cuts if 0 < c < len(unit)):
        out.append(unit[last:c])
        last = c
    out.append(unit[last:])
    return out


class ClientGone(Exception):
    pass


class StreamWriter:
    """Handler mixin: writes the chunked body of a stream."""

    def write_chunk(self, data):
        if not data:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError, OSError) as e:
            raise ClientGone() from e

    def end_stream(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError as e:
            raise ClientGone() from e

    def wait(self, seconds):
        """Sleep, returning early (False) when the client hangs up or the server stops."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not SHUTDOWN.is_set():
            remaining = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if remaining <= 0:
                return True
            try:
                r, _, _ = select.select([self.connection], [], [], remaining)
            except (OSError, ValueError):
                return False
            if r:
                try:
                    peek = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return False
                if not peek:
                    return False
                time.sleep(remaining)
        return False

    def cut(self, mode):
        self.close_connection = True
        try:
            if mode == "rst":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pre_delay(self, b):
        d = b.float("delay")
        if d:
            if not self.wait(d / 1000.0):
                raise ClientGone()

    # ---- the streaming engine ---------------------------------------------------------------

    def run_stream(self, events, b, rng):
        """Write `events` (complete frames) following the behaviour's write pattern."""
        n = len(events)
        stall_after = b.int("stall_after")
        cut_after = b.int("cut_after")
        ops = []
        for i, ev in enumerate(events):
            if stall_after is not None and i == stall_after:
                ops.append(("stall",))
            if cut_after is not None and i == cut_after:
                cut_at = b.int("cut_at")
                if cut_at is None:
                    cut_at = max(1, len(ev) // 2)
                ops.append(("data", ev[:max(1, min(cut_at, len(ev) - 1))]))
                ops.append(("cut",))
                break
            ops.append(("data", ev))
        else:
            if stall_after is not None and stall_after >= n:
                ops.append(("stall",))
            if cut_after is not None and cut_after >= n:
                ops.append(("cut",))
            else:
                ops.append(("end",))

        split_mode = b.get("split")
        coalesce = b.get("coalesce")
        drip = b.float("drip")
        gap = b.float("gap", 1.0 if (split_mode or coalesce) else 0.0)
        if drip is not None:
            split_mode, gap = "1", drip

        def flush_run(run):
            if not run:
                return
            if coalesce == "all":
                units = [b"".join(run)]
            elif coalesce:
                try:
                    k = max(1, int(coalesce))
                except ValueError:
                    k = 1
                units = [b"".join(run[i:i + k]) for i in range(0, len(run), k)]
            else:
                units = run
            first = True
            for unit in units:
                for piece in split_unit(unit, split_mode, rng):
                    if gap and not first:
                        if not self.wait(gap / 1000.0):
                            raise ClientGone()
                    first = False
                    self.write_chunk(piece)

        run = []
        for op in ops:
            if op[0] == "data":
                run.append(op[1])
                continue
            flush_run(run)
            run = []
            if op[0] == "stall":
                ms = b.float("stall_ms")
                if not self.wait(None if ms is None else ms / 1000.0):
                    raise ClientGone()
            elif op[0] == "cut":
                self.cut(b.get("cut", "fin"))
                return
            elif op[0] == "end":
                self.end_stream()
        flush_run(run)
