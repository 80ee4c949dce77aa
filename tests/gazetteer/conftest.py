"""Fixtures for the gazetteer tests: the shared real data, and small generated gazetteers."""

from __future__ import annotations

import pytest
from gazetteer_testdata import COL_DIR, OS_DIR, small_gazetteer

from crimegeo.gazetteer import Gazetteer, build_gazetteer


@pytest.fixture(scope="session")
def small_gaz(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    """A gazetteer built from the small generated CSV."""
    return small_gazetteer(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="session")
def os_gaz(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    """A gazetteer built from the real OS Open Names tiles."""
    if not (OS_DIR / "TR00.csv").exists():
        pytest.skip(f"real OS Open Names tiles not found in {OS_DIR}")
    d = tmp_path_factory.mktemp("os")
    build_gazetteer([str(OS_DIR)], str(d / "gaz"))
    return Gazetteer.load(str(d / "gaz"))


@pytest.fixture(scope="session")
def col_files() -> list[str]:
    """The real police.uk City of London monthly files."""
    files = sorted(str(p) for p in COL_DIR.glob("*-city-of-london-street.csv"))
    if not files:
        pytest.skip(f"real police.uk City of London files not found in {COL_DIR}")
    return files


@pytest.fixture(scope="session")
def col_gaz(tmp_path_factory: pytest.TempPathFactory, col_files: list[str]) -> Gazetteer:
    """A gazetteer built from 2017-12..2019-06 of the City of London police.uk files."""
    d = tmp_path_factory.mktemp("col")
    build_gazetteer(col_files[:19], str(d / "gaz"))
    return Gazetteer.load(str(d / "gaz"))
