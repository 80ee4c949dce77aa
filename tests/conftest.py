"""Shared fixtures: the real data folder, a generated demo month, a Prefect test harness."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The in-process Beam runner, never a Prism download; quiet Prefect.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# gcsfs 2026.10 first probes a bucket's type over gRPC and waits 60 s before falling back;
# emulators speak only JSON over HTTP, so the tests switch that probe off (before any import).
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: The suite's public id key: every run the tests start publishes with it (through the
#: environment variable, as an operator may give it), and unit tests pass it explicitly
#: (`suite_public_id_key()`). Tests of a run without a key remove the variable themselves.
TEST_PUBLIC_ID_KEY_TEXT = "crimegeo-test-suite-public-id-key-0123456789abcdef"
os.environ["CRIMEGEO_PUBLIC_ID_KEY"] = TEST_PUBLIC_ID_KEY_TEXT


def suite_public_id_key():  # -> crimegeo.standards.public_ids.PublicIdKey
    """The suite's public id key, as the runs the tests start use it."""
    from crimegeo.standards.public_ids import PublicIdKey

    return PublicIdKey(TEST_PUBLIC_ID_KEY_TEXT.encode())


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run against Prefect's test harness: a throwaway server and database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.fixture(scope="session")
def demo_month(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated demo month (four forces, four formats) with its gazetteer built."""
    from crimegeo.flows.sample import generate_sample
    from crimegeo.gazetteer import build_gazetteer

    root = tmp_path_factory.mktemp("demo")
    summary = generate_sample(root, month="2024-03", rows=4000, seed=11)
    build_gazetteer([summary["gazetteer_source"]], str(root / "gazetteer"), format="csv")
    summary["root"] = root
    summary["gazetteer"] = str(root / "gazetteer")
    return summary


def run_month_args(args: list[str]):  # -> crimegeo.pipelines.monthly.MonthResult
    """Run a month from command-line style arguments (`--month M --input I --output O ...`,
    and `--run_id ID`), through the same settings parse as the pipeline's launcher."""
    from crimegeo.pipelines.monthly import run_month
    from crimegeo.pipelines.settings import settings_from_argv

    args, month, run_id = list(args), None, None
    for flag in ("--month", "--run_id"):
        if flag in args:
            at = args.index(flag)
            value = args[at + 1]
            del args[at:at + 2]
            month, run_id = (value, run_id) if flag == "--month" else (month, value)
    return run_month(settings_from_argv(args), month, run_id=run_id)


def default_locate_options():  # -> crimegeo.transforms.locate.LocateOptions
    """The locating step's thresholds at the settings model's defaults."""
    from crimegeo.pipelines.monthly import locate_options
    from crimegeo.pipelines.settings import Locating

    return locate_options(Locating())


def live(output: Path | str, month: str) -> Path:
    """The folder holding `month` as readers see it: the generation its pointer names."""
    from crimegeo.store.current import live_root

    return Path(live_root(str(output), month))


def read_live(output: Path | str, kind: str, month: str | None = None):  # -> pa.Table
    """Every live part of `kind` (of `month`, or of every month) with `month` and `force`."""
    from crimegeo.store.current import live_dataset

    return live_dataset(str(output), kind, month).to_table()


def live_parts(output: Path | str, month: str | None = None) -> dict[str, bytes]:
    """Every live Parquet part (of `month`, or of every month) by its path under its
    generation (`<kind>/month=.../force=.../part-...`), with its bytes: comparable between
    outputs whose generations have other run ids."""
    from crimegeo.store.current import live_files

    parts = {}
    for kind in ("restricted", "public", "rejected"):
        for path in live_files(str(output), kind, month):
            parts[kind + path.rsplit(f"/{kind}", 1)[1]] = Path(path).read_bytes()
    return parts
