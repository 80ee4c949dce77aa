"""The output layout: every path of the on-disk (or in-bucket) contract, built in one place.

```
OUTPUT/
  restricted/month=YYYY-MM/force=CODE/part-*.parquet   exact locations
  public/month=YYYY-MM/force=CODE/part-*.parquet       anonymised
  rejected/month=YYYY-MM/force=CODE/part-*.parquet     rows that could not be records
  feedback/force=CODE/index.json                       the force's months, with checksums
  feedback/force=CODE/month=YYYY-MM/corrections.csv    (and corrections.geojson, summary.json)
  runs/YYYY-MM/current.json                            the month's pointer: its live generation
  runs/YYYY-MM/report.html, report.json, fingerprint.json
  generations/RUN_ID/...                               one committed month, shaped as above:
    restricted|public|rejected/month=YYYY-MM/force=CODE/part-*.parquet
    feedback/force=CODE/month=YYYY-MM/corrections.csv, ...
    runs/YYYY-MM/manifest.json, disclosure.json
  _staging/RUN_ID/...                                  a run's outputs before its commit
  _ledger/files/KEY.json, _ledger/closed/YYYY-MM.json  what streaming ingested, months closed
  _gazetteer/KEY/                                      gazetteers built from sources, cached
```

A run's staging folder, and each generation, mirrors the published tree, so
`OutputLayout(staging)` names the staged files and `OutputLayout(generation)` a committed
month's. Which generation of a month readers see is what `runs/YYYY-MM/current.json` names
(`store.current`); a month without a pointer (written by streaming only, or by a version before
generations) lives in the output root itself, as drawn on top.

Methods only build strings: they never touch storage and accept placeholders (`*`,
`YYYY-MM`) for display. Pure Python: no fsspec, no Beam, no Prefect.
"""

from __future__ import annotations

import hashlib

#: Kinds of partitioned output, each under `<output>/<kind>/month=YYYY-MM/force=CODE/`.
PARTITIONED_KINDS = ("restricted", "public", "rejected")
#: The force partition of rows whose force is not known.
UNKNOWN_FORCE_PARTITION = "unknown"
#: The files of a force-month's feedback folder, in the order they are listed and written.
FEEDBACK_FILES = ("corrections.csv", "corrections.geojson", "summary.json")
FEEDBACK_FOLDER = "feedback"
FEEDBACK_INDEX = "index.json"
RUNS_FOLDER = "runs"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.html"
REPORT_SUMMARY_FILE = "report.json"
FINGERPRINT_FILE = "fingerprint.json"
DISCLOSURE_FILE = "disclosure.json"
STAGING_FOLDER = "_staging"
#: Committed months, one folder per run that committed one (`store.current`).
GENERATIONS_FOLDER = "generations"
#: A month's pointer to its live generation, in `runs/YYYY-MM/`.
POINTER_FILE = "current.json"
TRASH_FOLDER = "_trash"
#: A run's commit journal, in its staging folder.
JOURNAL_FILE = "_commit.json"
#: Per-file counts the pipeline leaves in its staging folder for the driver.
FILE_STATS_FILE = "file_stats.json"
LEDGER_FOLDER = "_ledger"
GAZETTEER_CACHE_FOLDER = "_gazetteer"
#: The lease of the batch run writing the output (`store.lock`).
LOCK_FILE = "_lock.json"
FORCE_PREFIX = "force="
MONTH_PREFIX = "month="


def part_name(source_file: str, part: int = 0) -> str:
    """Deterministic part file name: a rerun over the same file writes the same name."""
    digest = hashlib.sha1(source_file.encode()).hexdigest()[:12]
    return f"part-{digest}-{part:04d}.parquet"


def partition_key(kind: str, month: str, force: str | None) -> str:
    """`<kind>/month=<month>/force=<force>`, relative to the output root."""
    return f"{kind}/{MONTH_PREFIX}{month}/{FORCE_PREFIX}{force or UNKNOWN_FORCE_PARTITION}"


def part_key(kind: str, month: str, force: str | None, name: str) -> str:
    """A part file's path relative to the output root."""
    return f"{partition_key(kind, month, force)}/{name}"


