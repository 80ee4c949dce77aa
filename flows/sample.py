"""Generate a deterministic, realistic demo month and the small gazetteer it needs.

The month holds several forces' exports, each in the format a real force produces (the
police.uk CSV, a BNG records export in Windows-1252, a JSON Lines export, a re-exported
snake_case CSV), with the defects real exports have: missing coordinates with street text,
swapped axes, easting/northing in longitude/latitude columns, points outside the force,
abbreviations, casing and typos in street names, zero coordinates and malformed rows. A truth
file records, for every row, the defect injected and the true location, so tests can check
what the pipeline made of it.

`generate_real_shaped` makes the other benchmark month: real police.uk rows moved into every
force's area, with each force's own copy of the real map points as its gazetteer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crimegeo.standards.categories import CRIME_CATEGORIES
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.registry import load_registry

#: The demo's forces, each in one of the four built-in formats.
DEMO_FORCES: dict[str, str] = {
    "city-of-london": "police-uk-street",
    "kent": "kent-bng-export",
    "west-midlands": "west-midlands-jsonl",
    "merseyside": "police-uk-reexport-snake",
}

_STEMS = (
    "Church", "Mill", "Station", "Victoria", "King", "Queen", "Park", "High", "London",
    "Manor", "Albert", "Grange", "Chapel", "School", "Green", "Springfield", "Windsor",
    "Orchard", "Meadow", "Willow", "Oak", "Elm", "Beech", "Cedar", "Holly", "Hawthorn",
    "St Mary's", "St John's", "St Peter's", "Alderman's", "Bishop's", "Castle", "Bridge",
    "Market", "Abbey", "Priory", "Cromwell", "Nelson", "Wellington", "Trinity", "Lime",
    "Ash", "Rose", "Heath", "Forest", "Brook", "River", "Canal", "Railway", "Cemetery",
    "Newton", "Harrow", "Moor", "Hill", "Vale", "Crown", "Fountain", "Bell", "Swan",
)
_SUFFIXES = (
    ("Road", "Rd"), ("Street", "St"), ("Lane", "Ln"), ("Avenue", "Ave"), ("Close", "Cl"),
    ("Drive", "Dr"), ("Gardens", "Gdns"), ("Crescent", "Cres"), ("Place", "Pl"),
    ("Square", "Sq"), ("Court", "Ct"), ("Terrace", "Ter"), ("Way", "Way"), ("Walk", "Walk"),
    ("Grove", "Gr"), ("Row", "Row"), ("Mews", "Mews"),
)
_AREAS = (
    "Northfield", "Eastbrook", "Westgate", "Southwood", "Kingsley", "Ashdown", "Fairfield",
    "Hillcrest", "Oakwood", "Riverside", "Brookside", "Marsh End",
)
_KENT_LABELS = {
    "Vehicle crime": "THEFT FROM M/V", "Criminal damage and arson": "CRIM DAMAGE",
    "Burglary": "BURGLARY - RESIDENTIAL", "Violence and sexual offences": "ASSAULT W/INJURY",
    "Shoplifting": "SHOP THEFT", "Bicycle theft": "PEDAL CYCLE THEFT", "Drugs": "POSS DRUGS",
    "Public order": "S5 PUBLIC ORDER", "Robbery": "ROBBERY - PERSONAL",
    "Other theft": "THEFT - OTHER", "Anti-social behaviour": "ASB - PERSONAL",
    "Possession of weapons": "POSS OFFENSIVE WEAPON", "Theft from the person":
    "THEFT FROM PERSON", "Other crime": "Fraud",
}
_WM_LABELS = {
    "Vehicle crime": "Theft From Vehicle", "Criminal damage and arson": "Damage",
    "Burglary": "Burglary Home", "Violence and sexual offences": "Assault (Injury)",
    "Shoplifting": "Shop Theft", "Bicycle theft": "Cycle Theft", "Drugs": "Drugs Possession",
    "Public order": "Disorder", "Robbery": "Street Robbery", "Other theft": "General Theft",
    "Anti-social behaviour": "Nuisance", "Possession of weapons": "Knife Possession",
    "Theft from the person": "Pickpocketing", "Other crime": "Fraud / Other",
}
_OUTCOMES = (
    "Investigation complete; no suspect identified", "Unable to prosecute suspect",
    "Under investigation", "Awaiting court outcome", "Local resolution",
    "Offender given a caution", None,
)
_CATEGORY_WEIGHTS = np.array([30, 2, 6, 8, 3, 2, 6, 1, 7, 1, 6, 2, 7, 19], dtype=float)

#: Defects and the share of rows that carry each.
DEFECT_RATES: dict[str, float] = {
    "missing_street": 0.04,     # no coordinates, street text to locate from
    "missing_area": 0.01,       # no coordinates, only an area (formats with an area column)
    "abbreviated": 0.01,        # no coordinates, street written "Church Rd"
    "typo": 0.01,               # no coordinates, street misspelt
    "swapped": 0.01,            # latitude and longitude swapped
    "crs_mixup": 0.01,          # BNG in lon/lat columns, or lon/lat in BNG columns
    "outside_force": 0.01,      # a point in another force's area
    "far_from_street": 0.01,    # a point in the force, but far from the street named
    "zero": 0.005,              # 0,0
    "malformed": 0.005,         # wrong number of fields / broken JSON
    "bad_month": 0.002,         # unreadable date
    "unknown_offence": 0.002,   # an offence label no mapping knows
}


@dataclass(frozen=True)
class Street:
    """A street of the synthetic gazetteer."""

    gid: str
    name: str
    abbreviated: str
    force: str
    lon: float
    lat: float
    area: str


_QUALIFIERS = ("", "Upper", "Lower", "North", "South", "East", "West", "New", "Old", "Little")


def _streets_for(force: str, count: int, rng: np.random.Generator) -> list[Street]:
    registry = load_registry()
    min_lon, min_lat, max_lon, max_lat = registry.get(force).extent_wgs84
    centre_lon, centre_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    half_w, half_h = (max_lon - min_lon) * 0.25, (max_lat - min_lat) * 0.25
    combos = len(_STEMS) * len(_SUFFIXES)
    picks = rng.permutation(combos * len(_QUALIFIERS))[:count]
    # Plain names first (qualifier "" is index 0), as real towns have more of them.
    picks = np.sort(picks) if count <= combos else picks
    lons = centre_lon + rng.uniform(-half_w, half_w, len(picks))
    lats = centre_lat + rng.uniform(-half_h, half_h, len(picks))
    streets = []
    for i, (pick, lon, lat) in enumerate(zip(picks, lons, lats, strict=True)):
        qualifier = _QUALIFIERS[int(pick) // combos]
        stem = _STEMS[(int(pick) % combos) // len(_SUFFIXES)]
        suffix, short = _SUFFIXES[int(pick) % len(_SUFFIXES)]
        name = " ".join(part for part in (qualifier, stem, suffix) if part)
        abbreviated = " ".join(part for part in (qualifier, stem, short) if part)
        area = _AREAS[int((lon - centre_lon + half_w) / (2 * half_w) * 3.999) * 3
                      + int((lat - centre_lat + half_h) / (2 * half_h) * 2.999)]
        streets.append(Street(f"sample:{force}:street:{i:05d}", name, abbreviated, force,
                              round(float(lon), 6), round(float(lat), 6), area))
    return streets


def national_forces() -> dict[str, str]:
    """All 44 forces: the demo four in their own formats, the rest as police.uk CSV."""
    return {code: DEMO_FORCES.get(code, "police-uk-street") for code in load_registry().codes}


#: Share of a national month each force supplies (the Metropolitan Police about 19%).
def force_weights(forces: Sequence[str]) -> np.ndarray:
    """Row shares per force: the Metropolitan Police a fifth, the rest equal."""
    weights = np.array([10.0 if code == "metropolitan" else 1.0 for code in forces])
    if "metropolitan" in forces and len(forces) > 10:
        weights[list(forces).index("metropolitan")] = 0.19 / 0.81 * (len(forces) - 1)
    return weights / weights.sum()


def _area_points(force: str) -> dict[str, tuple[float, float]]:
    min_lon, min_lat, max_lon, max_lat = load_registry().get(force).extent_wgs84
    centre_lon, centre_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    half_w, half_h = (max_lon - min_lon) * 0.25, (max_lat - min_lat) * 0.25
    points = {}
    for index, area in enumerate(_AREAS):
        col, row = divmod(index, 3)
        points[area] = (round(centre_lon - half_w + (col + 0.5) * half_w / 2, 6),
                        round(centre_lat - half_h + (row + 0.5) * 2 * half_h / 3, 6))
    return points


def _typo(name: str, rng: np.random.Generator) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    i = letters[rng.integers(len(letters) - 1)]
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def _messy_case(name: str, rng: np.random.Generator) -> str:
    return name.upper() if rng.random() < 0.5 else name.lower()


def generate_sample(out: str | Path, *, month: str = "2024-03", rows: int = 6000,
                    seed: int = 7, forces: dict[str, str] | None = None,
                    streets_per_force: int = 240) -> dict:
    """Write `input/<month>/` force files, `gazetteer-source/streets.csv` and `truth.csv`.

    Returns a summary: files written with their row counts, and the defect counts.
    """
    out = Path(out)
    forces = forces or DEMO_FORCES
    rng = np.random.default_rng(seed)
    input_dir = out / "input" / month
    input_dir.mkdir(parents=True, exist_ok=True)
    (out / "gazetteer-source").mkdir(parents=True, exist_ok=True)
    streets = {code: _streets_for(code, streets_per_force, rng) for code in forces}
    areas = {code: _area_points(code) for code in forces}
    _write_gazetteer_source(out / "gazetteer-source" / "streets.csv", streets, areas)

    truth: list[dict] = []
    files = {}
    share = force_weights(list(forces))
    counts = np.floor(share * rows).astype(int)
    counts[0] += rows - counts.sum()
    year, mon = month.split("-")
    for (code, profile), count in zip(forces.items(), counts, strict=True):
        generated = _force_rows(code, profile, int(count), streets[code], areas[code],
                                streets, rng, month)
        name, data = _render(code, profile, generated, month, year, mon, rng)
        (input_dir / name).write_bytes(data)
        files[name] = {"force": code, "profile": profile, "rows": int(count)}
        for row_number, row in enumerate(generated, start=1):
            truth.append({"source_file": name, "source_row": row_number, "force": code,
                          "defect": row["defect"], "street": row["street"],
                          "area": row["area"], "true_lon": row["true_lon"],
                          "true_lat": row["true_lat"], "gazetteer_id": row["gid"]})
    with open(out / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(truth[0]))
        writer.writeheader()
        writer.writerows(truth)
    defects: dict[str, int] = {}
    for row in truth:
        defects[row["defect"]] = defects.get(row["defect"], 0) + 1
    return {"month": month, "input": str(input_dir), "files": files, "defects": defects,
            "gazetteer_source": str(out / "gazetteer-source" / "streets.csv"),
            "truth": str(out / "truth.csv")}


def _write_gazetteer_source(path: Path, streets: dict[str, list[Street]],
                            areas: dict[str, dict[str, tuple[float, float]]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "local_type", "lon", "lat", "populated_place",
                         "district", "county", "force"])
        for code, force_streets in streets.items():
            for street in force_streets:
                writer.writerow([street.gid, street.name, "Named Road", street.lon,
                                 street.lat, street.area, "", "", code])
            for index, (area, (lon, lat)) in enumerate(areas[code].items()):
                writer.writerow([f"sample:{code}:area:{index:02d}", area, "Suburban Area",
                                 lon, lat, area, "", "", code])


def _force_rows(code: str, profile: str, count: int, streets: Sequence[Street],
                areas: dict[str, tuple[float, float]], all_streets: dict[str, list[Street]],
                rng: np.random.Generator, month: str) -> list[dict]:
    has_area_column = profile in ("kent-bng-export", "west-midlands-jsonl")
    bng_format = profile == "kent-bng-export"
    other_forces = [c for c in all_streets if c != code]
    rates = dict(DEFECT_RATES)
    if not has_area_column:
        rates.pop("missing_area")
    names = list(rates)
    probabilities = np.array([rates[n] for n in names])
    draws = rng.random(count)
    cumulative = np.cumsum(probabilities)
    categories = rng.choice(len(CRIME_CATEGORIES), size=count,
                            p=_CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum())
    rows = []
    for i in range(count):
        slot = int(np.searchsorted(cumulative, draws[i], side="right"))
        defect = names[slot] if slot < len(names) else "none"
        street = streets[rng.integers(len(streets))]
        # Records sit on or near their street's point, as a force records them.
        lon = street.lon + rng.normal(0, 0.0002)
        lat = street.lat + rng.normal(0, 0.00015)
        row = {"defect": defect, "street": street.name, "area": street.area,
               "gid": street.gid, "true_lon": round(lon, 6), "true_lat": round(lat, 6),
               "category": CRIME_CATEGORIES[categories[i]],
               "outcome": _OUTCOMES[rng.integers(len(_OUTCOMES))],
               "day": int(rng.integers(1, 28)), "street_text": street.name,
               "area_text": street.area if has_area_column else None,
               "x": lon, "y": lat, "bng": bng_format}
        if bng_format:
            x, y = to_bng([lon], [lat])
            row["x"], row["y"] = round(float(x[0]), 1), round(float(y[0]), 1)
        else:
            row["x"], row["y"] = round(lon, 6), round(lat, 6)
        if defect in ("missing_street", "abbreviated", "typo", "missing_area"):
            row["x"] = row["y"] = None
            if defect == "abbreviated":
                row["street_text"] = street.abbreviated if street.abbreviated != street.name \
                    else _messy_case(street.name, rng)
            elif defect == "typo":
                row["street_text"] = _typo(street.name, rng)
            elif defect == "missing_area":
                row["street_text"] = None
                area_lon, area_lat = areas[street.area]
                row["true_lon"], row["true_lat"], row["gid"] = area_lon, area_lat, None
        elif defect == "swapped":
            row["x"], row["y"] = row["y"], row["x"]
        elif defect == "crs_mixup":
            if bng_format:
                row["x"], row["y"] = round(lon, 6), round(lat, 6)
            else:
                x, y = to_bng([lon], [lat])
                row["x"], row["y"] = round(float(x[0]), 1), round(float(y[0]), 1)
        elif defect == "outside_force" and other_forces:
            elsewhere = all_streets[other_forces[rng.integers(len(other_forces))]]
            wrong = elsewhere[rng.integers(len(elsewhere))]
            if bng_format:
                x, y = to_bng([wrong.lon], [wrong.lat])
                row["x"], row["y"] = round(float(x[0]), 1), round(float(y[0]), 1)
            else:
                row["x"], row["y"] = wrong.lon, wrong.lat
        elif defect == "far_from_street":
            far = [s for s in streets
                   if abs(s.lon - street.lon) + abs(s.lat - street.lat) > 0.03]
            if not far:
                row["defect"] = "none"
            else:
                wrong = far[rng.integers(len(far))]
                if bng_format:
                    x, y = to_bng([wrong.lon], [wrong.lat])
                    row["x"], row["y"] = round(float(x[0]), 1), round(float(y[0]), 1)
                else:
                    row["x"], row["y"] = wrong.lon, wrong.lat
        elif defect == "zero":
            row["x"] = row["y"] = 0
        rows.append(row)
    return rows


def _render(code: str, profile: str, rows: list[dict], month: str, year: str, mon: str,
            rng: np.random.Generator) -> tuple[str, bytes]:
    if profile == "kent-bng-export":
        return f"kent_crime_export_{month}.csv", _render_kent(rows, year, mon)
    if profile == "west-midlands-jsonl":
        return f"{code}-{month}.jsonl", _render_jsonl(rows, year, mon)
    if profile == "police-uk-reexport-snake":
        return f"{code}_{month}_reexport.csv", _render_police_uk(code, rows, month, snake=True)
    return f"{month}-{code}-street.csv", _render_police_uk(code, rows, month, snake=False)


def _num(value: float | None) -> str:
    return "" if value is None else (f"{value:.6f}".rstrip("0").rstrip(".") if value else "0")


def _render_police_uk(code: str, rows: list[dict], month: str, *, snake: bool) -> bytes:
    force_name = load_registry().get(code).name
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n",
                        quoting=csv.QUOTE_NONNUMERIC if snake else csv.QUOTE_MINIMAL)
    null = "NA" if snake else ""
    header = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
              "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
              "Context"]
    if snake:
        header = ["", "...1"] + [h.lower().replace(" ", "_") for h in header]
        header[-2] = "last_outcome_category"
    writer.writerow(header)
    for number, row in enumerate(rows, start=1):
        crime_id = "" if row["category"] == "Anti-social behaviour" else (
            hashlib.sha256(f"{code}/{month}/{number}".encode()).hexdigest())
        location = f"On or near {row['street_text']}" if row["street_text"] else "No Location"
        lsoa_code, lsoa_name = sample_lsoa(code, row["area"]) if row["x"] is not None else (
            "", "")
        fields: list = [crime_id, month, force_name, force_name, _num(row["x"]),
                        _num(row["y"]), location, lsoa_code, lsoa_name, row["category"],
                        row["outcome"] or "", ""]
        if row["defect"] == "bad_month":
            fields[1] = "2024-13"
        elif row["defect"] == "unknown_offence":
            fields[9] = "Wildlife offence"
        if snake:
            fields = [str(number), number * 7] + [f if f != "" else null for f in fields]
        if row["defect"] == "malformed":
            buffer.write(",".join(str(f) for f in fields[:5]) + "\n")
            continue
        if snake:
            # Numbers unquoted, as R writes them; everything else quoted.
            buffer.write(",".join(
                str(f) if isinstance(f, int) or f == null or _is_number(f) else
                '"' + str(f).replace('"', '""') + '"' for f in fields) + "\n")
        else:
            writer.writerow(fields)
    return buffer.getvalue().encode("utf-8")


def sample_lsoa(force: str, area: str) -> tuple[str, str]:
    """A synthetic LSOA code and name for a sample area.

    Codes are in E0199xxxx, a range no real ONS LSOA uses, so demo data can never be mistaken
    for real areas.
    """
    force_index = load_registry().codes.index(force)
    return (f"E0199{force_index:02d}{_AREAS.index(area):02d}",
            f"{area} {force_index:03d}{'ABCDEFGHIJKL'[_AREAS.index(area)]}")


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


#: Every this-many-th Kent row carries the records system's own free-text note as its
#: outcome, as real exports do: none of police.uk's outcome categories, so it never reaches
#: the public dataset (OUTCOME_NOT_PUBLISHED). Chosen by row number, not drawn: the rest of
#: the demo month stays as it was.
KENT_FREE_TEXT_OUTCOME_EVERY = 40
KENT_FREE_TEXT_OUTCOMES = ("NFA - victim declined to support, suspect known to victim",
                           "Words of advice given to suspect at home address")


def _render_kent(rows: list[dict], year: str, mon: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["URN", "Offence Date", "Offence Description", "Easting", "Northing",
                     "Street", "District", "Outcome"])
    for number, row in enumerate(rows, start=1):
        street = row["street_text"]
        if street:
            street = street.replace("'", "\u2019")  # Windows-1252 curly apostrophe
        fields = [f"KT/{year[2:]}/{number:06d}", f"{row['day']:02d}/{mon}/{year}",
                  _KENT_LABELS[row["category"]], "" if row["x"] is None else row["x"],
                  "" if row["y"] is None else row["y"], street or "", row["area_text"] or "",
                  row["outcome"] or "N/A"]
        if number % KENT_FREE_TEXT_OUTCOME_EVERY == 0:
            fields[-1] = KENT_FREE_TEXT_OUTCOMES[number // KENT_FREE_TEXT_OUTCOME_EVERY % 2]
        if row["defect"] == "bad_month":
            fields[1] = f"31/02/{year}"
        elif row["defect"] == "unknown_offence":
            fields[2] = "POACHING"
        if row["defect"] == "malformed":
            buffer.write(",".join(str(f) for f in fields[:4]) + "\r\n")
            continue
        writer.writerow(fields)
    return buffer.getvalue().encode("cp1252")


def _render_jsonl(rows: list[dict], year: str, mon: str) -> bytes:
    lines = []
    for number, row in enumerate(rows, start=1):
        geo = None if row["x"] is None else {"lat": row["y"], "lng": row["x"]}
        record = {
            "incident_ref": f"WM-{year}{mon}-{number:06d}",
            "recorded_at": f"{year}-{mon}-{row['day']:02d}T{number % 24:02d}:15:00",
            "offence": {"code": f"{CRIME_CATEGORIES.index(row['category']):02d}",
                        "label": _WM_LABELS[row["category"]]},
            "location": {"street": row["street_text"], "locality": row["area_text"],
                         "geo": geo},
            "status": row["outcome"],
        }
        if row["defect"] == "bad_month":
            record["recorded_at"] = "not recorded"
        elif row["defect"] == "unknown_offence":
            record["offence"]["label"] = "Hare Coursing"
        line = json.dumps(record)
        if row["defect"] == "malformed":
            line = line[: len(line) // 2]
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


#: The 12 columns of a police.uk street-level file, in order.
POLICE_UK_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                     "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                     "Last outcome category", "Context")


def generate_real_shaped(out: str | Path, police_uk: str | Path, *, month: str = "2024-03",
                         rows: int = 550_000, seed: int = 2024,
                         forces: Sequence[str] | None = None) -> dict:
    """A national month of real police.uk rows, moved into every force's area.

    Reads every police.uk street-level file in `police_uk` (one force's real rows, e.g. the
    City of London's 36 months), and gives each force its share of `rows` (the Metropolitan
    Police about a fifth, as `force_weights`) drawn from them, every point shifted by one
    offset in British National Grid from the real rows' centre to the centre of the force's
    registry extent: the street pattern, labels, "No Location" rows, categories and outcomes
    are the real ones. The gazetteer source gives each force its own copy of the real map
    points (one feature per distinct label and point, as `read_police_uk` makes them, moved
    by the same offset), so a supplied point is valid and on the street it names, as in most
    real rows. Writes `input/<month>/<month>-<force>-street.csv` and
    `gazetteer-source/map-points.csv` (plain gazetteer CSV, WGS84); returns a summary.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from crimegeo.gazetteer.sources import read_police_uk
    from crimegeo.standards.coordinates import to_lonlat

    out, police_uk = Path(out), Path(police_uk)
    files = sorted(police_uk.glob("*-street.csv"))
    if not files:
        raise FileNotFoundError(f"{police_uk}: no police.uk street-level files (*-street.csv)")
    strings = {name: pa.string() for name in POLICE_UK_COLUMNS}
    real = pa.concat_tables([pacsv.read_csv(
        path, convert_options=pacsv.ConvertOptions(column_types=strings,
                                                   strings_can_be_null=False)
    ).select(list(POLICE_UK_COLUMNS)) for path in files])
    lon = np.array([float(v) if v else np.nan for v in real["Longitude"].to_pylist()])
    lat = np.array([float(v) if v else np.nan for v in real["Latitude"].to_pylist()])
    x, y = to_bng(lon, lat)
    centre = (float(np.nanmedian(x)), float(np.nanmedian(y)))
    features = read_police_uk(str(police_uk)).table

    codes = list(forces or load_registry().codes)
    registry = load_registry()
    share = force_weights(codes)
    counts = np.floor(share * rows).astype(int)
    counts[0] += rows - counts.sum()
    rng = np.random.default_rng(seed)
    columns = {name: real[name].to_pylist() for name in POLICE_UK_COLUMNS}
    input_dir = out / "input" / month
    input_dir.mkdir(parents=True, exist_ok=True)
    (out / "gazetteer-source").mkdir(parents=True, exist_ok=True)
    written: dict[str, dict] = {}
    gazetteer_rows: list[list] = []
    for code, count in zip(codes, counts, strict=True):
        force = registry.get(code)
        min_lon, min_lat, max_lon, max_lat = force.extent_wgs84
        target_x, target_y = to_bng([(min_lon + max_lon) / 2], [(min_lat + max_lat) / 2])
        dx, dy = float(target_x[0]) - centre[0], float(target_y[0]) - centre[1]
        # Every real row at least once where the share allows, in a shuffled order.
        picks = np.resize(rng.permutation(real.num_rows), int(count))
        moved_lon, moved_lat = to_lonlat(x[picks] + dx, y[picks] + dy)
        name = f"{month}-{code}-street.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(POLICE_UK_COLUMNS)
        for number, (pick, new_lon, new_lat) in enumerate(
                zip(picks.tolist(), moved_lon.tolist(), moved_lat.tolist(), strict=True),
                start=1):
            row = [columns[column][pick] for column in POLICE_UK_COLUMNS]
            if row[0]:  # anti-social behaviour has no id; the others get one of this force's
                row[0] = hashlib.sha256(f"{code}/{month}/{number}".encode()).hexdigest()
            row[1] = month
            row[2] = row[3] = force.name
            if row[4]:
                row[4], row[5] = f"{new_lon:.6f}", f"{new_lat:.6f}"
            writer.writerow(row)
        (input_dir / name).write_text(buffer.getvalue(), encoding="utf-8")
        written[name] = {"force": code, "profile": "police-uk-street", "rows": int(count)}
        f_lon, f_lat = to_lonlat(features["x"].to_numpy() + dx, features["y"].to_numpy() + dy)
        for fid, label, kind, district, weight, a, b in zip(
                features["id"].to_pylist(), features["name"].to_pylist(),
                features["local_type"].to_pylist(), features["district"].to_pylist(),
                features["weight"].to_pylist(), f_lon.tolist(), f_lat.tolist(), strict=True):
            # Rounded as the rows are, so a row's point and its map point project alike.
            gazetteer_rows.append([f"{code}:{fid}", label, kind, f"{a:.6f}", f"{b:.6f}",
                                   district or "", code, weight])
    source = out / "gazetteer-source" / "map-points.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "name", "local_type", "lon", "lat", "district", "force",
                         "weight"])
        writer.writerows(gazetteer_rows)
    return {"month": month, "input": str(input_dir), "files": written,
            "real_rows": real.num_rows, "map_points_per_force": features.num_rows,
            "gazetteer_source": str(source)}
