"""A loopback TCP proxy the chaos tests put between the workers and a server, to take the server away.

Why a proxy: the machine's PostgreSQL (and the webhook receiver) must keep running for the test's own
checks, while the workers see them go away and come back on the same address. Modes:
- down(refuse=True): nothing listens on the port any more and every open connection is cut, as when a
  database restarts (connection refused, then "server closed the connection unexpectedly");
- down(refuse=False): connections are accepted and closed at once, and counted (how often the workers
  knocked: their back-off, measured);
- stall_next(match): the next chunk a client sends (that contains `match`) is held, not forwarded, and `stalled` is set: the test kills
  the worker while its statement is in flight; the chunk is then dropped with the connection.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Self

from tests.support.hold import Hold


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, name: str = "proxy") -> None:
        self.target = (target_host, target_port)
        self.name = name
        self.port = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._refusing = False
        self._stall: Hold[bytes] = Hold()
        self.stalled = self._stall.caught
        #: connections accepted while up, and knocks answered by an immediate close while down
        self.connections = 0
        self.knocks = 0

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True, name=f"{self.name}-accept").start()

    def stop(self) -> None:
        self._close_listener()
        self._cut_all()
        self._stall.release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- chaos -------------------------------------------------------------------------------------

    def down(self, refuse: bool = True) -> None:
        """Take the server away: cut every open connection; refuse new ones (or accept-and-close them)."""
        with self._lock:
            self._refusing = not refuse
        if refuse:
            self._close_listener()
        self._cut_all()

    def up(self) -> None:
        with self._lock:
            self._refusing = False
            listening = self._listener is not None
        if not listening:
            self._listen()

    def stall_next(self, match: bytes | None = None) -> threading.Event:
        """Hold the next chunk any client sends (containing `match`, when given: for PostgreSQL, a piece of
        the SQL, which travels as text); returns the event set when that happens."""
        return self._stall.arm(lambda data: match is None or match in data)

    def release_stall(self) -> None:
        self._stall.release()

    # --- plumbing ----------------------------------------------------------------------------------

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def _cut_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed (down or stop)
            with self._lock:
                refusing = self._refusing
            if refusing:
                self.knocks += 1
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self._stall.catch(data):
                    break  # the held chunk is dropped with the connection
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)
            with self._lock:
                self._pairs = [p for p in self._pairs if source not in p]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
