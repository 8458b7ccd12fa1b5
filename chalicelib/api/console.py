"""The console (工作台): zh-CN pages for the staff; every call they make is
one of the API's routes."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.errors import Failed, not_found
from chalicelib.http import answers

from .edge import (
    ANY_TYPE,
    current,
)

pages = Blueprint(__name__)


@pages.route("/console", methods=["GET"], content_types=ANY_TYPE)
@answers
def console_page() -> Response:
    if str((current().context or {}).get("path", "")).endswith("/"):
        # the page's relative links need the address without the slash
        return Response(body="", status_code=308, headers={"Location": "../console"})
    return console_file("index.html")


@pages.route("/console/{name}", methods=["GET"], content_types=ANY_TYPE)
@answers
def console_asset(name: str) -> Response:
    return console_file(name)


def console_file(name: str) -> Response:
    # imported at the console's first request, not by every cold start
    from chalicelib import console as console_files  # noqa: PLC0415

    found = console_files.asset(name)
    if found is None:
        raise Failed(not_found("console file"))
    headers: dict[str, str | list[str]] = {
        "Content-Type": found.content_type,
        **console_files.HEADERS,
    }
    return Response(body=found.body, status_code=200, headers=headers)
