"""The public dataset could be defended to the ICO: no force reference, no unvetted free text,
every public column of an allowed kind, byte-identical reruns under one key, police.uk's ids
kept, and a disclosure report (with a refusal over the operator's threshold) every run."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from crimegeo.gazetteer import Gazetteer
from crimegeo.standards.categories import CRIME_CATEGORIES
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.outcomes import OUTCOME_CATEGORIES
from crimegeo.standards.profiles import FORCE_REFERENCE, load_profiles
from crimegeo.standards.public_ids import PublicIdKey, PublicIdKeyError, keyed_ids
from crimegeo.standards.schema import LOCATION_STATUSES
from crimegeo.store.layout import OutputLayout
from tests.conftest import (
    TEST_PUBLIC_ID_KEY_TEXT,
    live,
    live_parts,
    read_live,
    run_month_args,
    shared_data,
)

MONTH = "2024-03"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
GSS = re.compile(r"^[EWSN][0-9]{8}$")

#: Every column the public dataset may have, and its kind. A new public column fails
#: `test_every_public_column_is_of_an_allowed_kind` until it is given one here.
PUBLIC_COLUMN_KINDS = {
    "persistent_id": "keyed id", "month": "controlled vocabulary",
    "force": "controlled vocabulary", "crime_type": "controlled vocabulary",
    "outcome": "controlled vocabulary", "location_status": "controlled vocabulary",
    "context": "declared publishable", "lsoa_code": "statistical area code",
    "lsoa_name": "statistical area code", "public_label": "map point label",
    "public_lon": "map point", "public_lat": "map point", "geometry": "map point",
    "bbox": "map point", "location_id": "map point id",
}


def _run(demo_month: dict, output: Path, *extra: str):
    return run_month_args(["--month", MONTH, "--input", str(demo_month["input"]),
                           "--output", str(output), "--gazetteer", demo_month["gazetteer"],
                           *extra])


@pytest.fixture(scope="module")
def published(demo_month: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo month (every built-in profile) run once with the suite's key."""
    output = tmp_path_factory.mktemp("public") / "out"
    result = _run(demo_month, output)
    profiles = {p.name: p for p in load_profiles()}
    return {"output": output, "manifest": result.manifest, "profiles": profiles,
            "restricted": read_live(output, "restricted"),
            "public": read_live(output, "public")}


def _public_files(output: Path) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in live_parts(output).items()
            if path.startswith("public/")}


def test_the_demo_month_covers_every_profile(published: dict) -> None:
    used = {f["profile"] for f in published["manifest"]["files"].values()}
    assert used == set(published["profiles"]), "the must-hold tests below need every profile"


def test_no_public_value_is_a_force_reference_or_unvetted_free_text(published: dict) -> None:
    restricted, public = published["restricted"], published["public"]
    by_file = {name: published["profiles"][f["profile"]]
               for name, f in published["manifest"]["files"].items()}
    references, unvetted = set(), set()
    for row in restricted.select(["crime_id", "source_file", "outcome", "context",
                                  "area_name", "street_name"]).to_pylist():
        profile = by_file[row["source_file"]]
        if profile.id_kind == FORCE_REFERENCE:
            references.add(row["crime_id"])
        if row["outcome"] is not None and row["outcome"] not in OUTCOME_CATEGORIES:
            unvetted.add(row["outcome"])
        if row["context"] is not None and "context" not in profile.publishable:
            unvetted.add(row["context"])
        unvetted.update(v for v in (row["area_name"], row["street_name"]) if v)
    assert any(ref.startswith("KT/") for ref in references)  # Kent's references are there
    assert any(text.startswith("Words of advice") for text in unvetted)  # and its free text
    public_values = set()
    for name in public.column_names:
        if pa.types.is_string(public.schema.field(name).type):
            public_values.update(v for v in public[name].to_pylist() if v is not None)
    assert not public_values & references
    assert not public_values & unvetted
    # Nor does a reference hide inside a value (a label, a code).
    assert not any(ref in value for value in public_values for ref in references
                   if len(ref) > 6)


