"""Readers that turn each kind of gazetteer source into one Arrow table of features.

Formats: ``os-open-names`` (the zip as Ordnance Survey distributes it, a folder of tiles, or single
tiles), ``csv`` (a plain CSV with a header), ``vector`` (anything pyogrio reads) and
``police-uk`` (published street-level crime files: each distinct "On or near X" label with its
point becomes a feature). Every reader returns a :class:`SourceTable` in the common feature schema
(:data:`FEATURE_FIELDS`), with counted, reported skips; a source that cannot be used raises
:class:`~gazetteer.model.GazetteerError` naming the file, row and problem.

Sources are local paths or fsspec URLs. No Beam, no Prefect.
"""

from __future__ import annotations

import csv
import hashlib
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crimegeo.gazetteer.geo import BNG, WGS84, in_gb_bng, parse_crs, project_to_both, resolve_force
from crimegeo.gazetteer.model import GazetteerError
from crimegeo.gazetteer.normalise import normalise_name, strip_prefix

__all__ = [
    "FORMATS",
    "FEATURE_FIELDS",
    "OS_OPEN_NAMES_COLUMNS",
    "SourceTable",
    "detect_format",
    "merge_police_uk",
    "read_source",
]

FORMATS = ("os-open-names", "csv", "vector", "police-uk")

#: The 34 columns of OS_Open_Names_Header.csv, in order.
OS_OPEN_NAMES_COLUMNS = [
    "ID",
    "NAMES_URI",
    "NAME1",
    "NAME1_LANG",
    "NAME2",
    "NAME2_LANG",
    "TYPE",
    "LOCAL_TYPE",
    "GEOMETRY_X",
    "GEOMETRY_Y",
    "MOST_DETAIL_VIEW_RES",
    "LEAST_DETAIL_VIEW_RES",
    "MBR_XMIN",
    "MBR_YMIN",
    "MBR_XMAX",
    "MBR_YMAX",
    "POSTCODE_DISTRICT",
    "POSTCODE_DISTRICT_URI",
    "POPULATED_PLACE",
    "POPULATED_PLACE_URI",
    "POPULATED_PLACE_TYPE",
    "DISTRICT_BOROUGH",
    "DISTRICT_BOROUGH_URI",
    "DISTRICT_BOROUGH_TYPE",
    "COUNTY_UNITARY",
    "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE",
    "REGION",
    "REGION_URI",
    "COUNTRY",
    "COUNTRY_URI",
    "RELATED_SPATIAL_OBJECT",
    "SAME_AS_DBPEDIA",
    "SAME_AS_GEONAMES",
]