def leaf(path: str) -> str:
    """The last name of a path, with or without a trailing slash."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def force_of(folder: str) -> str | None:
    """The force code of a `force=CODE` folder (a path or its last name), else None."""
    name = leaf(folder)
    return name[len(FORCE_PREFIX):] if name.startswith(FORCE_PREFIX) else None


def month_of(folder: str) -> str | None:
    """The month of a `month=YYYY-MM` folder (a path or its last name), else None."""
    name = leaf(folder)
    return name[len(MONTH_PREFIX):] if name.startswith(MONTH_PREFIX) else None


class OutputLayout:
    """The paths under one output root (any fsspec URL, or a filesystem's bare path)."""

    __slots__ = ("root",)

    def __init__(self, root: str) -> None:
        """`root` as given, without its trailing slash."""
        self.root = root.rstrip("/")

    def __repr__(self) -> str:
        return f"OutputLayout({self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputLayout) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __reduce__(self) -> tuple:  # DoFns carry layouts to workers
        return OutputLayout, (self.root,)

    def path(self, relative: str) -> str:
        """`<root>/<relative>`."""
        return f"{self.root}/{relative}"

    def relative(self, path: str) -> str:
        """A path under this root, relative to it."""
        return path[len(self.root) + 1:]

    # -- partitioned outputs: restricted, public, rejected ---------------------------------

    def kind(self, kind: str) -> str:
        """`<root>/<kind>`."""
        return f"{self.root}/{kind}"

    def month(self, kind: str, month: str) -> str:
        """`<root>/<kind>/month=<month>`."""
        return f"{self.root}/{kind}/{MONTH_PREFIX}{month}"

    def partition(self, kind: str, month: str, force: str | None) -> str:
        """`<root>/<kind>/month=<month>/force=<force>` (`unknown` when there is none)."""
        return self.path(partition_key(kind, month, force))

    def part(self, kind: str, month: str, force: str | None, name: str) -> str:
        """A part file of a partition."""
        return self.path(part_key(kind, month, force, name))

    # -- feedback ---------------------------------------------------------------------------

    def feedback(self) -> str:
        """`<root>/feedback`."""
        return f"{self.root}/{FEEDBACK_FOLDER}"

    def force_feedback(self, force: str) -> str:
        """`<root>/feedback/force=<force>`."""
        return f"{self.feedback()}/{FORCE_PREFIX}{force}"

    def feedback_index(self, force: str) -> str:
        """The force's `index.json`."""
        return f"{self.force_feedback(force)}/{FEEDBACK_INDEX}"

    def feedback_month(self, force: str, month: str) -> str:
        """`<root>/feedback/force=<force>/month=<month>`."""
        return f"{self.force_feedback(force)}/{MONTH_PREFIX}{month}"

    def feedback_file(self, force: str, month: str, name: str) -> str:
        """One of a force-month's `FEEDBACK_FILES`."""
        return f"{self.feedback_month(force, month)}/{name}"

    # -- runs -------------------------------------------------------------------------------

    def run(self, month: str) -> str:
        """`<root>/runs/<month>`."""
        return f"{self.root}/{RUNS_FOLDER}/{month}"

    def manifest(self, month: str) -> str:
        """The month's run manifest (under a generation's root: see `store.current`)."""
        return f"{self.run(month)}/{MANIFEST_FILE}"

    def pointer(self, month: str) -> str:
        """The month's pointer to the generation readers see: the commit point."""
        return f"{self.run(month)}/{POINTER_FILE}"

    def report(self, month: str) -> str:
        """The month's HTML report."""
        return f"{self.run(month)}/{REPORT_FILE}"

    def report_summary(self, month: str) -> str:
        """The month's report data as JSON."""
        return f"{self.run(month)}/{REPORT_SUMMARY_FILE}"

    def disclosure(self, month: str) -> str:
        """The month's disclosure report (per force: small cells, unique cells, k-effects)."""
        return f"{self.run(month)}/{DISCLOSURE_FILE}"

    def fingerprint(self, month: str) -> str:
        """What the month's last verified run was made from."""
        return f"{self.run(month)}/{FINGERPRINT_FILE}"

    # -- staging and commit -----------------------------------------------------------------

    def lock(self) -> str:
        """`<root>/_lock.json`: the lease of the run writing this output."""
        return f"{self.root}/{LOCK_FILE}"

    def staging_root(self) -> str:
        """`<root>/_staging`."""
        return f"{self.root}/{STAGING_FOLDER}"

    def staging(self, run_id: str) -> str:
        """The staging folder of one run."""
        return f"{self.staging_root()}/{run_id}"

    def staged(self, run_id: str) -> OutputLayout:
        """The layout of one run's staging folder (it mirrors the published tree)."""
        return OutputLayout(self.staging(run_id))

    def journal(self, run_id: str) -> str:
        """A run's commit journal."""
        return self.staged(run_id).commit_journal()

    def commit_journal(self) -> str:
        """The commit journal at this root (a staging folder, or the generation it became)."""
        return f"{self.root}/{JOURNAL_FILE}"

    def file_stats(self, run_id: str) -> str:
        """The per-file counts a run's pipeline leaves for the driver."""
        return f"{self.staging(run_id)}/{FILE_STATS_FILE}"

    def staged_disclosure(self, run_id: str) -> str:
        """The per-force disclosure counts a run's pipeline leaves for the driver."""
        return f"{self.staging(run_id)}/{DISCLOSURE_FILE}"

    def generations(self) -> str:
        """`<root>/generations`: committed months, one folder per committing run."""
        return f"{self.root}/{GENERATIONS_FOLDER}"

    def generation(self, run_id: str) -> str:
        """The generation a run commits its month as (it mirrors the published tree)."""
        return f"{self.generations()}/{run_id}"

    def trash_root(self) -> str:
        """`<root>/_trash`: left by versions before generations; removed by recovery."""
        return f"{self.root}/{TRASH_FOLDER}"

    def trash(self, name: str) -> str:
        """One commit's trash folder."""
        return f"{self.trash_root()}/{name}"

    # -- ledger and caches ------------------------------------------------------------------

    def ledger(self) -> str:
        """`<root>/_ledger`."""
        return f"{self.root}/{LEDGER_FOLDER}"

    def ledger_files(self) -> str:
        """Where the per-input-file ledger entries live."""
        return f"{self.ledger()}/files"

    def ledger_entry(self, key: str) -> str:
        """The ledger entry of input key `key` (checked: no empty, `.` or `..` parts)."""
        parts = key.split("/")
        if not key or any(not part or part in (".", "..") for part in parts):
            raise ValueError(f"not a ledger key: {key!r}")
        return f"{self.ledger_files()}/{key}.json"

    def ledger_close(self, month: str) -> str:
        """The record of a month's last close."""
        return f"{self.ledger()}/closed/{month}.json"

    def gazetteer_cache(self) -> str:
        """`<root>/_gazetteer`: gazetteers built from sources, one folder per sources key."""
        return f"{self.root}/{GAZETTEER_CACHE_FOLDER}"
