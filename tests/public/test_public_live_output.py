"""The public site over an output as the pipeline commits it (generations and pointers):
it touches nothing but the public parts, and serves a newly committed or rerun month
without a restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from fsspec.implementations.local import LocalFileSystem

from crimegeo.public.app import create_app
from crimegeo.store.current import read_pointer
from tests.conftest import live, live_parts, run_month_args
from tests.public.conftest import public_month, within_mile

CITY = (51.515, -0.09)
#: What the public site must never touch, in the output root or in any generation.
PRIVATE_KINDS = ("restricted", "rejected", "feedback")


class PublicOnlyFileSystem(LocalFileSystem):
    """A local disk seen with credentials for everything but the private kinds, as a bucket
    holding the output would be by a public server given access to its public parts only:
    any look at restricted/, rejected/ or feedback/ (listing, stat, open) is refused."""

    protocol = ("publiconly",)
    touched: list[str] = []

    @classmethod
    def _strip_protocol(cls, path):  # noqa: ANN001, ANN206 - fsspec's signature
        path = fsspec.utils.stringify_path(path)
        if path.startswith("publiconly://"):
            path = path[len("publiconly://"):]
        return super()._strip_protocol(path)

    def _guard(self, path: str) -> None:
        if set(str(path).split("/")) & set(PRIVATE_KINDS):
            self.touched.append(str(path))
            raise PermissionError(f"the public server may not touch {path}")

    def ls(self, path, detail=False, **kwargs):  # noqa: ANN001, ANN201, D102
        self._guard(self._strip_protocol(path))
        return super().ls(path, detail=detail, **kwargs)

    def info(self, path, **kwargs):  # noqa: ANN001, ANN201, D102
        self._guard(self._strip_protocol(path))
        return super().info(path, **kwargs)

    def _open(self, path, mode="rb", **kwargs):  # noqa: ANN001, ANN202
        self._guard(self._strip_protocol(path))
        return super()._open(path, mode=mode, **kwargs)


fsspec.register_implementation("publiconly", PublicOnlyFileSystem, clobber=True)


def _answers(client: TestClient, location_id: int, persistent_id: str) -> dict:
    """Every kind of public answer, by URL."""
    urls = ["/api/forces", "/api/crimes-street-dates", "/api/crime-last-updated",
            f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}&date=2024-03",
            "/api/crimes-street/burglary?poly=51.510,-0.100:51.520,-0.100:51.520,-0.080"
            "&date=2024-04",
            f"/api/crimes-at-location?location_id={location_id}&date=2024-03",
            f"/api/crimes-at-location?lat={CITY[0]}&lng={CITY[1]}&date=2024-03",
            "/api/crimes-no-location?force=city-of-london&date=2024-04",
            f"/api/outcomes-for-crime/{persistent_id}",
            "/force/kent.json?date=2024-03", f"/street/{location_id}.csv?date=2024-03"]
    answers = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        answers[url] = response.text
    return answers


def test_the_site_touches_nothing_but_public_parts(published: dict) -> None:
    output = published["output"]
    march = pq.read_table(live(output, "2024-03") / "public" / "month=2024-03")
    located = march.filter(march["location_id"].is_valid())
    location_id, persistent_id = (located["location_id"][0].as_py(),
                                  located["persistent_id"][0].as_py())
    assert read_pointer(str(output), "2024-03"), "the fixture commits months by pointer"
    plain = _answers(TestClient(create_app(str(output), rate_per_second=1e4, burst=1e4)),
                     location_id, persistent_id)
    PublicOnlyFileSystem.touched.clear()
    guarded = create_app(f"publiconly://{output}", rate_per_second=1e4, burst=1e4)
    assert _answers(TestClient(guarded), location_id, persistent_id) == plain
    assert PublicOnlyFileSystem.touched == []


def test_a_committed_and_a_rerun_month_are_served_without_restart(
        demo_month: dict, published: dict, tmp_path: Path) -> None:
    output = tmp_path / "out"
    run_month_args(["--month", "2024-03", "--input", str(demo_month["root"] / "input"),
                    "--output", str(output), "--gazetteer", demo_month["gazetteer"]])
    client = TestClient(create_app(str(output), refresh_seconds=0.2, rate_per_second=1e4,
                                   burst=1e4))
    assert [d["date"] for d in client.get("/api/crimes-street-dates").json()] == ["2024-03"]
    point = f"/api/crimes-street/all-crime?lat={CITY[0]}&lng={CITY[1]}"
    march = client.get(point + "&date=2024-03").json()
    assert march

    # A new month committed (generation, then pointer) while the site runs.
    run_month_args(["--month", "2024-04", "--input", str(published["inputs"]["2024-04"]),
                    "--output",
                    str(output), "--gazetteer", demo_month["gazetteer"]])
    time.sleep(0.3)
    assert [d["date"] for d in client.get("/api/crimes-street-dates").json()] == [
        "2024-04", "2024-03"]
    assert {c["month"] for c in client.get(point).json()} == {"2024-04"}

    # March rerun twice from fewer files: the pointer moves, the first generation it named is
    # deleted by the second commit, and the site follows each time with no error.
    fewer = tmp_path / "march-fewer"
    shutil.copytree(demo_month["root"] / "input", fewer)
    next(fewer.rglob("*city-of-london-street.csv")).unlink()  # the City is around CITY
    first = read_pointer(str(output), "2024-03")["generation"]
    reruns = []
    for _ in range(2):
        run_month_args(["--month", "2024-03", "--input", str(fewer), "--output", str(output),
                        "--gazetteer", demo_month["gazetteer"], "--allow-shrink"])
        time.sleep(0.3)
        assert read_pointer(str(output), "2024-03")["generation"] != first
        served = client.get(point + "&date=2024-03").json()
        expected = within_mile(public_month(output, "2024-03"), *CITY)
        assert "city-of-london" not in set(expected["force"])
        assert len(served) == len(expected) < len(march)
        assert sorted(c["persistent_id"] for c in served) == sorted(expected["persistent_id"])
        reruns.append(({path: data for path, data in live_parts(output, "2024-03").items()
                        if path.startswith("public/")}, served))
    assert not (output / first).exists()  # deleted by the second rerun's commit
    # The same input and key rerun into the same output: byte-identical public parts, and the
    # same answers (ids included) from the site.
    assert reruns[0][0] and reruns[0] == reruns[1]
    assert client.get(point + "&date=2024-03").status_code == 200