#: The common feature schema every reader produces (before the build adds keys and kinds).
FEATURE_FIELDS = pa.schema(
    [
        ("id", pa.string()),
        ("uri", pa.string()),
        ("name", pa.string()),
        ("name2", pa.string()),
        ("local_type", pa.string()),
        ("type", pa.string()),
        ("x", pa.float64()),
        ("y", pa.float64()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("xmin", pa.float64()),
        ("ymin", pa.float64()),
        ("xmax", pa.float64()),
        ("ymax", pa.float64()),
        ("postcode_district", pa.string()),
        ("populated_place", pa.string()),
        ("district", pa.string()),
        ("district_uri", pa.string()),
        ("county", pa.string()),
        ("county_uri", pa.string()),
        ("region", pa.string()),
        ("force", pa.string()),
        ("weight", pa.int32()),
    ]
)


@dataclass
class SourceTable:
    """Features read from one source, with what was skipped and why."""

    path: str
    format: str
    table: pa.Table
    files: list[dict] = field(default_factory=list)  # {"path", "sha256", "bytes"}
    skipped: dict[str, int] = field(default_factory=dict)
    derive_areas: bool = False

    def skip(self, reason: str, n: int) -> None:
        """Count ``n`` rows skipped for ``reason``."""
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(n)


# --------------------------------------------------------------------------- file access


def _fs(path: str) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, p = fsspec.core.url_to_fs(path)
    return fs, p


def _read_bytes(path: str) -> bytes:
    fs, p = _fs(path)
    try:
        with fs.open(p, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise GazetteerError(f"{path}: no such file") from None


def _record(files: list[dict], name: str, data: bytes) -> None:
    files.append({"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})


def _list_dir(path: str) -> list[str]:
    fs, p = _fs(path)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    out = []
    for f in sorted(fs.find(p)):
        out.append(f if protocol in ("file", "local") else f"{protocol}://{f}")
    return out


def _is_dir(path: str) -> bool:
    fs, p = _fs(path)
    return fs.isdir(p)


# --------------------------------------------------------------------------- detection

_VECTOR_EXT = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml", ".sqlite", ".gdb")


def _first_line(data: bytes) -> str:
    head = data[:4096].decode("utf-8-sig", errors="replace")
    return head.splitlines()[0] if head.strip() else ""


def _csv_kind(first_line: str) -> str | None:
    fields = next(csv.reader([first_line]), [])
    low = [f.strip().lower() for f in fields]
    if "location" in low and "longitude" in low and "latitude" in low:
        return "police-uk"
    if "id" in low and "name" in low:
        return "csv"
    if fields and fields[0].upper() == "ID" and "NAMES_URI" in fields:
        return "os-open-names"
    if len(fields) == len(OS_OPEN_NAMES_COLUMNS) or (
        len(fields) > 8 and fields[1].startswith("http://data.ordnancesurvey.co.uk/")
    ):
        return "os-open-names"
    return None


def detect_format(path: str) -> str:
    """Guess a source's format from its name and first line; GazetteerError if it cannot."""
    low = path.lower().rstrip("/")
    if low.endswith(".zip"):
        return "os-open-names"
    if low.endswith(_VECTOR_EXT):
        return "vector"
    if _is_dir(path):
        files = [f for f in _list_dir(path) if f.lower().endswith((".csv", *_VECTOR_EXT))]
        files = [f for f in files if "header" not in posixpath.basename(f).lower()]
        if not files:
            raise GazetteerError(f"{path}: folder holds no CSV or vector files")
        kinds = {detect_format(f) for f in files[:20]}
        if len(kinds) > 1:
            raise GazetteerError(f"{path}: folder mixes formats {sorted(kinds)}; pass --format")
        return kinds.pop()
    if low.endswith((".csv", ".txt")):
        data = _read_bytes(path)
        if not data.strip():
            raise GazetteerError(f"{path}: empty file")
        kind = _csv_kind(_first_line(data))
        if kind is None:
            raise GazetteerError(
                f"{path}: cannot tell the format from its first line "
                f"({_first_line(data)[:80]!r}); pass --format"
            )
        return kind
    raise GazetteerError(f"{path}: unknown source type; pass --format ({', '.join(FORMATS)})")


# --------------------------------------------------------------------------- helpers


def _null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _empty_to_null(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _to_float(arr: pa.Array, what: str, path: str) -> np.ndarray:
    try:
        arr = _empty_to_null(arr) if pa.types.is_string(arr.type) else arr
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    except pa.ArrowInvalid as exc:
        raise GazetteerError(f"{path}: column {what!r} is not numeric ({exc})") from None


def _assemble(n: int, cols: dict[str, object]) -> pa.Table:
    arrays = []
    for f in FEATURE_FIELDS:
        v = cols.get(f.name)
        if v is None:
            arrays.append(
                pa.nulls(n, f.type) if f.name != "weight" else pa.array(np.ones(n, np.int32))
            )
        elif isinstance(v, np.ndarray):
            arrays.append(
                pa.array(v, type=f.type, from_pandas=True)
                if f.type != pa.float64()
                else pa.array(v.astype(np.float64))
            )
        else:
            arrays.append(
                pa.array(v, type=f.type)
                if not isinstance(v, pa.Array | pa.ChunkedArray)
                else v.cast(f.type)
            )
    return pa.Table.from_arrays(arrays, schema=FEATURE_FIELDS)


def _filter_gb(src: SourceTable, table: pa.Table) -> pa.Table:
    x = table.column("x").to_numpy()
    y = table.column("y").to_numpy()
    lon = table.column("lon").to_numpy()
    ok = in_gb_bng(x, y) & ~np.isnan(lon)
    bad = int((~ok).sum())
    if bad == len(table) and bad:
        raise GazetteerError(
            f"{src.path}: all {bad} features have coordinates outside Great Britain "
            "(wrong CRS or swapped columns?)"
        )
    src.skip("outside_great_britain", bad)
    return table.filter(pa.array(ok)) if bad else table


# --------------------------------------------------------------------------- OS Open Names


def _os_members(path: str, files: list[dict]) -> Iterator[tuple[str, bytes]]:
    low = path.lower()
    if low.endswith(".zip"):
        data = _read_bytes(path)
        _record(files, path, data)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [
                n
                for n in zf.namelist()
                if n.lower().endswith(".csv")
                and "header" not in posixpath.basename(n).lower()
                and not n.endswith("/")
            ]
            if not names:
                raise GazetteerError(f"{path}: zip holds no OS Open Names CSV tiles")
            for n in sorted(names):
                yield f"{path}!{n}", zf.read(n)
    elif _is_dir(path):
        tiles = [
            f
            for f in _list_dir(path)
            if f.lower().endswith(".csv") and "header" not in posixpath.basename(f).lower()
        ]
        if not tiles:
            raise GazetteerError(f"{path}: folder holds no OS Open Names CSV tiles")
        for f in tiles:
            data = _read_bytes(f)
            _record(files, f, data)
            yield f, data
    else:
        data = _read_bytes(path)
        _record(files, path, data)
        yield path, data


def _bad_line(name: str, data: bytes, expected: int) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    for i, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) != expected:
            return f"{name}: line {i} has {len(row)} columns, OS Open Names has {expected}"
    return f"{name}: malformed CSV"


def _read_os_tile(name: str, data: bytes) -> pa.Table:
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        raise GazetteerError(f"{name}: empty file")
    opts = pacsv.ReadOptions(column_names=OS_OPEN_NAMES_COLUMNS, block_size=1 << 24)
    conv = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in OS_OPEN_NAMES_COLUMNS},
        strings_can_be_null=True,
    )
    try:
        t = pacsv.read_csv(pa.BufferReader(data), read_options=opts, convert_options=conv)
    except pa.ArrowInvalid as exc:
        if "columns" in str(exc):
            raise GazetteerError(_bad_line(name, data, len(OS_OPEN_NAMES_COLUMNS))) from None
        raise GazetteerError(f"{name}: {exc}") from None
    if t.num_rows and t.column("ID")[0].as_py() == "ID":  # a tile saved with its header
        t = t.slice(1)
    return t


def read_os_open_names(path: str, crs: str | None = None) -> SourceTable:
    """OS Open Names: the distributed zip, a folder of tiles, or one tile (headerless, BNG)."""
    if crs not in (None, BNG):
        raise GazetteerError(f"{path}: OS Open Names is British National Grid, not {crs}")
    src = SourceTable(path=path, format="os-open-names", table=pa.table({}), derive_areas=True)
    tables = [_read_os_tile(name, data) for name, data in _os_members(path, src.files)]
    raw = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    n = raw.num_rows
    if n == 0:
        raise GazetteerError(f"{path}: no features")
    missing = pc.or_(
        pc.is_null(raw.column("ID")),
        pc.or_(pc.is_null(raw.column("NAME1")), pc.is_null(raw.column("GEOMETRY_X"))),
    )
    nm = int(pc.sum(missing).as_py() or 0)
    if nm:
        src.skip("missing_id_name_or_point", nm)
        raw = raw.filter(pc.invert(missing))
    x = _to_float(raw.column("GEOMETRY_X"), "GEOMETRY_X", path)
    y = _to_float(raw.column("GEOMETRY_Y"), "GEOMETRY_Y", path)
    x, y, lon, lat = project_to_both(x, y, BNG)
    cols: dict[str, object] = {
        "id": raw.column("ID"),
        "uri": raw.column("NAMES_URI"),
        "name": raw.column("NAME1"),
        "name2": raw.column("NAME2"),
        "local_type": raw.column("LOCAL_TYPE"),
        "type": raw.column("TYPE"),
        "x": x,
        "y": y,
        "lon": lon,
        "lat": lat,
        "xmin": _to_float(raw.column("MBR_XMIN"), "MBR_XMIN", path),
        "ymin": _to_float(raw.column("MBR_YMIN"), "MBR_YMIN", path),
        "xmax": _to_float(raw.column("MBR_XMAX"), "MBR_XMAX", path),
        "ymax": _to_float(raw.column("MBR_YMAX"), "MBR_YMAX", path),
        "postcode_district": raw.column("POSTCODE_DISTRICT"),
        "populated_place": raw.column("POPULATED_PLACE"),
        "district": raw.column("DISTRICT_BOROUGH"),
        "district_uri": raw.column("DISTRICT_BOROUGH_URI"),
        "county": raw.column("COUNTY_UNITARY"),
        "county_uri": raw.column("COUNTY_UNITARY_URI"),
        "region": raw.column("REGION"),
    }
    src.table = _filter_gb(src, _assemble(raw.num_rows, cols))
    return src


# --------------------------------------------------------------------------- plain CSV

_CSV_OPTIONAL = {
    "uri": "uri",
    "name2": "name2",
    "type": "type",
    "xmin": "xmin",
    "ymin": "ymin",
    "xmax": "xmax",
    "ymax": "ymax",
    "populated_place": "populated_place",
    "district": "district",
    "county": "county",
    "region": "region",
    "force": "force",
    "postcode_district": "postcode_district",
    "weight": "weight",
}


def _read_csv_file(path: str, data: bytes) -> pa.Table:
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        raise GazetteerError(f"{path}: empty file")
    try:
        t = pacsv.read_csv(
            pa.BufferReader(data),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
        )
    except pa.ArrowInvalid as exc:
        if "columns" in str(exc):
            text = data.decode("utf-8-sig", errors="replace")
            rows = csv.reader(io.StringIO(text))
            header = next(rows)
            for i, row in enumerate(rows, start=2):
                if len(row) != len(header):
                    raise GazetteerError(
                        f"{path}: line {i} has {len(row)} columns, the header has {len(header)}"
                    ) from None
        raise GazetteerError(f"{path}: {exc}") from None
    t = t.rename_columns([c.strip().lower() for c in t.column_names])
    if t.num_rows == 0:
        raise GazetteerError(f"{path}: no rows after the header")
    return t


def read_plain_csv(path: str, crs: str | None = None) -> SourceTable:
    """A CSV with a header: id,name,local_type and lon,lat (WGS84) or x,y with a CRS."""
    src = SourceTable(path=path, format="csv", table=pa.table({}))
    paths = [f for f in _list_dir(path) if f.lower().endswith(".csv")] if _is_dir(path) else [path]
    tables = []
    for p in paths:
        data = _read_bytes(p)
        _record(src.files, p, data)
        tables.append(_read_csv_file(p, data))
    raw = pa.concat_tables(tables, promote_options="permissive")
    missing = [c for c in ("id", "name", "local_type") if c not in raw.column_names]
    if missing:
        raise GazetteerError(
            f"{path}: missing column(s) {missing}; a gazetteer CSV needs id,name,local_type and "
            f"lon,lat or x,y (has {raw.column_names})"
        )
    if "x" in raw.column_names and "y" in raw.column_names:
        if crs is None:
            raise GazetteerError(f"{path}: x,y columns need a CRS (e.g. --crs EPSG:27700)")
        a, b, use_crs = raw.column("x"), raw.column("y"), crs
    elif "lon" in raw.column_names and "lat" in raw.column_names:
        a, b, use_crs = raw.column("lon"), raw.column("lat"), crs or WGS84
    else:
        raise GazetteerError(f"{path}: needs lon,lat (WGS84) or x,y columns")
    a = _to_float(a, "x/lon", path)
    b = _to_float(b, "y/lat", path)
    nopoint = np.isnan(a) | np.isnan(b)
    noname = pc.is_null(_empty_to_null(raw.column("name"))).to_numpy(zero_copy_only=False)
    noid = pc.is_null(_empty_to_null(raw.column("id").cast(pa.string()))).to_numpy(
        zero_copy_only=False
    )
    bad = nopoint | noname | noid
    if bad.all():
        raise GazetteerError(f"{path}: no row has an id, a name and a point")
    src.skip("missing_id_name_or_point", int(bad.sum()))
    keep = ~bad
    raw = raw.filter(pa.array(keep))
    x, y, lon, lat = project_to_both(a[keep], b[keep], use_crs)
    cols: dict[str, object] = {
        "id": raw.column("id").cast(pa.string()),
        "name": raw.column("name").cast(pa.string()),
        "local_type": raw.column("local_type").cast(pa.string()),
        "x": x,
        "y": y,
        "lon": lon,
        "lat": lat,
    }
    for c, target in _CSV_OPTIONAL.items():
        if c in raw.column_names:
            col = raw.column(c)
            if c in ("xmin", "ymin", "xmax", "ymax"):
                cols[target] = _to_float(col, c, path)
            elif c == "weight":
                cols[target] = pc.cast(col, pa.int32())
            else:
                cols[target] = _empty_to_null(col.cast(pa.string()))
    n = raw.num_rows
    if all(c in raw.column_names for c in ("xmin", "ymin", "xmax", "ymax")) and use_crs != BNG:
        # Extents in another CRS: project the corners to BNG.
        x0, y0, _, _ = project_to_both(cols["xmin"], cols["ymin"], use_crs)
        x1, y1, _, _ = project_to_both(cols["xmax"], cols["ymax"], use_crs)
        cols.update(xmin=x0, ymin=y0, xmax=x1, ymax=y1)
    if "force" in cols:
        forces = cols["force"].to_pylist()
        cols["force"] = pa.array([resolve_force(f) or f for f in forces], pa.string())
    src.table = _filter_gb(src, _assemble(n, cols))
    return src


# --------------------------------------------------------------------------- vector files

_NAME_CANDIDATES = (
    "name",
    "name1",
    "road_name",
    "roadname",
    "street",
    "street_name",
    "label",
    "title",
)


def read_vector(path: str, crs: str | None = None, name_column: str | None = None) -> SourceTable:
    """Any vector file pyogrio reads; lines default to Named Road, points to Public Place,
    polygons to Area (a ``local_type`` column overrides)."""
    import pyogrio
    import shapely

    src = SourceTable(path=path, format="vector", table=pa.table({}))
    fs, p = _fs(path)
    local = path if "://" not in path or path.startswith("file://") else None
    if local is None:
        data = _read_bytes(path)
        _record(src.files, path, data)
        read_from: object = io.BytesIO(data)
    else:
        data = _read_bytes(path)
        _record(src.files, path, data)
        read_from = p
    try:
        meta, table = pyogrio.read_arrow(read_from)
    except Exception as exc:
        raise GazetteerError(f"{path}: cannot read as a vector file ({exc})") from None
    if table.num_rows == 0:
        raise GazetteerError(f"{path}: empty file (no features)")
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    if geom_col not in table.column_names:
        geom_col = table.column_names[-1]
    fields = [c for c in table.column_names if c != geom_col]
    lower = {c.lower(): c for c in fields}
    if name_column is not None:
        if name_column not in fields:
            raise GazetteerError(f"{path}: no column {name_column!r} (has {fields})")
        name_col = name_column
    else:
        name_col = next((lower[c] for c in _NAME_CANDIDATES if c in lower), None)
        if name_col is None:
            raise GazetteerError(f"{path}: no name column found among {fields}; pass --name-column")
    file_crs = crs or (parse_crs(meta["crs"]) if meta.get("crs") else None)
    if file_crs is None:
        raise GazetteerError(f"{path}: unknown CRS (the file has none); pass --crs")
    geoms = shapely.from_wkb(table.column(geom_col).to_numpy(zero_copy_only=False))
    geoms = shapely.force_2d(geoms)
    n = len(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    gtype = shapely.get_type_id(geoms)
    pts = np.where(gtype == 0, geoms, shapely.point_on_surface(geoms))
    px = shapely.get_x(pts)
    py = shapely.get_y(pts)
    bounds = shapely.bounds(geoms)
    x, y, lon, lat = project_to_both(px, py, file_crs)
    xmin, ymin, _, _ = project_to_both(bounds[:, 0], bounds[:, 1], file_crs)
    xmax, ymax, _, _ = project_to_both(bounds[:, 2], bounds[:, 3], file_crs)
    line = np.isin(gtype, (1, 2, 5))
    poly = np.isin(gtype, (3, 6))
    default_type = np.where(line, "Named Road", np.where(poly, "Area", "Public Place"))
    if "local_type" in lower:
        lt = _empty_to_null(table.column(lower["local_type"]).cast(pa.string()))
        local_type = pc.coalesce(lt, pa.array(default_type))
    else:
        local_type = pa.array(default_type)
    if "id" in lower:
        ids = table.column(lower["id"]).cast(pa.string())
    else:
        stem = posixpath.basename(p).rsplit(".", 1)[0]
        ids = pa.array([f"{stem}:{i}" for i in range(n)])
    cols: dict[str, object] = {
        "id": ids,
        "name": _empty_to_null(table.column(name_col).cast(pa.string())),
        "local_type": local_type,
        "x": x,
        "y": y,
        "lon": lon,
        "lat": lat,
        "xmin": xmin,
        "ymin": ymin,
        "xmax": xmax,
        "ymax": ymax,
    }
    for c in ("uri", "populated_place", "district", "county", "region", "force"):
        if c in lower:
            cols[c] = _empty_to_null(table.column(lower[c]).cast(pa.string()))
    t = _assemble(n, cols)
    bad = empty | pc.is_null(t.column("name")).to_numpy(zero_copy_only=False)
    src.skip("missing_name_or_geometry", int(bad.sum()))
    if bad.all():
        raise GazetteerError(f"{path}: no feature has both a name and a geometry")
    src.table = _filter_gb(src, t.filter(pa.array(~bad)))
    return src


# --------------------------------------------------------------------------- police.uk

_ROAD_NUMBER_ONLY = re.compile(r"^[amb]\d{1,4}(?:m)?$")


#: police.uk's generic public-place labels (the same label marks many places).
POLICE_PUBLIC_PLACES = frozenset(
    normalise_name(s)
    for s in (
        "Supermarket",
        "Police Station",
        "Parking Area",
        "Pedestrian Subway",
        "Nightclub",
        "Conference/Exhibition Centre",
        "Bus/Coach Station",
        "Shopping Area",
        "Theatre/Concert Hall",
        "Park/Open Space",
        "Hospital",
        "Ferry Terminal",
        "Further/Higher Educational Building",
        "Sports/Recreation Area",
        "Petrol Station",
        "Airport/Airfield",
        "Prison",
        "Railway Station",
        "Hotel",
        "Cinema",
        "Church",
        "School",
        "Nursery",
        "Health Centre",
        "Library",
        "Museum",
        "Fire Station",
        "Ambulance Station",
        "Further Education",
        "Shopping Centre",
        "Car Park",
        "Underground Station",
        "Metro Station",
        "Tram Stop",
        "Marina",
        "Stadium",
        "Pub",
    )
)


def _police_type(label: str) -> str:
    """Local type of a police.uk label: a generic public place, a numbered or a named road."""
    key = normalise_name(label)
    if "/" in label or key in POLICE_PUBLIC_PLACES:
        return "Public Place"
    if _ROAD_NUMBER_ONLY.match(key):
        return "Numbered Road"
    return "Named Road"


def read_police_uk(path: str, crs: str | None = None) -> SourceTable:
    """police.uk street-level files: one feature per distinct (label, point), weighted by the
    number of crimes published there; "No Location" and pointless rows are counted skips."""
    src = SourceTable(path=path, format="police-uk", table=pa.table({}))
    paths = [f for f in _list_dir(path) if f.lower().endswith(".csv")] if _is_dir(path) else [path]
    parts = []
    for p in paths:
        data = _read_bytes(p)
        _record(src.files, p, data)
        t = _read_csv_file(p, data)
        need = {"longitude", "latitude", "location"}
        if not need <= set(t.column_names):
            raise GazetteerError(f"{p}: not a police.uk file (needs Longitude, Latitude, Location)")
        keep = ["longitude", "latitude", "location"] + [
            c for c in ("falls within", "reported by", "lsoa name") if c in t.column_names
        ]
        parts.append(
            t.select(keep).cast(
                pa.schema(
                    [
                        (c, pa.float64() if c in ("longitude", "latitude") else pa.string())
                        for c in keep
                    ]
                )
            )
        )
    raw = pa.concat_tables(parts, promote_options="permissive")
    label = _empty_to_null(raw.column("location"))
    lon = raw.column("longitude").to_numpy(zero_copy_only=False)
    lat = raw.column("latitude").to_numpy(zero_copy_only=False)
    nolabel = pc.or_(pc.is_null(label), pc.equal(pc.utf8_lower(label), "no location"))
    nolabel = nolabel.to_numpy(zero_copy_only=False)
    nopoint = np.isnan(lon) | np.isnan(lat)
    src.skip("no_location", int((nolabel & nopoint).sum() + (nolabel & ~nopoint).sum()))
    src.skip("no_point", int((~nolabel & nopoint).sum()))
    keep = ~(nolabel | nopoint)
    if not keep.any():
        raise GazetteerError(f"{path}: no row has a location label and a point")
    raw = raw.filter(pa.array(keep)).set_column(
        raw.column_names.index("location"), "location", label.filter(pa.array(keep))
    )
    force_col = (
        "falls within"
        if "falls within" in raw.column_names
        else ("reported by" if "reported by" in raw.column_names else None)
    )
    aggs = [("location", "count")]
    if force_col:
        aggs.append((force_col, "min"))
    if "lsoa name" in raw.column_names:
        aggs.append(("lsoa name", "min"))
    g = raw.group_by(["location", "longitude", "latitude"], use_threads=False).aggregate(aggs)
    labels = g.column("location").to_pylist()
    names = [strip_prefix(s) for s in labels]
    glon = g.column("longitude").to_numpy()
    glat = g.column("latitude").to_numpy()
    ids = [
        "policeuk:" + hashlib.sha1(f"{s}|{a:.6f}|{b:.6f}".encode()).hexdigest()[:16]
        for s, a, b in zip(labels, glon, glat, strict=True)
    ]
    x, y, lon2, lat2 = project_to_both(glon, glat, WGS84)
    district = None
    if "lsoa name_min" in g.column_names:
        # "Camden 027B" -> "Camden": the borough of the published point.
        district = pc.replace_substring_regex(g.column("lsoa name_min"), r"\s+\w+$", "")
    force = None
    if force_col:
        fnames = g.column(f"{force_col}_min").to_pylist()
        cache: dict[str, str | None] = {}
        force = [cache.setdefault(f, resolve_force(f) or f) if f else None for f in fnames]
    cols: dict[str, object] = {
        "id": pa.array(ids),
        "name": pa.array(names),
        "local_type": pa.array([_police_type(s) for s in names]),
        "type": pa.array(["police.uk map point"] * len(names)),
        "x": x,
        "y": y,
        "lon": lon2,
        "lat": lat2,
        "xmin": x,
        "ymin": y,
        "xmax": x,
        "ymax": y,
        "district": district,
        "force": pa.array(force, pa.string()) if force is not None else None,
        "weight": pc.cast(g.column("location_count"), pa.int32()),
    }
    src.table = _filter_gb(src, _assemble(len(names), cols))
    return src


# --------------------------------------------------------------------------- dispatch


def merge_police_uk(table: pa.Table) -> pa.Table:
    """Merge police.uk features read from several sources: one feature per id (label and
    point), its weight the sum over sources."""
    if pc.count_distinct(table.column("id")).as_py() == table.num_rows:
        return table
    others = [c for c in table.column_names if c not in ("id", "weight")]
    g = table.group_by("id", use_threads=False).aggregate(
        [("weight", "sum")] + [(c, "first") for c in others]
    )
    g = g.rename_columns(
        [
            c[:-6] if c.endswith("_first") else ("weight" if c == "weight_sum" else c)
            for c in g.column_names
        ]
    )
    g = g.set_column(
        g.column_names.index("weight"), "weight", pc.cast(g.column("weight"), pa.int32())
    )
    return g.select(FEATURE_FIELDS.names).cast(FEATURE_FIELDS)


def read_source(
    path: str, *, format: str | None = None, crs: str | None = None, name_column: str | None = None
) -> SourceTable:
    """Read one source (file, folder, zip; local or fsspec URL) into the feature schema."""
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise GazetteerError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    crs_c = parse_crs(crs)
    if fmt == "os-open-names":
        return read_os_open_names(path, crs_c)
    if fmt == "csv":
        return read_plain_csv(path, crs_c)
    if fmt == "vector":
        return read_vector(path, crs_c, name_column)
    return read_police_uk(path, crs_c)
