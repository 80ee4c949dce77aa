"""Fixtures for the force feeds: the fixture feedback tree, its keys and the running server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from feeds_support import FEED_FORCES, NO_FEED_FORCE, build_tree, make_keys, running_server


@pytest.fixture(scope="session")
def feed_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feedback tree for five forces and two months."""
    output = tmp_path_factory.mktemp("feeds") / "output"
    build_tree(output)
    return output


@pytest.fixture(scope="session")
def feed_keys(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The keys file and a key for every fixture force, the no-feed force and an operator."""
    path = tmp_path_factory.mktemp("feed-keys") / "keys.json"
    keys = make_keys(path, (*FEED_FORCES, NO_FEED_FORCE))
    return {"path": path, "keys": keys}


@pytest.fixture(scope="session")
def feed_server(feed_output: Path, feed_keys: dict) -> Iterator[dict]:
    """The real server over the fixture tree, with a rate limit no test reaches."""
    from crimegeo.feeds.app import create_app

    app = create_app(str(feed_output), feed_keys["path"], rate_limit=100_000,
                     auth_failures_per_minute=100_000)
    with running_server(app) as url:
        yield {"url": url, "app": app, "output": feed_output, **feed_keys}


@pytest.fixture()
def client_for(feed_server: dict) -> Iterator[Callable[[str | None], httpx.Client]]:
    """``client_for(force)``: an httpx client with that force's key (None: no key)."""
    clients: list[httpx.Client] = []

    def make(force: str | None) -> httpx.Client:
        headers = {}
        if force is not None:
            headers["Authorization"] = f"Bearer {feed_server['keys'][force]}"
        client = httpx.Client(base_url=feed_server["url"], headers=headers, timeout=20)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
