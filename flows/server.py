"""Start Prefect's temporary API server early, so its start-up overlaps ours.

With no `PREFECT_API_URL`, the first flow run starts a temporary server: a `uvicorn`
subprocess that takes several seconds to answer. Left to Prefect that happens only when the
flow is called, after the CLI has spent about two seconds importing Beam and the pipeline
modules. Started here first, the subprocess boots on the other core while those imports run,
and the flow then finds it already up (Prefect keeps one temporary server per process).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


def start_temporary_server() -> threading.Thread | None:
    """Start the temporary server in the background; join the thread before the flow runs.

    Returns None when a server is configured (`PREFECT_API_URL`) or already running. A failed
    start is only logged here: the flow then starts the server itself and reports the error.
    """
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    if server.running:
        return None

    def start() -> None:
        try:
            server.start()
        except Exception as error:  # noqa: BLE001 - the flow retries and reports it
            log.warning("starting Prefect's temporary server early failed: %s", error)

    thread = threading.Thread(target=start, name="prefect-temporary-server", daemon=True)
    thread.start()
    return thread
