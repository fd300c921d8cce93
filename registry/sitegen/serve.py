"""Preview a rendered site on loopback with the standard library's HTTP server."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Any

from registry.errors import RenderError

HOST = "127.0.0.1"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right types for feeds; request lines are not logged."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        ".json": "application/json",
        ".db": "application/vnd.sqlite3",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def send_head(self) -> Any:
        """As the standard handler, but a path that leaves the folder once symlinks are followed
        (or cannot be resolved) is answered 404, like a missing file."""
        root = Path(self.directory).resolve()
        try:
            inside = Path(self.translate_path(self.path)).resolve().is_relative_to(root)
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            self.send_error(404, "File not found")
            return None
        return super().send_head()


def make_server(directory: Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server for `directory` bound to 127.0.0.1 (port 0 picks a free one); not started.

    Raises:
        RenderError: the folder holds no rendered site, or the port is taken.
    """
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise RenderError(f"No rendered site in {directory}; run `ropedex render` first.")
    handler = functools.partial(QuietHandler, directory=str(directory))
    try:
        return http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise RenderError(
            f"Cannot listen on {HOST}:{port} ({exc.strerror}); pass another --port (0 picks one)."
        ) from None