def test_every_public_column_is_of_an_allowed_kind(published: dict,
                                                   demo_month: dict) -> None:
    public, restricted = published["public"], published["restricted"]
    assert set(public.column_names) <= set(PUBLIC_COLUMN_KINDS)
    key = PublicIdKey(TEST_PUBLIC_ID_KEY_TEXT.encode())
    by_file = {name: published["profiles"][f["profile"]]
               for name, f in published["manifest"]["files"].items()}
    # Keyed ids: police.uk's own ids pass, every other id is the HMAC of (force, reference).
    expected_ids: Counter = Counter()
    for force, ref, source in zip(*(restricted[c].to_pylist() for c in (
            "force", "crime_id", "source_file")), strict=True):
        kind = by_file[source].id_kind
        expected_ids[ref if kind != FORCE_REFERENCE and HEX64.match(ref) else
                     keyed_ids(key, pa.array([force]), pa.array([ref]))[0].as_py()] += 1
    assert Counter(public["persistent_id"].to_pylist()) == expected_ids
    assert all(HEX64.match(value) for value in public["persistent_id"].to_pylist())
    # Controlled vocabularies.
    assert set(public["crime_type"].to_pylist()) <= set(CRIME_CATEGORIES)
    assert set(public["outcome"].to_pylist()) - {None} <= set(OUTCOME_CATEGORIES)
    assert set(public["location_status"].to_pylist()) <= set(LOCATION_STATUSES)
    assert set(public["month"].to_pylist()) == {MONTH}
    # Context only from profiles that declare it publishable.
    publishable_forces = {f for f, s in zip(restricted["force"].to_pylist(),
                                            restricted["source_file"].to_pylist(), strict=True)
                          if "context" in by_file[s].publishable}
    with_context = set(public.filter(pc.is_valid(public["context"]))["force"].to_pylist())
    assert with_context <= publishable_forces
    # Statistical area codes only.
    assert all(GSS.match(code) for code in public["lsoa_code"].to_pylist() if code)
    # Every public point is a map point of the force's gazetteer, with that point's label.
    gazetteer = Gazetteer.load(demo_month["gazetteer"])
    located = public.filter(pc.is_valid(public["public_lon"]))
    distinct = {(f, lon, lat, label) for f, lon, lat, label in zip(*(
        located[c].to_pylist() for c in ("force", "public_lon", "public_lat",
                                         "public_label")), strict=True)}
    for force, lon, lat, label in distinct:
        x, y = to_bng(np.array([lon]), np.array([lat]))
        found = gazetteer.nearest_public_points(x, y, force=force, max_distance_m=1.0)
        assert found["index"][0] >= 0 and label == f"On or near {found['name'][0]}"


def test_unpublishable_outcomes_are_withheld_with_their_reason(published: dict) -> None:
    restricted = published["restricted"]
    kent = restricted.filter(pc.equal(restricted["force"], "kent"))
    for row in kent.select(["outcome", "reasons"]).to_pylist():
        withheld = row["outcome"] is not None and row["outcome"] not in OUTCOME_CATEGORIES
        assert ("OUTCOME_NOT_PUBLISHED" in row["reasons"]) == withheld, row
    feedback = live(published["output"], MONTH) / "feedback" / "force=kent" / f"month={MONTH}"
    summary = json.loads((feedback / "summary.json").read_text())
    assert "OUTCOME_NOT_PUBLISHED" in json.dumps(summary)


