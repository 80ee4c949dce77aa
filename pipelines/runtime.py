"""How a process runs heavy work: the garbage collector's settings, and how Beam is imported
for a local run (no Beam, no Prefect imported here).

A run allocates millions of short-lived objects (rows of feedback, matches, Beam's bundles)
beside hundreds of thousands of long-lived ones (Beam's, the gazetteer's, the imported
modules'). At Python's default thresholds each collection of the older generations walks all
of the long-lived ones again.
"""

from __future__ import annotations

import gc
import importlib.abc
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec

#: Collector thresholds for heavy work (Python's defaults: 700, 10, 10): the young generation
#: every 50,000 allocations, the older ones 20 and 100 times less often than that.
RUN_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections(*, freeze: bool = True) -> Iterator[None]:
    """Run a block with the cyclic garbage collector working less, then restore it.

    With `freeze`, what exists when the block starts is left out of collections until it
    ends. For a run (`pipelines.monthly.run_month`) this made the national month 10-14%
    faster (alternating runs: median 10.1 s -> 8.7 s, and 10.5 s -> 9.6 s against a
    freeze-only baseline); around the imports of Beam and the pipeline (the CLI, without
    freezing) 1.80 s -> 1.67 s. Reference counting still frees everything that is not part
    of a cycle, and cycles are still collected, less often.
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


#: How long a thread holds the GIL before handing it to a waiting one during a run (Python's
#: default: 5 ms). See `quick_gil_handover`.
RUN_SWITCH_INTERVAL_S = 0.0005


@contextmanager
def quick_gil_handover(interval: float = RUN_SWITCH_INTERVAL_S) -> Iterator[None]:
    """Run a block with a shorter GIL switch interval, then restore it.

    A run's main thread is Python-bound (standardise, locate), while its reader and writer
    threads spend most of their time in pyarrow with the GIL released and take it back only
    briefly, between calls and for each malformed row pyarrow's CSV reader hands to Python.
    Each time, they wait for the main thread to give the GIL up: up to the whole interval.
    On a thread beside a busy Python loop, writing the national month's 44 located tables
    took 8.4-11.9 s at 5 ms and 2.7-2.9 s at 0.5 ms (1.6-2.0 s alone); reading its files,
    9.8-12.4 s at 5 ms and 2.1 s at 0.5 ms (0.7-1.0 s alone). The whole month's run gains
    less, since its main thread sets the pace: alternating runs at 5 ms, 1 ms and 0.5 ms gave
    medians of 9.30, 8.88 and 9.22 s (paired: -0.01 and -0.22 s, 10 rounds), with a narrower
    spread at 0.5 ms. At 0.2 ms the extra switching cost more than it saved.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


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


@contextmanager
def beam_imports(*, local: bool) -> Iterator[None]:
    """Import Beam and the pipeline modules inside this block: with the collector relaxed
    and, for a run on the local runner (`local`), without Beam's cloud connectors.

    Beam imports those connectors only if it can, so leaving them out is the state Beam is in
    without its GCP extra. They are left out only while the block imports Beam: a later
    import of one (the streaming pipeline's Pub/Sub source) loads it as usual. The GCP
    connectors made `import apache_beam` ~0.3 s shorter (1.33 s -> 1.04 s, median of 8); the
    Dataflow, apitools and MongoDB clients another ~0.3 s (Beam and the pipeline modules:
    2,021 -> 1,521 modules, 1.17 -> 0.80 s, medians of 5; a 55k-row month, alternating
    runs: -0.32 s). Without effect when Beam is already imported.
    """
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
