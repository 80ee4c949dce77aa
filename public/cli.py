"""The ``crimegeo public`` commands: serve the public search site and police.uk-compatible API.

``app`` is a Typer app mounted as ``crimegeo public``; it also runs as
``python -m crimegeo.public``::

    crimegeo public serve --output OUTPUT --gazetteer GAZETTEER [--areas [NAME=]URI]
                          [--boundaries FILE] [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer

app = typer.Typer(help="The public search site and police.uk-compatible API.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def serve(
    output: Annotated[str, typer.Option(
        "--output", help="The run output root (local path or fsspec URL); only its public/ "
                         "dataset is read.")],
    gazetteer: Annotated[str | None, typer.Option(
        "--gazetteer", help="A built gazetteer, for search by street or area name.")] = None,
    areas: Annotated[list[str] | None, typer.Option(
        "--areas", help="[NAME=]URI of an area layer (repeatable): area pages and outlines "
                        "on maps, e.g. LSOAs.")] = None,
    boundaries: Annotated[list[str] | None, typer.Option(
        "--boundaries", help="A force boundary file named after its force (repeatable), drawn "
                             "on force pages.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    rate: Annotated[float, typer.Option(
        "--rate", help="Requests a second allowed per client address.")] = 15.0,
    burst: Annotated[float, typer.Option(
        "--burst", help="Largest burst of requests per client address.")] = 30.0,
    refresh_seconds: Annotated[float, typer.Option(
        "--refresh-seconds", help="How often to look for newly published months.")] = 5.0,
    trusted_proxy: Annotated[str | None, typer.Option(
        "--trusted-proxy",
        help="Address(es) of the proxy in front of the site, comma-separated: its "
             "X-Forwarded-For then gives each visitor's own address, so visitors are "
             "limited one by one, not as one.")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "info",
) -> None:
    """Serve OUTPUT/public read-only: search pages, place pages and the police.uk API."""
    import uvicorn

    from crimegeo.public.app import create_app

    started = time.perf_counter()
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    application = create_app(output, gazetteer=gazetteer, areas=areas or (),
                             boundaries=boundaries or (), rate_per_second=rate, burst=burst,
                             refresh_seconds=refresh_seconds)
    logging.getLogger("crimegeo.public").info(
        "ready in %.1f s: %s months published", time.perf_counter() - started,
        len(application.state.site.dataset.months()))
    uvicorn.run(application, host=host, port=port, log_level=log_level.lower(),
                proxy_headers=trusted_proxy is not None, forwarded_allow_ips=trusted_proxy)
