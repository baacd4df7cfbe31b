#!/usr/bin/env python3
"""The emulator under connection abuse: its RSS and open file descriptors while IDLE connections (connected,
nothing sent) and SLOW ones (TLS done, a request head sent one header line at a time, never finished) are held
open against it, and whether it keeps answering meanwhile.

Loopback only; stops by itself after --seconds (default 45), closing every connection and the emulator.

    scripts/bench-emulator-abuse.py [--keyroll target/debug/keyroll] [--idle 2000] [--slow 500] [--seconds 45]

Prints one line per sample (t, RSS MiB, fds, probe latency, idle / slow connections still open) and a summary.
"""
import argparse
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def readable(sock):
    """Whether the peer sent something or closed (poll: descriptors beyond 1024 are usual here)."""
    p = select.poll()
    p.register(sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(p.poll(0))


def is_open(sock):
    try:
        if not readable(sock):
            return True
        return sock.recv(1, socket.MSG_PEEK) != b""
    except (OSError, ValueError):
        return False


def probe(host, port, ctx, timeout=5.0):
    """One HTTPS GET /_emulator/info; returns seconds or None when it got no answer in time."""
    t = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                s.settimeout(max(0.1, timeout - (time.monotonic() - t)))
                s.sendall(b"GET /_emulator/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = s.recv(64)
                if data.startswith(b"HTTP/1.1 200"):
                    return time.monotonic() - t
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keyroll", default="target/debug/keyroll")
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slow", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=45.0)
    ap.add_argument("--emulator-arg", action="append", default=[], help="extra argument for keyroll-emulator")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="kr-abuse-")
    ca = os.path.join(work, "ca.pem")
    emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--ca-file", ca, *a.emulator_arg],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + a.seconds + 30
    idle, slow, stop = [], [], threading.Event()
    try:
        first = json.loads(emu.stdout.readline())
        url = urllib.parse.urlparse(first["graph_url"])
        host, port = url.hostname, url.port
        assert host in ("127.0.0.1", "::1"), host
        ctx = ssl.create_default_context(cafile=ca)
        time.sleep(0.5)
        base_rss, base_fds = rss_kib(emu.pid), fds(emu.pid)
        print(f"baseline: RSS {base_rss / 1024:.1f} MiB, {base_fds} fds, probe {probe(host, port, ctx):.3f} s")

        # Idle: connected, nothing ever sent. A connection is counted once the kernel completed it (it may
        # still wait in the listen backlog, unaccepted); connects that do not complete in 5 s are given up.
        lock = threading.Lock()
        refused = [0]

        def connect_idle(n):
            for _ in range(n):
                try:
                    s = socket.create_connection((host, port), timeout=5)
                    with lock:
                        idle.append(s)
                except OSError:
                    with lock:
                        refused[0] += 1

        threads = [threading.Thread(target=connect_idle, args=(a.idle // 50,), daemon=True) for _ in range(50)]
        for t in threads:
            t.start()

        # Slow: TLS, then a request head one header line every second, never finished.
        broken = set()

        def slowloris(n):
            for _ in range(n):
                if stop.is_set():
                    return
                try:
                    raw = socket.create_connection((host, port), timeout=10)
                    s = ctx.wrap_socket(raw, server_hostname=host)
                    s.sendall(b"GET /_emulator/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    s.setblocking(False)
                    with lock:
                        slow.append(s)
                except OSError:
                    pass

        threads = [threading.Thread(target=slowloris, args=(a.slow // 25,), daemon=True) for _ in range(25)]
        for t in threads:
            t.start()

        def drip():
            i = 0
            while not stop.wait(1.0):
                with lock:
                    conns = list(slow)
                for s in conns:
                    if id(s) in broken:
                        continue
                    try:
                        s.send(f"X-Slow-{i}: 1\r\n".encode())
                    except ssl.SSLWantWriteError:
                        pass
                    except (OSError, ValueError):
                        broken.add(id(s))
                        continue
                    # Open while the server has neither answered nor closed (this thread alone uses the socket).
                    try:
                        s.recv(1)
                        broken.add(id(s))
                    except ssl.SSLWantReadError:
                        pass
                    except (OSError, ValueError):
                        broken.add(id(s))
                i += 1

        threading.Thread(target=drip, daemon=True).start()

        t0 = time.monotonic()
        peak_rss, peak_fds, worst, missed, samples = 0, 0, 0.0, 0, 0
        print("    t  RSS MiB    fds  probe s  idle open  slow open")
        while time.monotonic() - t0 < a.seconds and time.monotonic() < deadline:
            time.sleep(1.0)
            r, f = rss_kib(emu.pid), fds(emu.pid)
            p = probe(host, port, ctx)
            with lock:
                slow_open = len(slow) - len(broken)
                idle_open = sum(is_open(s) for s in idle)
            peak_rss, peak_fds = max(peak_rss, r), max(peak_fds, f)
            samples += 1
            if p is None:
                missed += 1
            else:
                worst = max(worst, p)
            print(f"{time.monotonic() - t0:5.1f}  {r / 1024:7.1f}  {f:5d}  {'   none' if p is None else f'{p:7.3f}'}"
                  f"  {idle_open:9d}  {slow_open:9d}")
        end_rss, end_fds = rss_kib(emu.pid), fds(emu.pid)
        with lock:
            slow_open = len(slow) - len(broken)
            idle_open = sum(is_open(s) for s in idle)
        print(f"summary: idle {a.idle} (connected: {len(idle)}, not completed in 5 s: {refused[0]}), "
              f"slow {a.slow} (TLS done: {len(slow)}); "
              f"peak RSS {peak_rss / 1024:.1f} MiB (baseline {base_rss / 1024:.1f}), peak fds {peak_fds} "
              f"(baseline {base_fds}); at {a.seconds:.0f} s: RSS {end_rss / 1024:.1f} MiB, {end_fds} fds, "
              f"{idle_open} idle and {slow_open} slow connections still open; probes unanswered within 5 s: "
              f"{missed}/{samples}, slowest answered {worst:.3f} s")
    finally:
        stop.set()
        for s in idle + slow:
            try:
                s.close()
            except OSError:
                pass
        emu.terminate()
        try:
            emu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.kill()


if __name__ == "__main__":
    sys.exit(main())
