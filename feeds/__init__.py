"""Force feeds: each force pulls its own corrected-location feedback over HTTP.

A small read-only ASGI service (FastAPI on uvicorn) over a run's output root, local or in a
bucket. It serves the files the pipeline writes under ``OUTPUT/feedback/force=<code>/`` to the
force they belong to, and to operators:

- :mod:`feeds.keys`: the API keys file (salted PBKDF2 hashes, never the keys themselves);
- :mod:`feeds.store`: reading the feedback tree through fsspec, safely and self-consistently;
- :mod:`feeds.app`: :func:`feeds.app.create_app`, the ASGI application;
- :mod:`feeds.cli`: ``crimegeo feeds serve`` and ``crimegeo feeds keys add|revoke|list``.

``feeds`` imports ``standards`` (the force registry) and ``store`` (the output layout),
never Beam, Prefect, ``transforms``, ``pipelines`` or ``flows``. See ``docs/feeds.md``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI loads only when the service is wanted, not for every `crimegeo` command.
    if name == "create_app":
        from crimegeo.feeds.app import create_app

        return create_app
    raise AttributeError(f"module 'feeds' has no attribute {name!r}")
