"""Running the app with uvicorn on a socket we bind ourselves (clear errors; port 0 picks a free port)."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import ZooError
from .app import create_app
from .engine import Loader
from .jobs import Limits


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or a ZooError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise ZooError(f"Port {port} on {host} is already in use; pass another --port (0 picks a free one).") from None
        raise ZooError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); check --host and --port.") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    """The page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(sock: socket.socket, limits: Limits, *, host: str, loader: Loader | None = None) -> Any:
    """A uvicorn Server for the app (quiet: only warnings and errors are logged)."""
    import uvicorn

    app = create_app(limits, host=host, loader=loader)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    return uvicorn.Server(config)


def serve_forever(host: str, port: int, limits: Limits, *, announce: bool = True) -> None:
    """Serve until Ctrl-C / SIGTERM; prints the address first (flushed, so a parent process can read it)."""
    sock = bind(host, port)
    server = make_server(sock, limits, host=host)
    if announce:
        print(f"zoo serve: {url_of(sock)}  (Ctrl-C to stop)", flush=True)
    try:
        server.run(sockets=[sock])  # type: ignore[attr-defined]
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown
        pass
    print("zoo serve: stopped.", flush=True)


@dataclass
class Running:
    """A server started in a background thread (tests, notebooks); stop() shuts it down."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout)


def start_in_thread(limits: Limits | None = None, *, host: str = "127.0.0.1", port: int = 0,
                    loader: Loader | None = None, timeout: float = 15.0) -> Running:
    """Start on a free port (by default) in a daemon thread and wait until it answers."""
    sock = bind(host, port)
    server = make_server(sock, limits or Limits(), host=host, loader=loader)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="zoo-serve-http", daemon=True)  # type: ignore[attr-defined]
    thread.start()
    deadline = time.monotonic() + timeout
    while not getattr(server, "started", False):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ZooError("The web server did not start; see the messages above.")
        time.sleep(0.02)
    return Running(url=url_of(sock), server=server, thread=thread)
