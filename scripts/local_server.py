"""The API of `make run`: `chalice local --no-autoreload --stage local`, with
two changes a pilot on one machine needs.

- The access log writes each request's path without its query string: a
  query may carry a cursor, a phone or a token, and the terminal (or a file
  it is piped to) is no place for them.
- The listen backlog is 128, not http.server's 5: with 5, a burst of new
  connections (eight channels at once) waited ~1 s for every 7th connect.
  Replies also leave at once (TCP_NODELAY): http.server writes headers and
  body apart, and Nagle's algorithm held the body ~40 ms for a delayed ACK.

Started by scripts/run_local.py with the stage's environment and
``DYNAMODB_ENDPOINT`` set:

    python scripts/local_server.py --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    ThreadedHTTPServer,
)

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
_QUERY = re.compile(r"\?[^\s\"']*")


def without_query(text: str) -> str:
    """``GET /v1/registrations?cursor=… HTTP/1.1`` → ``GET /v1/registrations HTTP/1.1``."""
    return _QUERY.sub("", text)


class QueryFreeAccessLog(ChaliceRequestHandler):
    """chalice local's handler, whose log lines (access and errors) carry
    no query string."""

    def log_message(self, format: str, *args: Any) -> None:
        super().log_message("%s", without_query(format % args))


class LocalServer(ThreadedHTTPServer):
    request_queue_size = 128

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


def create_server(host: str, port: int) -> LocalDevServer:
    """What `chalice local` builds: the app of this project at its local
    stage, each request's ``current_request`` on its own thread."""
    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=STAGE)
    app = config.chalice_app
    validate_routes(app.routes)
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(
        app, config, host, port, handler_cls=QueryFreeAccessLog, server_cls=LocalServer
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the API of `make run`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # as `chalice local`: the app's plain `logging` lines go to stdout
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for sig in (signal.SIGINT, signal.SIGTERM):  # run_local.py stops it with SIGTERM
        signal.signal(sig, _interrupt)
    server = create_server(args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
