"""Run the try-on app with uvicorn on a local address."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys

__all__ = ["MAX_UPLOAD_MB", "WEB_EXTRA_HINT", "add_serve_parser", "is_loopback", "listen", "serve", "serve_command"]

#: Largest --max-upload-mb: the server holds an upload in memory whole.
MAX_UPLOAD_MB = 1000.0
WEB_EXTRA_HINT = 'the try-on page needs the web extra: pip install "lightest[web]" (FastAPI and uvicorn)'


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, max_upload_mb: float = 20.0) -> None:
    """Serve the page until interrupted. Raises ``ImportError`` with :data:`WEB_EXTRA_HINT` without the extra."""
    if not 0 < max_upload_mb <= MAX_UPLOAD_MB:  # NaN and inf fail too
        raise ValueError(f"--max-upload-mb must be above 0 and at most {MAX_UPLOAD_MB:g}, got {max_upload_mb}")
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be 0-65535 (0: any free port), got {port}")
    try:
        import uvicorn

        from lightest.serve.app import create_app
    except ImportError as exc:
        raise ImportError(f"{WEB_EXTRA_HINT} ({exc})") from exc
    loopback = is_loopback(host)
    app = create_app(max_upload_bytes=int(max_upload_mb * 1_000_000), loopback_only=loopback)
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    print(f"lightest try-on page: {url}  (Ctrl+C stops it)", file=sys.stderr, flush=True)
    if not loopback:
        print(f"lightest: warning: listening on {host}, reachable from other machines", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", server_header=False))
    server.run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one); ``OSError`` naming the address if not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    """The ``lightest serve`` subcommand's options."""
    srv = sub.add_parser(
        "serve",
        help="start the local try-on page (a hat lit by the estimate; needs the web extra)",
        description="Serves a page that puts a 3D hat and glasses on your photo or webcam, lit by the estimated "
        'light. Needs the web extra: pip install "lightest[web]". Ctrl+C stops it.',
    )
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    srv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    srv.add_argument("--max-upload-mb", type=float, default=20.0, help="largest photo accepted, in MB (default 20)")


def serve_command(args: argparse.Namespace) -> int:
    """Run ``lightest serve``; returns exit status 0 when stopped with Ctrl+C."""
    with contextlib.suppress(KeyboardInterrupt):
        serve(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb)
    return 0
