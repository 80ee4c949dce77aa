"""How a process runs heavy work on this machine: Beam imported without the cloud
connectors a local run never uses, and the garbage collector relaxed while it imports and
while a run goes (`fewer_collections`).

Part of the local-run switch (`pipelines.local`): the CLI imports Beam inside `beam_imports`
when the run is on this machine and `--local-tuning` is on. Kept apart from `pipelines.local`
because it must run before Beam is imported. Must not import Beam or Prefect.
"""

from __future__ import annotations

import gc
import importlib.abc
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec

#: Collector thresholds for heavy work, while importing and during a run (Python's defaults:
#: 700, 10, 10): the young generation every 50,000 allocations, the older ones 20 and 100
#: times less often than that.
RUN_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections(*, freeze: bool = True) -> Iterator[None]:
    """Run a block with the cyclic garbage collector working less, then restore it.

    The thresholds are raised and, with `freeze`, what exists when the block starts is left
    out of collections until it ends: a run allocates millions of short-lived objects beside
    hundreds of thousands of long-lived ones (Beam's, the gazetteer's, the modules'), and at
    Python's defaults each collection of the older generations walks all of those again.
    Reference counting still frees everything that is not part of a cycle, and cycles are
    still collected, less often.
    """
    thresholds = gc.get_threshold()
    unfreeze = freeze and gc.get_freeze_count() == 0  # a caller's freeze is theirs to undo
    if freeze:
        gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if unfreeze:
            gc.unfreeze()


#: Modules `import apache_beam` loads whenever they are installed, each inside Beam's own
#: `try: ... except ImportError`, that a run on the local runner never uses: the GCP extra's
#: BigQuery, Pub/Sub and GCS connectors (our files go through fsspec, and Pub/Sub is the
#: streaming pipeline's, which imports it itself), the Dataflow API client and apitools
#: (only a Dataflow job needs them) and MongoDB's client (for Beam's MongoDB connector).
CLOUD_CONNECTORS = (
    "apache_beam.io.gcp.bigquery",
    "apache_beam.io.gcp.pubsub",
    "apache_beam.io.gcp.gcsio",
    "apache_beam.io.gcp.gcsfilesystem",
    "google.cloud.dataflow",
    "apitools",
    "pymongo",
)


class _NotNow(importlib.abc.MetaPathFinder):
    """Answers imports of the given modules as Beam's optional imports expect an absent
    extra to answer: ModuleNotFoundError (Beam catches it and goes on without them)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: object = None) -> ModuleSpec | None:
        if name in self.names:
            raise ModuleNotFoundError(f"{name} is left out of a local run's import", name=name)
        return None


class TunedProcess:
    """Set once this process has imported Beam for a tuned local run: the command line may
    then leave without the interpreter's teardown (`flows/__main__.py`)."""

    on = False


@contextmanager
def beam_imports(*, local: bool) -> Iterator[None]:
    """Import Beam and the pipeline modules inside this block: with the collector relaxed
    and, for a run on the local runner (`local`), without Beam's cloud connectors.

    Beam imports those connectors only if it can, so leaving them out is the state Beam is in
    without its GCP extra. They are left out only while the block imports Beam: a later
    import of one (the streaming pipeline's Pub/Sub source) loads it as usual. The GCP
    connectors made `import apache_beam` ~0.3 s shorter (1.33 s -> 1.04 s, median of 8); the
    Dataflow, apitools and MongoDB clients another ~0.3 s (Beam and the pipeline modules:
    2,021 -> 1,521 modules, 1.17 -> 0.80 s, medians of 5). Measured again when this was
    weighed against the 5% rule: importing the pipeline and the CLI took 1.09-1.12 s with
    this block and 2.19-2.34 s without (3 alternating runs each), about 10% of the national
    month's `crimegeo pipeline`. Without effect when Beam is already imported.
    """
    TunedProcess.on = TunedProcess.on or local
    finder = _NotNow(CLOUD_CONNECTORS) if local and "apache_beam" not in sys.modules else None
    # Beam warns that it found no bson package when MongoDB's client is absent; here it is
    # left out on purpose, so the warning would only mislead.
    mongo_warning = logging.getLogger("apache_beam.io.mongodbio")
    was_disabled = mongo_warning.disabled
    if finder is not None:
        sys.meta_path.insert(0, finder)
        mongo_warning.disabled = True
    try:
        with fewer_collections(freeze=False):
            yield
    finally:
        if finder is not None:
            sys.meta_path.remove(finder)
            mongo_warning.disabled = was_disabled
