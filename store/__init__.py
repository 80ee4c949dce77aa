"""The output store: the one owner of the on-disk (or in-bucket) contract.

Everything that reads or writes an output root goes through this package:

- `layout.py`: `OutputLayout`, one method per kind of path (partitions, feedback, runs,
  pointers, generations, staging, ledger, gazetteer cache), and the file and folder names;
- `files.py`: fsspec I/O shared by all: atomic writes, JSON or None, checksums, listings;
- `parts.py`: the partitioned parts: listing, counting, reading back, removing;
- `feedback.py`: a force-month's feedback files and each force's `index.json`;
- `current.py`: each month's pointer to its live generation, and what readers (and
  analysts: `live_files`, `live_dataset`) resolve through it;
- `publish.py`: committing a staged month as a generation (switching the month's pointer is
  the commit point) and recovering from a crash; reconciliation of rows in against rows out;
- `ledger.py`: what streaming ingested, and which months were closed;
- `inputs.py`: finding a month's input files and matching each to a force profile.

Rule: imports only `crimegeo.standards` of ours (plus fsspec and pyarrow); never Beam or
Prefect. Callers: `transforms` (DoFns write through it), `pipelines`, `flows`, `feeds`.
"""

from crimegeo.store.layout import OutputLayout

__all__ = ["OutputLayout"]