def test_reruns_are_byte_identical_and_another_key_gives_other_ids(
        published: dict, demo_month: dict, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    again = tmp_path / "again"
    _run(demo_month, again)
    first = _public_files(published["output"])
    assert first and _public_files(again) == first
    monkeypatch.setenv("CRIMEGEO_PUBLIC_ID_KEY", "another-operator-" + "k" * 40)
    other = tmp_path / "other"
    _run(demo_month, other)
    theirs = read_live(other, "public")
    ours = published["public"]
    kent_ours = set(ours.filter(pc.equal(ours["force"], "kent"))["persistent_id"].to_pylist())
    kent_theirs = set(theirs.filter(pc.equal(theirs["force"], "kent"))["persistent_id"]
                      .to_pylist())
    assert len(kent_theirs) == len(kent_ours) and not kent_theirs & kent_ours
    # police.uk's own ids do not depend on the key (its rows without an id do).
    restricted = published["restricted"]
    supplied = Counter(filter(HEX64.match, restricted.filter(pc.equal(
        restricted["force"], "merseyside"))["crime_id"].to_pylist()))
    assert supplied
    for table in (ours, theirs):
        mersey = table.filter(pc.equal(table["force"], "merseyside"))["persistent_id"]
        assert Counter(v for v in mersey.to_pylist() if v in supplied) == supplied


def test_the_key_never_reaches_the_manifest_fingerprint_logs_or_output(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> None:
    from typer.testing import CliRunner

    from crimegeo.flows.cli import app
    from crimegeo.standards.public_ids import write_new_key

    monkeypatch.delenv("CRIMEGEO_PUBLIC_ID_KEY")
    key_file = tmp_path / "keys" / "public-id.key"
    key = write_new_key(key_file)
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    output = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "pipeline", "--month", MONTH, "--input", str(demo_month["input"]),
        "--output", str(output), "--gazetteer", demo_month["gazetteer"],
        "--public-id-key-file", str(key_file), "--json"], terminal_width=200)
    assert result.exit_code == 0, result.output
    secret = key.secret.decode()
    manifest = json.loads((live(output, MONTH) / "runs" / MONTH / "manifest.json").read_text())
    assert manifest["options"]["public_id_key_id"] == key.key_id
    assert "public_id_key_file" not in manifest["options"]
    seen = result.output + capfd.readouterr().out + caplog.text
    assert secret not in seen and str(key_file) not in json.dumps(manifest)
    for path in output.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and key.secret not in data, path
    from crimegeo.pipelines.settings import Anonymising, Inputs, RunSettings, fingerprint_fields

    settings = RunSettings(inputs=Inputs(input="x"), output="y",
                           anonymising=Anonymising(public_id_key_file=str(key_file)))
    fields = {name: value for name, value, _ in fingerprint_fields(settings)}
    assert fields["public_id_key_id"] == key.key_id and secret not in repr(fields)
    assert secret not in repr(settings.anonymising.public_id_key())


def test_without_a_key_force_references_are_refused_before_anything_runs(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from crimegeo.flows import server
    from crimegeo.flows.cli import app

    monkeypatch.delenv("CRIMEGEO_PUBLIC_ID_KEY")

    def started() -> None:
        raise AssertionError("Prefect's server started before the key was checked")

    monkeypatch.setattr(server, "start_temporary_server", started)
    output = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "run", "--month", MONTH, "--input", str(demo_month["input"]), "--output",
        str(output)], terminal_width=400)
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("error: month 2024-03: ")
    assert "kent_crime_export_2024-03.csv" in line and "crimegeo public-id-key FILE" in line
    assert "CRIMEGEO_PUBLIC_ID_KEY" in line
    with pytest.raises(PublicIdKeyError, match="force references"):
        _run(demo_month, output)
    assert not (output / "public").exists() and not (output / "runs").exists()


def test_a_force_over_the_threshold_has_its_public_month_withheld_and_nothing_is_lost(
        published: dict, demo_month: dict, tmp_path: Path) -> None:
    from crimegeo.flows.monthly import verify_outputs
    from crimegeo.flows.report import run_warnings

    report = json.loads((live(published["output"], MONTH) / "runs" / MONTH / "disclosure.json")
                        .read_text())
    shares = {force: entry["unique_share"] for force, entry in report["forces"].items()}
    limit = float(np.median(list(shares.values())))
    over = sorted(force for force, share in shares.items() if share > limit)
    assert over and len(over) < len(shares)
    output = tmp_path / "out"
    # A published month first: withholding must also remove what was public before.
    _run(demo_month, output)
    result = _run(demo_month, output, "--max-unique-share", str(limit))
    manifest = result.manifest
    assert sorted(manifest["public_withheld"]) == over
    assert all("above --max-unique-share" in why for why in manifest["public_withheld"].values())
    public_forces = {p.name for p in (live(output, MONTH) / "public" / f"month={MONTH}").iterdir()}
    assert public_forces == {f"force={force}" for force in shares if force not in over}
    restricted = read_live(output, "restricted")
    assert restricted.num_rows == published["restricted"].num_rows  # nothing lost
    for force in over:
        assert (live(output, MONTH) / "feedback" / f"force={force}" / f"month={MONTH}"
                / "corrections.csv").exists()
    verify_outputs.fn(str(output), MONTH)
    warnings = run_warnings(manifest)
    assert any(f"public month of {over[0]} was withheld" in w for w in warnings)
    written = json.loads(Path(OutputLayout(str(live(output, MONTH))).disclosure(MONTH)).read_text())
    assert {f for f, e in written["forces"].items() if e["status"] == "withheld"} == set(over)


