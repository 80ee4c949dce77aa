"""A published output of two demo months (2024-03, 2024-04) for the public site's tests."""

from __future__ import annotations

import math
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import SHARED_DATA, live, run_month_args

#: police.uk's radius for `crimes-street` by point.
ONE_MILE_M = 1609.344
LSOA_LAYER = SHARED_DATA / "boundaries" / "london-lsoa-2021" / "london_lsoa.shp"


@pytest.fixture(scope="session")
def published(demo_month: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two months run through the pipeline; `areas` is the real LSOA layer when present."""
    from crimegeo.flows.sample import generate_sample

    output = tmp_path_factory.mktemp("public-output")
    april = tmp_path_factory.mktemp("april")
    # Same seed: the same streets (so the same gazetteer), another month of records.
    generate_sample(april, month="2024-04", rows=4000, seed=11)
    # Rows police.uk itself publishes without a location ("No Location", no coordinates),
    # so April has records the crimes-no-location endpoint must find.
    city = next((april / "input").rglob("*city-of-london-street.csv"))
    with city.open("a", encoding="utf-8") as handle:
        for n in range(3):
            handle.write(f"{n + 0xabc:064x},2024-04,City of London Police,City of London Police,,,"
                         "No Location,,,Theft from the person,Under investigation,\n")
    areas = [str(LSOA_LAYER)] if LSOA_LAYER.exists() else []
    area_args = [arg for layer in areas for arg in ("--areas", layer)]
    for month, root in (("2024-03", demo_month["root"]), ("2024-04", april)):
        run_month_args(["--month", month, "--input", str(root / "input"), "--output",
                        str(output), "--gazetteer", demo_month["gazetteer"], *area_args])
    return {"output": output, "gazetteer": demo_month["gazetteer"], "areas": areas,
            "inputs": {"2024-03": demo_month["root"] / "input", "2024-04": april / "input"}}


def public_month(output: Path, month: str) -> pd.DataFrame:
    """One month of the public dataset as published (its live generation), with `month` and
    `force` as plain columns."""
    table = pq.read_table(live(output, month) / "public" / f"month={month}").to_pandas()
    return table.assign(month=month, force=table["force"].astype(str))


def within_mile(rows: pd.DataFrame, lat: float, lng: float) -> pd.DataFrame:
    """The located rows whose public point lies within one mile of (lat, lng), by haversine:
    what police.uk's `crimes-street` by point answers."""
    rows = rows[rows["location_id"].notna()]
    plat, plon = np.radians(rows["public_lat"]), np.radians(rows["public_lon"])
    a = (np.sin((plat - math.radians(lat)) / 2) ** 2 + math.cos(math.radians(lat))
         * np.cos(plat) * np.sin((plon - math.radians(lng)) / 2) ** 2)
    return rows[2 * 6371008.8 * np.arcsin(np.sqrt(a)) <= ONE_MILE_M]


@pytest.fixture(scope="session")
def public_only(published: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the output's live public months, in place (no pointers), and nothing else
    (no restricted, rejected, feedback)."""
    root = tmp_path_factory.mktemp("public-only")
    for month in ("2024-03", "2024-04"):
        shutil.copytree(live(published["output"], month) / "public" / f"month={month}",
                        root / "public" / f"month={month}")
    return root


@pytest.fixture(scope="session")
def site_url(published: dict) -> Iterator[str]:
    """The site over `published`, served by uvicorn on a free loopback port."""
    import uvicorn

    from crimegeo.public.app import create_app

    app = create_app(str(published["output"]), gazetteer=published["gazetteer"],
                     areas=published["areas"], rate_per_second=1000, burst=1000)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the site did not start within 20 s"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
