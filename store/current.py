"""Which generation of each month readers see: one small pointer per month.

A batch run commits a month as a new *generation*, `generations/RUN_ID/`, a folder shaped like
the output root (its partitions, feedback and `runs/YYYY-MM/manifest.json`), and then switches
the month's pointer, `runs/YYYY-MM/current.json`, to it in one atomic write (a rename on a
local disk, one object upload on a bucket). Readers resolve the pointer first and then read
only under the generation it names, so a reader sees the previous complete month or the new
complete one, never new records beside old feedback or an old manifest, on any filesystem.

Old generations: a pointer also names the generation before it (`previous`). That one is kept
until the month's next commit, so a reader that resolved the pointer just before a switch can
finish reading; the next commit deletes it, and recovery deletes any generation no pointer
names (a run killed before its switch). No clock is involved.

A month without a pointer lives in the output root itself (the *in-place* generation, `""`
here): streaming writes a month there until the month's first close, and outputs written
before generations existed look like that, so they stay readable without a migration.

Analysts: `live_files(OUTPUT, "public")` lists the live parts to give DuckDB or pyarrow
(docs/analysts.md). Pure fsspec: no Beam, no Prefect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from crimegeo.store.files import (
    filesystem,
    find_parts,
    force_folders,
    read_json,
    write_json_atomic,
)
from crimegeo.store.layout import (
    GENERATIONS_FOLDER,
    PARTITIONED_KINDS,
    POINTER_FILE,
    RUNS_FOLDER,
    OutputLayout,
    leaf,
    month_of,
)

if TYPE_CHECKING:
    import pyarrow.dataset as ds

#: The generation of a month that has no pointer: the output root itself.
IN_PLACE = ""


def generation_name(run_id: str) -> str:
    """The output-relative name of the generation a run commits: `generations/RUN_ID`."""
    return f"{GENERATIONS_FOLDER}/{run_id}"


def generation_root(output: str, generation: str) -> str:
    """The root of a generation (`""`: the output root itself), in the form `output` has."""
    output = output.rstrip("/")
    return output if generation == IN_PLACE else f"{output}/{generation}"


def read_pointer(output: str, month: str) -> dict | None:
    """The month's pointer (`run_id`, `generation`, `previous`, `switched_at`), or None."""
    return read_json(OutputLayout(output).pointer(month))


def live_root(output: str, month: str) -> str:
    """The root holding the month readers should see: its pointer's generation, else the
    output root. Works on a staging folder too (it has no pointers: itself)."""
    pointer = read_pointer(output, month)
    return generation_root(output, pointer["generation"] if pointer else IN_PLACE)


def live_layout(output: str, month: str) -> OutputLayout:
    """`OutputLayout` of the month's live root: name its files as in the published tree."""
    return OutputLayout(live_root(output, month))


def switch_pointer(output: str, month: str, run_id: str) -> dict | None:
    """Point the month at the generation `run_id` committed; returns the pointer before.

    This single atomic write is the commit point of a month.
    """
    before = read_pointer(output, month)
    write_json_atomic(OutputLayout(output).pointer(month), {
        "month": month, "run_id": run_id, "generation": generation_name(run_id),
        "previous": before["generation"] if before else IN_PLACE,
        "switched_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return before


def pointers(output: str) -> dict[str, dict]:
    """Every month's pointer, by month."""
    fs, root = filesystem(output)
    found = {}
    for path in sorted(fs.glob(f"{root}/{RUNS_FOLDER}/*/{POINTER_FILE}")):
        month = leaf(path.rsplit("/", 1)[0])
        pointer = read_pointer(output, month)
        if pointer is not None:
            found[month] = pointer
    return found


def referenced_generations(output: str) -> set[str]:
    """The generations some pointer names, as current or as previous (kept for readers)."""
    return {name for pointer in pointers(output).values()
            for name in (pointer.get("generation"), pointer.get("previous")) if name}


def in_place_months(output: str) -> set[str]:
    """Months that have partitions or feedback in the output root itself."""
    fs, root = filesystem(output)
    layout = OutputLayout(root)
    months = set()
    for folder in [layout.kind(kind) for kind in PARTITIONED_KINDS] + list(
            force_folders(fs, layout.feedback()).values()):
        if fs.exists(folder):
            months.update(m for m in (month_of(p) for p in fs.ls(folder, detail=False))
                          if m is not None)
    return months


def live_months(output: str) -> dict[str, str]:
    """Every month readers can see, oldest first: month -> the root holding it."""
    live = {month: generation_root(output, pointer["generation"])
            for month, pointer in pointers(output).items()}
    for month in in_place_months(output) - set(live):
        live[month] = generation_root(output, IN_PLACE)
    return dict(sorted(live.items()))


def _url(output: str, fs_protocol: str | tuple, path: str) -> str:
    if "://" not in output:
        return path
    protocol = fs_protocol if isinstance(fs_protocol, str) else fs_protocol[0]
    return f"{protocol}://{path}"


def live_files(output: str, kind: str, month: str | None = None) -> list[str]:
    """The live Parquet parts of `kind` (of `month`, or of every month), sorted, as URLs
    when `output` is one: what to give DuckDB's `read_parquet` or `pyarrow.dataset`."""
    if kind not in PARTITIONED_KINDS:
        raise ValueError(f"not a partitioned kind: {kind!r} (one of {PARTITIONED_KINDS})")
    roots = live_months(output) if month is None else {month: live_root(output, month)}
    fs, _ = filesystem(output)
    files = []
    for each, root in roots.items():
        _, bare = filesystem(OutputLayout(root).month(kind, each))
        files += [_url(output, fs.protocol, path) for path in find_parts(fs, bare)]
    return sorted(files)


def live_feedback_month(output: str, force: str, month: str) -> str:
    """The live folder of a force-month's feedback."""
    return live_layout(output, month).feedback_month(force, month)



def live_dataset(output: str, kind: str, month: str | None = None) -> ds.Dataset:
    """A `pyarrow.dataset` over the live parts of `kind` (of `month`, or of every month),
    with `month` and `force` from the paths: `live_dataset(OUTPUT, "public").to_table()`."""
    # Imported here: pyarrow.dataset brings pandas (0.3 s), which a run's worker processes
    # and the CLI's start would otherwise import for nothing.
    import pyarrow.dataset as ds

    fs, _ = filesystem(output)
    paths = [filesystem(url)[1] for url in live_files(output, kind, month)]
    return ds.dataset(paths, filesystem=fs, format="parquet", partitioning="hive")
