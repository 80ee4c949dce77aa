"""The partitioned outputs' part files: listing, counting, reading back and removing them.

Parts live at `<root>/<kind>/month=YYYY-MM/force=CODE/part-*.parquet` (see `layout.py`);
the published tree, a generation and a run's staging folder have the same shape, so every
function here takes an output root or a staging folder, and reads or writes a month in the
root its pointer names (`store.current.live_root`: a staging folder has no pointers).
Writing a part is `files.write_bytes_atomic` to `OutputLayout.part(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from crimegeo.store.current import live_months, live_root
from crimegeo.store.files import (
    filesystem,
    find_parts,
    force_folders,
    is_local,
    parquet_files,
    sha256_hex,
)
from crimegeo.store.layout import (
    PARTITIONED_KINDS,
    OutputLayout,
    month_of,
    part_key,
    part_name,
)


def part_paths(month: str, source_file: str, forces: Iterable[str], kinds: Iterable[str]
               ) -> list[str]:
    """The output-relative paths of a file's parts for `forces` and `kinds`."""
    name = part_name(source_file)
    return sorted(part_key(kind, month, force, name) for kind in kinds for force in forces)


def remove_parts(output: str, paths: Iterable[str]) -> list[str]:
    """Delete live parts (paths relative to a month's root, `<kind>/month=.../...`) and,
    locally, folders left empty."""
    fs, _ = filesystem(output)
    removed = []
    for relative in sorted(set(paths)):
        kind, month_folder = (relative.split("/") + ["", ""])[:2]
        month = month_of(month_folder)
        if kind not in PARTITIONED_KINDS or month is None:
            raise ValueError(f"not a part path: {relative!r}")
        _, path = filesystem(OutputLayout(live_root(output, month)).path(relative))
        if fs.exists(path):
            fs.rm(path)
            removed.append(relative)
            folder = path.rsplit("/", 1)[0]
            if is_local(fs) and fs.exists(folder) and not fs.ls(folder):
                fs.rmdir(folder)
    if removed:
        fs.invalidate_cache()
    return removed


def published_parts(output: str, month: str) -> dict[str, str]:
    """The month's live parts (path relative to its root -> sha256 of the bytes)."""
    fs, root = filesystem(live_root(output, month))
    layout = OutputLayout(root)
    fs.invalidate_cache()
    parts = {}
    for kind in PARTITIONED_KINDS:
        for path in find_parts(fs, layout.month(kind, month)):
            parts[layout.relative(path)] = sha256_hex(fs.cat_file(path))
    return parts


def rows_by_force(output: str, kind: str, month: str | None = None) -> dict[str, int]:
    """Rows in the parts of `kind` (of `month`, or of every month), by force, from the
    Parquet footers alone; each month from its live root."""
    fs, _ = filesystem(output)
    fs.invalidate_cache()
    counts: dict[str, int] = {}
    roots = live_months(output) if month is None else {month: live_root(output, month)}
    folders = [filesystem(OutputLayout(root).month(kind, each))[1]
               for each, root in roots.items()]
    for path in (part for folder in folders for part in find_parts(fs, folder)):
        force = path.split("force=", 1)[1].split("/", 1)[0]
        with fs.open(path, "rb") as handle:
            counts[force] = counts.get(force, 0) + pq.ParquetFile(handle).metadata.num_rows
    return counts


def partition_forces(output: str, kind: str, month: str) -> list[str]:
    """The forces that have a partition of `kind` in `month`, sorted."""
    fs, root = filesystem(live_root(output, month))
    return sorted(force_folders(fs, OutputLayout(root).month(kind, month)))


def read_partitions(output: str, kind: str, month: str, columns: Sequence[str]
                    ) -> dict[str, pa.Table]:
    """`columns` of every part of `kind` in `month`, one table per force (forces with parts)."""
    fs, root = filesystem(live_root(output, month))
    tables: dict[str, pa.Table] = {}
    for force, folder in force_folders(fs, OutputLayout(root).month(kind, month)).items():
        parts = find_parts(fs, folder)
        if parts:
            tables[force] = pq.ParquetDataset(parts, filesystem=fs).read(columns=list(columns))
    return tables


def read_partition(output: str, kind: str, month: str, force: str, columns: Iterable[str]
                   ) -> pa.Table | None:
    """`columns` of one partition's parts with its `month` column; None when it has none.

    A part written before a column was added to its schema lacks it: the column is left out
    of that part's table (the caller adds what it needs), not an error."""
    fs, root = filesystem(live_root(output, month))
    tables = []
    for path in parquet_files(fs, OutputLayout(root).partition(kind, month, force)):
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            present = set(parquet.schema_arrow.names)
            tables.append(parquet.read(columns=[c for c in columns if c in present]))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    return table.append_column("month", pa.array([month] * table.num_rows, pa.string()))