def test_police_uk_inputs_keep_their_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    source = shared_data("police-uk", "city-of-london", "2019-06-city-of-london-street.csv")
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / source.name).write_bytes(source.read_bytes())
    with source.open(encoding="utf-8-sig") as handle:
        supplied = [row["Crime ID"] for row in csv.DictReader(handle)]
    with_id = Counter(value for value in supplied if value)
    assert sum(1 for value in supplied if not value)  # anti-social behaviour rows: no id

    def public_ids(output: Path) -> list[str | None]:
        run_month_args(["--month", "2019-06", "--input", str(folder), "--output", str(output)])
        return read_live(output, "public")["persistent_id"].to_pylist()

    keyed = public_ids(tmp_path / "keyed")
    assert len(keyed) == len(supplied)
    assert Counter(v for v in keyed if v in with_id) == with_id
    generated = [v for v in keyed if v not in with_id]
    assert len(generated) == len(supplied) - sum(with_id.values())
    assert all(HEX64.match(v) for v in generated) and len(set(generated)) == len(generated)
    # No key is needed for police.uk's own files: their ids pass, rows without one stay
    # without one, as police.uk publishes them.
    monkeypatch.delenv("CRIMEGEO_PUBLIC_ID_KEY")
    unkeyed = public_ids(tmp_path / "unkeyed")
    assert Counter(v for v in unkeyed if v is not None) == with_id


def test_the_anonymisation_doc_is_linked_and_names_what_the_code_uses() -> None:
    from crimegeo.standards.public_ids import KEY_ENVIRONMENT_VARIABLE
    from crimegeo.transforms.disclosure import K_VALUES, WARN_UNIQUE_SHARE

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "anonymisation.md").read_text()
    assert "(docs/anonymisation.md)" in (root / "README.md").read_text()
    assert "(anonymisation.md)" in (root / "docs" / "architecture.md").read_text()
    for text in (KEY_ENVIRONMENT_VARIABLE, "--public-id-key-file", "crimegeo public-id-key",
                 "--max-unique-share", "--min-public-count", "Rotating the key",
                 f"{WARN_UNIQUE_SHARE:.0%}", ", ".join(map(str, K_VALUES[:-1]))):
        assert text in doc, text
    for column in PUBLIC_COLUMN_KINDS:
        if column != "bbox":
            assert f"`{column}`" in doc, column


def test_streaming_without_a_key_refuses_force_references_file_by_file(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crimegeo.pipelines.settings import Inputs, RunSettings
    from crimegeo.pipelines.streaming import ingest_files
    from crimegeo.transforms.notifications import list_arrivals

    monkeypatch.delenv("CRIMEGEO_PUBLIC_ID_KEY")
    folder = tmp_path / "input" / MONTH
    folder.mkdir(parents=True)
    for name in ("kent_crime_export_2024-03.csv", "2024-03-city-of-london-street.csv"):
        (folder / name).write_bytes((Path(demo_month["input"]) / name).read_bytes())
    output = tmp_path / "out"
    settings = RunSettings(inputs=Inputs(input=str(tmp_path / "input")), output=str(output))
    entries = ingest_files(settings, list_arrivals(str(tmp_path / "input"))[0])
    by_name = {key.rsplit("/", 1)[-1]: entry for key, entry in entries.items()}
    kent = by_name["kent_crime_export_2024-03.csv"]
    assert kent["status"] == "failed" and "PublicIdKeyError" in kent["why"]
    assert "crimegeo public-id-key FILE" in kent["why"]
    assert by_name["2024-03-city-of-london-street.csv"]["status"] == "processed"
    assert not (live(output, MONTH) / "public" / f"month={MONTH}" / "force=kent").exists()
