"""Data for the gazetteer tests: paths of the shared real data and a small generated CSV."""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OS_DIR = DATA / "os-open-names"
COL_DIR = DATA / "police-uk" / "city-of-london"

# (id, name, local_type, lon, lat, populated_place, district, county, force)
SMALL_FEATURES = [
    ("col-1", "High Street", "Named Road", -0.0905, 51.5155, "London", "City of London",
     "Greater London", ""),
    ("col-2", "Alderman'S Walk", "Named Road", -0.0812, 51.5179, "London", "City of London",
     "Greater London", ""),
    ("col-3", "St Mary Axe", "Named Road", -0.0803, 51.5150, "London", "City of London",
     "Greater London", ""),
    ("col-4", "Fleet Street", "Named Road", -0.1065, 51.5141, "London", "City of London",
     "Greater London", ""),
    ("col-5", "Fetter Lane", "Named Road", -0.1078, 51.5155, "London", "City of London",
     "Greater London", ""),
    ("col-6", "Charterhouse Street", "Named Road", -0.1010, 51.5190, "London", "Islington",
     "Greater London", ""),
    ("col-7", "Supermarket", "Public Place", -0.0950, 51.5160, "London", "City of London",
     "Greater London", ""),
    ("col-8", "Supermarket", "Public Place", -0.0780, 51.5120, "London", "City of London",
     "Greater London", ""),
    ("col-9", "Gardens Court", "Named Road", -0.0920, 51.5170, "London", "City of London",
     "Greater London", ""),
    ("col-10", "A4175", "Numbered Road", -0.0990, 51.5130, "London", "City of London",
     "Greater London", ""),
    ("cam-1", "High Street", "Named Road", -0.1430, 51.5390, "Camden Town", "Camden",
     "Greater London", ""),
    ("cam-2", "Camden Town", "Suburban Area", -0.1426, 51.5392, "Camden Town", "Camden",
     "Greater London", ""),
    ("kent-1", "High Street", "Named Road", 0.9110, 50.9500, "Lydd", "Folkestone and Hythe",
     "Kent", "kent"),
    ("kent-2", "Dungeness Road", "Named Road", 0.9680, 50.9300, "Lydd", "Folkestone and Hythe",
     "Kent", "kent"),
    ("kent-3", "Lydd", "Town", 0.9130, 50.9510, "Lydd", "Folkestone and Hythe", "Kent", "kent"),
    ("kent-4", "Saint Mary's Road", "Named Road", 0.9150, 50.9520, "Lydd",
     "Folkestone and Hythe", "Kent", "kent"),
    ("nw-1", "Station Road", "Named Road", -2.90, 53.40, "Liverpool", "Liverpool", "Merseyside",
     ""),
    ("nw-2", "Station Road", "Named Road", -2.60, 53.30, "Warrington", "Warrington",
     "Cheshire", ""),
]


def write_small_csv(path: Path, rows=SMALL_FEATURES) -> Path:
    """Write the small generated gazetteer CSV (WGS84) and return its path."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "local_type", "lon", "lat", "populated_place", "district",
                    "county", "force"])
        w.writerows(rows)
    return path




def small_gazetteer(folder: Path, extra=()):  # noqa: ANN001, ANN201
    """A gazetteer built in `folder` from the small CSV and `extra` rows of its shape."""
    from crimegeo.gazetteer import Gazetteer, build_gazetteer

    build_gazetteer([str(write_small_csv(folder / "small.csv", [*SMALL_FEATURES, *extra]))],
                    str(folder / "gaz"))
    return Gazetteer.load(str(folder / "gaz"))
