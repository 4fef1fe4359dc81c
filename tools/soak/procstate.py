"""What a server process holds, read from /proc: its connections by kind, other descriptors,
threads and RSS; and waiting until it is quiet after a round of load."""

import os
import time


def tcp_sockets():
    """inode -> (local port, remote port, state) of every IPv4/IPv6 TCP socket on the machine."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().split("\n")[1:]:
            fields = line.split()
            if len(fields) > 9:
                local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
                sockets[fields[9]] = (int(local, 16), int(remote, 16), fields[3])
    return sockets


def socket_ports(pid, tcp):
    """(local port, remote port, state) of each TCP socket the process holds; None for other fds."""
    result = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue  # closed meanwhile
        result.append(tcp.get(target[8:-1]) if target.startswith("socket:[") else None)
    return result


class Server:
    """A process under test: the ports its clients connect to, and the port of its own upstream
    (the fake for chorusd, chorusd's RPC port for a standalone bridge)."""

    def __init__(self, name, process, client_ports, upstream_port):
        self.name, self.process = name, process
        self.client_ports, self.upstream_port = client_ports, upstream_port

    def state(self, trusted_peers=()):
        """Client connections (accepted on a client port, except from `trusted_peers`' local ports,
        e.g. a bridge's pooled RPC connections), upstream connections, other descriptors, threads,
        RSS."""
        status = open("/proc/%d/status" % self.process.pid).read().split("\n")
        field = {line.split(":")[0]: line.split(":")[1].strip() for line in status if ":" in line}
        kinds = {"clients": 0, "peers": 0, "upstream": 0, "other": 0}
        for entry in socket_ports(self.process.pid, tcp_sockets()):
            local, remote, state = entry or (0, 0, "")
            if local in self.client_ports and state != "0A":  # 0A: LISTEN
                kinds["peers" if remote in trusted_peers else "clients"] += 1
            elif remote == self.upstream_port:
                kinds["upstream"] += 1
            else:
                kinds["other"] += 1
        return dict(kinds, threads=int(field["Threads"]), rss_mb=int(field["VmRSS"].split()[0]) / 1024)

    def local_ports(self):
        return {entry[0] for entry in socket_ports(self.process.pid, tcp_sockets()) if entry}

    def quiet_state(self, trusted_peers=()):
        """Waits (at most 20 s) until no client connection is left and the descriptors and threads
        stop moving, then reads the state."""
        previous = None
        for _ in range(40):
            time.sleep(0.5)
            state = self.state(trusted_peers)
            counts = {key: value for key, value in state.items() if key != "rss_mb"}
            if state["clients"] == 0 and counts == previous:
                break
            previous = counts
        return state

    def describe(self, state):
        return ("%s: %d client connections, %d upstream connections, %d other descriptors, %d threads, %.1f MB RSS"
                % (self.name, state["clients"], state["upstream"], state["other"], state["threads"], state["rss_mb"]))

    def compare(self, first, second, upstream_bound, rss_bound):
        """What is wrong between the two quiet points."""
        problems = []
        for state in (first, second):
            if state["clients"]:
                problems.append("%d client connections still open with no client left" % state["clients"])
        if second["other"] > first["other"]:
            problems.append("descriptors other than connections grew from %d to %d" % (first["other"], second["other"]))
        if second["upstream"] > upstream_bound:
            problems.append("%d upstream connections open (at most %d expected)" % (second["upstream"], upstream_bound))
        # The concurrency runtime's and Dispatch's worker threads come and go with the load; a leak of
        # a thread per call (or per failure) would show as hundreds.
        if second["threads"] > first["threads"] + 4:
            problems.append("threads grew from %d to %d" % (first["threads"], second["threads"]))
        if second["rss_mb"] - first["rss_mb"] > rss_bound:
            problems.append("RSS grew from %.1f to %.1f MB" % (first["rss_mb"], second["rss_mb"]))
        return ["%s: %s" % (self.name, problem) for problem in problems]
