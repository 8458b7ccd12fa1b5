"""The handler Lambda is told to call for each function (``chalice package``
writes ``handler_string``) is the very object, with its middleware, that the
app registered: the schedules and the stream live in a blueprint module, not
in app.py."""

from __future__ import annotations

import importlib

from app import app


def test_each_event_handler_string_names_the_registered_handler():
    names = set()
    for source in app.event_sources:
        module, attribute = source.handler_string.rsplit(".", 1)
        handler = getattr(importlib.import_module(module), attribute)
        assert handler is app.handler_map[source.name], source.handler_string
        names.add(source.name)
    assert names == {
        "expiry_sweep",
        "duplicate_watch",
        "monthly_reclaim",
        "idempotency_stream",
        "event_deliveries",
        "delivery_retries",
    }


def test_every_route_is_served_by_the_api_function():
    handlers = {
        route.view_function.__module__ for path in app.routes.values() for route in path.values()
    }
    assert handlers <= {
        "chalicelib.api.webhook",
        "chalicelib.api.staff",
        "chalicelib.api.floor",
        "chalicelib.api.fines",
        "chalicelib.api.party_a",
        "chalicelib.api.console",
        "chalicelib.api.deliveries",
        "chalicelib.api.appeals",
        "chalicelib.api.dashboard",
    }
