"""Build a gazetteer artifact folder from real sources.

``build_gazetteer`` reads every source (see :mod:`gazetteer.sources`), derives area features from
the OS place hierarchy (districts, postcode districts, counties), checks ids, sorts features along a
space-filling curve, normalises every name, and writes one self-describing folder::

    DIR/
      manifest.json          sources with checksums, counts by type, CRS, build time, version
      features.parquet       the features (zstd), for analysts and as the record of the build
      features.arrow         the same rows, uncompressed Arrow IPC, memory-mapped at load
      keys.arrow             distinct normalised names (in hash order) with their kind flags
      rtree.dat, rtree.idx   persistent libspatialindex R-tree of feature extents, ids = row ids
      index/*.npy            name index (hash -> rows), exact-name index, fuzzy blocking index

It is written into a temporary sibling folder and renamed into place only when complete, so a
failed build leaves nothing behind that looks like a gazetteer. No Beam, no Prefect.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crimegeo.gazetteer.geo import BNG, to_lonlat
from crimegeo.gazetteer.model import GazetteerError
from crimegeo.gazetteer.normalise import (
    block_keys,
    key_hashes,
    name_rules_fingerprint,
    normalise_name,
)
from crimegeo.gazetteer.sources import FEATURE_FIELDS, SourceTable, merge_police_uk, read_source

__all__ = [
    "ARTIFACT_FORMAT",
    "ARTIFACT_VERSION",
    "KIND_AREA",
    "KIND_NATURAL",
    "KIND_PLACE",
    "KIND_POSTCODE",
    "KIND_ROAD",
    "build_gazetteer",
    "feature_kinds",
]

ARTIFACT_FORMAT = "crimegeo-gazetteer"
ARTIFACT_VERSION = 1

KIND_ROAD, KIND_PLACE, KIND_AREA, KIND_POSTCODE, KIND_NATURAL = 0, 1, 2, 3, 4
KIND_NAMES = {KIND_ROAD: "road", KIND_PLACE: "place", KIND_AREA: "area",
              KIND_POSTCODE: "postcode", KIND_NATURAL: "natural"}

ROAD_TYPES = ("Named Road", "Section Of Named Road", "Numbered Road", "Road", "Street")
AREA_TYPES = (
    "City", "Town", "Village", "Hamlet", "Suburban Area", "Other Settlement", "District",
    "Postcode District", "County", "Region", "Area", "Locality", "Neighbourhood", "Ward",
)
POSTCODE_TYPES = ("Postcode",)
NATURAL_OS_TYPES = ("hydrography", "landform", "landcover")

ATTRIBUTION = (
    "Contains OS data \u00a9 Crown copyright and database right",
    "Contains public sector information licensed under the Open Government Licence v3.0",
)


def _crimegeo_version() -> str:
    try:
        return version("crimegeo")
    except PackageNotFoundError:
        return "0.1.0"


def feature_kinds(local_type: pa.Array, os_type: pa.Array) -> np.ndarray:
    """Kind code per feature: road, public place, area, postcode or natural feature."""
    lt = pc.fill_null(local_type.cast(pa.string()), "")
    ty = pc.fill_null(os_type.cast(pa.string()), "")
    kind = np.full(len(lt), KIND_PLACE, dtype=np.int8)
    kind[pc.is_in(ty, pa.array(NATURAL_OS_TYPES)).to_numpy(zero_copy_only=False)] = KIND_NATURAL
    kind[pc.is_in(lt, pa.array(ROAD_TYPES)).to_numpy(zero_copy_only=False)] = KIND_ROAD
    kind[pc.is_in(lt, pa.array(AREA_TYPES)).to_numpy(zero_copy_only=False)] = KIND_AREA
    kind[pc.is_in(lt, pa.array(POSTCODE_TYPES)).to_numpy(zero_copy_only=False)] = KIND_POSTCODE
    return kind


# --------------------------------------------------------------------------- derived areas


def _derive_areas(table: pa.Table) -> pa.Table:
    """Area features for each district/borough, postcode district and county named in the OS
    place hierarchy: extent = union of its members' extents, point = mean of their points."""
    x = table.column("x").to_numpy()
    y = table.column("y").to_numpy()
    ext = {c: table.column(c).to_numpy() for c in ("xmin", "ymin", "xmax", "ymax")}
    base = pa.table({
        "x": x, "y": y,
        "xmin": np.where(np.isnan(ext["xmin"]), x, ext["xmin"]),
        "ymin": np.where(np.isnan(ext["ymin"]), y, ext["ymin"]),
        "xmax": np.where(np.isnan(ext["xmax"]), x, ext["xmax"]),
        "ymax": np.where(np.isnan(ext["ymax"]), y, ext["ymax"]),
        "district": table.column("district"),
        "district_uri": table.column("district_uri"),
        "postcode_district": table.column("postcode_district"),
        "county": table.column("county"),
        "county_uri": table.column("county_uri"),
        "region": table.column("region"),
    })
    out = []
    for col, uri_col, local_type, prefix in (
        ("district", "district_uri", "District", "district"),
        ("postcode_district", None, "Postcode District", "postcode-district"),
        ("county", "county_uri", "County", "county"),
    ):
        sub = base.filter(pc.is_valid(base.column(col)))
        if sub.num_rows == 0:
            continue
        aggs = [("x", "mean"), ("y", "mean"), ("xmin", "min"), ("ymin", "min"), ("xmax", "max"),
                ("ymax", "max"), ("county", "min"), ("region", "min")]
        if uri_col:
            aggs.append((uri_col, "min"))
        g = sub.group_by([col], use_threads=False).aggregate(aggs)
        names = g.column(col)
        n = g.num_rows
        gx = g.column("x_mean").to_numpy()
        gy = g.column("y_mean").to_numpy()
        lon, lat = to_lonlat(gx, gy)
        if uri_col:
            uri = g.column(f"{uri_col}_min")
            ids = pc.coalesce(uri, pc.binary_join_element_wise(prefix, names, ":"))
        else:
            uri = pa.nulls(n, pa.string())
            if local_type == "Postcode District":
                uri = pc.binary_join_element_wise(
                    "http://data.ordnancesurvey.co.uk/id/postcodedistrict", names, "/")
            ids = pc.binary_join_element_wise(prefix, names, ":")
        cols = {
            "id": ids, "uri": uri, "name": names, "name2": pa.nulls(n, pa.string()),
            "local_type": pa.array([local_type] * n), "type": pa.array(["derived area"] * n),
            "x": gx, "y": gy, "lon": lon, "lat": lat,
            "xmin": g.column("xmin_min"), "ymin": g.column("ymin_min"),
            "xmax": g.column("xmax_max"), "ymax": g.column("ymax_max"),
            "postcode_district": names if col == "postcode_district" else pa.nulls(n, pa.string()),
            "populated_place": pa.nulls(n, pa.string()),
            "district": names if col == "district" else pa.nulls(n, pa.string()),
            "district_uri": uri if col == "district" else pa.nulls(n, pa.string()),
            "county": g.column("county_min"),
            "county_uri": pa.nulls(n, pa.string()),
            "region": g.column("region_min"),
            "force": pa.nulls(n, pa.string()),
            "weight": pa.array(np.ones(n, np.int32)),
        }
        out.append(pa.Table.from_arrays(
            [pa.array(cols[f.name]).cast(f.type) if not isinstance(cols[f.name], np.ndarray)
             else pa.array(cols[f.name], f.type) for f in FEATURE_FIELDS],
            schema=FEATURE_FIELDS,
        ))
    return pa.concat_tables(out) if out else FEATURE_FIELDS.empty_table()


# --------------------------------------------------------------------------- checks


def _check_ids(table: pa.Table, sources: list[SourceTable], skipped: dict[str, int]) -> pa.Table:
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() == table.num_rows:
        return table
    # Identical repeats (the same tile given twice) are a counted skip; conflicts are errors.
    g = table.group_by(["id", "name", "x", "y"], use_threads=False).aggregate([])
    if g.num_rows == pc.count_distinct(g.column("id")).as_py():
        before = table.num_rows
        first = table.select(["id"]).append_column(
            "_row", pa.array(np.arange(table.num_rows))).group_by(
            "id", use_threads=False).aggregate([("_row", "min")]).column("_row_min")
        table = table.take(pa.array(np.sort(first.to_numpy())))
        skipped["duplicate_identical"] = skipped.get("duplicate_identical", 0) + (
            before - table.num_rows)
        return table
    vc = pc.value_counts(g.column("id"))
    dup = [v["values"].as_py() for v in vc if v["counts"].as_py() > 1][:5]
    where = ", ".join(s.path for s in sources)
    raise GazetteerError(
        f"duplicate feature ids with different contents in {where}: {dup} "
        "(ids must be unique across all sources)"
    )


# --------------------------------------------------------------------------- indexes


def _spatial_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row order along a Morton (Z-order) curve of 50 m cells, for locality on disk."""
    def spread(v: np.ndarray) -> np.ndarray:
        v = v.astype(np.uint64) & np.uint64(0xFFFF)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        v = (v | (v << np.uint64(1))) & np.uint64(0x55555555)
        return v

    cx = np.clip(x // 50, 0, 0xFFFF)
    cy = np.clip(y // 50, 0, 0xFFFF)
    code = spread(cx) | (spread(cy) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _csr(group: np.ndarray, members: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``members`` by ``group`` id: returns (ptr[n_groups+1], members sorted by group)."""
    order = np.lexsort((members, group))
    counts = np.bincount(group, minlength=n_groups)
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, members[order]


def _name_keys(names: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Normalised key per row, normalising each distinct name once."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    names = pc.fill_null(names, "")
    uniq = pc.unique(names)
    norm = normalise_name.__wrapped__
    keys = pa.array([norm(s) for s in uniq.to_pylist()], pa.string())
    return keys.take(pc.index_in(names, value_set=uniq))


def _build_indexes(table: pa.Table, kind: np.ndarray, d: str) -> tuple[pa.Table, dict]:
    n = table.num_rows
    rows = np.arange(n, dtype=np.int32)
    key1 = _name_keys(table.column("name"))
    has2 = pc.is_valid(table.column("name2")).to_numpy(zero_copy_only=False)
    # (key, row) pairs: every name and every alternative-language name.
    pair_keys = key1
    pair_rows = rows
    if has2.any():
        key2 = _name_keys(table.column("name2").filter(pa.array(has2)))
        pair_keys = pa.concat_arrays([key1, key2])
        pair_rows = np.concatenate([rows, rows[has2]])
    enc = pair_keys.dictionary_encode()
    dict_keys = enc.dictionary.to_pylist()
    codes = enc.indices.to_numpy().astype(np.int64)
    hashes = key_hashes(dict_keys)
    order = np.argsort(hashes, kind="stable")  # key id = rank in hash order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    kid = rank[codes]
    n_keys = len(dict_keys)
    key_ptr, key_rows = _csr(kid, pair_rows, n_keys)
    row_key = kid[:n].astype(np.int32)
    # Kind flags per key: bit k set when some row of that kind carries the key.
    flags = np.zeros(n_keys, dtype=np.uint8)
    np.bitwise_or.at(flags, kid, (1 << kind[pair_rows]).astype(np.uint8))
    sorted_keys = [dict_keys[i] for i in order]
    # Exact-name index: hash of each name as written.
    names = pc.fill_null(table.column("name"), "").combine_chunks()
    raw_pairs = names
    if has2.any():
        raw_pairs = pa.concat_arrays([names, table.column("name2").combine_chunks().filter(
            pa.array(has2))])
    raw_enc = raw_pairs.dictionary_encode()
    raw_hash_u = key_hashes([s.strip() for s in raw_enc.dictionary.to_pylist()])
    raw_hash = raw_hash_u[raw_enc.indices.to_numpy()]
    raw_order = np.lexsort((pair_rows, raw_hash))
    # Fuzzy blocking index over keys that are not only postcodes.
    blockable = (flags & ~np.uint8(1 << KIND_POSTCODE)) != 0
    bl_strings: list[str] = []
    bl_keys: list[int] = []
    for k in np.flatnonzero(blockable).tolist():
        bk = block_keys(sorted_keys[k])
        bl_strings.extend(bk)
        bl_keys.extend([k] * len(bk))
    if bl_strings:
        benc = pa.array(bl_strings, pa.string()).dictionary_encode()
        bvocab_hash = key_hashes(benc.dictionary.to_pylist())
        border = np.argsort(bvocab_hash, kind="stable")
        brank = np.empty_like(border)
        brank[border] = np.arange(len(border))
        bid = brank[benc.indices.to_numpy().astype(np.int64)]
        block_ptr, block_keys_arr = _csr(bid, np.asarray(bl_keys, dtype=np.int32), len(border))
        block_hash = bvocab_hash[border]
    else:
        block_ptr = np.zeros(1, np.int64)
        block_keys_arr = np.zeros(0, np.int32)
        block_hash = np.zeros(0, np.int64)
    arrays = {
        "key_hash": hashes[order],
        "key_ptr": key_ptr,
        "key_rows": key_rows.astype(np.int32),
        "key_flags": flags,
        "row_key": row_key,
        "raw_hash": raw_hash[raw_order],
        "row_raw_hash": raw_hash[:n],
        "raw_rows": pair_rows[raw_order].astype(np.int32),
        "block_hash": block_hash,
        "block_ptr": block_ptr,
        "block_keys": block_keys_arr,
    }
    os.makedirs(os.path.join(d, "index"), exist_ok=True)
    for name, arr in arrays.items():
        np.save(os.path.join(d, "index", f"{name}.npy"), np.ascontiguousarray(arr))
    keys_table = pa.table({"key": pa.array(sorted_keys, pa.string()), "flags": flags})
    with pa.OSFile(os.path.join(d, "keys.arrow"), "wb") as f, pa.ipc.new_file(
        f, keys_table.schema) as w:
        w.write_table(keys_table)
    table = table.append_column("key", key1).append_column("kind", pa.array(kind, pa.int8()))
    return table, {"distinct_keys": n_keys, "block_keys": int(len(block_hash))}


def _build_rtree(table: pa.Table, d: str) -> None:
    from rtree import index as rindex

    x = table.column("x").to_numpy()
    y = table.column("y").to_numpy()
    box = {c: table.column(c).to_numpy() for c in ("xmin", "ymin", "xmax", "ymax")}
    bad = np.isnan(box["xmin"]) | np.isnan(box["ymin"]) | np.isnan(box["xmax"]) | np.isnan(
        box["ymax"]) | (box["xmin"] > box["xmax"]) | (box["ymin"] > box["ymax"])
    mins = np.column_stack([np.where(bad, x, box["xmin"]), np.where(bad, y, box["ymin"])])
    maxs = np.column_stack([np.where(bad, x, box["xmax"]), np.where(bad, y, box["ymax"])])
    p = rindex.Property()
    p.dimension = 2
    p.leaf_capacity = 100
    p.index_capacity = 100
    p.fill_factor = 0.9
    p.overwrite = True
    ids = np.arange(len(x), dtype=np.int64)
    idx = rindex.Index(os.path.join(d, "rtree"), (ids, np.ascontiguousarray(mins),
                                                 np.ascontiguousarray(maxs)), properties=p)
    idx.close()


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- main entry


def build_gazetteer(
    sources: Sequence[str],
    out: str,
    *,
    format: str | None = None,
    crs: str | None = None,
    name_column: str | None = None,
) -> dict:
    """Build a gazetteer artifact folder at ``out`` from ``sources`` and return its manifest.

    ``sources`` are files, folders or zips (local paths or fsspec URLs) of one ``format``
    (``os-open-names``, ``csv``, ``vector``, ``police-uk``; detected per source when None).
    ``crs`` overrides the coordinates' CRS (needed for x,y CSVs); ``name_column`` chooses the
    name field of a vector file. Raises :class:`GazetteerError` on a bad source; nothing is left
    at ``out`` unless the build completed.
    """
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise GazetteerError("no sources given")
    t0 = time.perf_counter()
    read = [read_source(s, format=format, crs=crs, name_column=name_column) for s in sources]
    skipped: dict[str, int] = {}
    for s in read:
        for k, v in s.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    tables = [s.table for s in read if s.format != "police-uk"]
    police = [s.table for s in read if s.format == "police-uk"]
    if police:  # the same map point published in several months is one feature
        tables.append(merge_police_uk(pa.concat_tables(police)))
    os_rows = pa.concat_tables([s.table for s in read if s.derive_areas]) if any(
        s.derive_areas for s in read) else None
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    table = _check_ids(table, read, skipped)
    derived = 0
    if os_rows is not None and os_rows.num_rows:
        areas = _derive_areas(os_rows)
        # Only areas not already present as features with the same id.
        if areas.num_rows:
            areas = areas.filter(pc.invert(pc.is_in(areas.column("id"), table.column("id"))))
            derived = areas.num_rows
            table = pa.concat_tables([table, areas])
    if table.num_rows == 0:
        raise GazetteerError("no features left after skipping bad rows")
    t_read = time.perf_counter() - t0
    order = _spatial_order(table.column("x").to_numpy(), table.column("y").to_numpy())
    table = table.take(pa.array(order)).combine_chunks()
    for c in ("x", "y", "lon", "lat", "xmin", "ymin", "xmax", "ymax"):
        i = table.column_names.index(c)
        table = table.set_column(i, c, pc.fill_null(table.column(c), float("nan")))
    table = table.set_column(table.column_names.index("weight"), "weight",
                             pc.fill_null(table.column("weight"), 1))
    kind = feature_kinds(table.column("local_type"), table.column("type"))

    fs, out_path = fsspec.core.url_to_fs(out)
    local_out = fs.protocol in ("file", "local") or (
        isinstance(fs.protocol, tuple) and "file" in fs.protocol)
    if local_out:
        parent = os.path.dirname(os.path.abspath(out_path)) or "."
        os.makedirs(parent, exist_ok=True)
        tmp = os.path.join(parent, f".{os.path.basename(out_path)}.tmp-{uuid.uuid4().hex[:8]}")
    else:
        tmp = tempfile.mkdtemp(prefix="gazetteer-build-")
    os.makedirs(tmp, exist_ok=True)
    try:
        table, index_info = _build_indexes(table, kind, tmp)
        t_index = time.perf_counter() - t0 - t_read
        pq.write_table(table, os.path.join(tmp, "features.parquet"), compression="zstd",
                       row_group_size=256 * 1024)
        with pa.OSFile(os.path.join(tmp, "features.arrow"), "wb") as f, pa.ipc.new_file(
            f, table.schema) as w:
            w.write_table(table, max_chunksize=1 << 30)
        _build_rtree(table, tmp)
        files = {}
        for root, _dirs, names in os.walk(tmp):
            for nm in sorted(names):
                full = os.path.join(root, nm)
                rel = os.path.relpath(full, tmp)
                files[rel] = {"bytes": os.path.getsize(full)}
                if not rel.startswith("rtree") and rel != "features.arrow":
                    files[rel]["sha256"] = _sha256_file(full)
        digest = hashlib.sha256()
        for rel in sorted(files):
            if "sha256" in files[rel]:
                digest.update(f"{rel}:{files[rel]['sha256']}\n".encode())
        lt_counts = pc.value_counts(pc.fill_null(table.column("local_type"), ""))
        kind_counts = np.bincount(kind, minlength=len(KIND_NAMES))
        manifest = {
            "format": ARTIFACT_FORMAT,
            "artifact_version": ARTIFACT_VERSION,
            "crimegeo_version": _crimegeo_version(),
            # how names were read into keys: checked when the gazetteer is loaded
            "name_rules": name_rules_fingerprint(),
            "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "crs": BNG,
            "coordinates": "x,y EPSG:27700 and lon,lat EPSG:4326 (OSTN15 via convertbng)",
            "sources": [
                {"path": s.path, "format": s.format, "files": s.files,
                 "features": s.table.num_rows, "skipped": s.skipped}
                for s in read
            ],
            "features": table.num_rows,
            "derived_area_features": derived,
            "counts_by_type": dict(sorted(
                ((v["values"].as_py(), v["counts"].as_py()) for v in lt_counts),
                key=lambda kv: -kv[1])),
            "counts_by_kind": {KIND_NAMES[i]: int(c) for i, c in enumerate(kind_counts)},
            "skipped": skipped,
            "index": {**index_info, "rtree": "libspatialindex R*-tree of BNG extents, "
                      "bulk-loaded, ids = row numbers"},
            "files": files,
            "checksum": digest.hexdigest(),
            "attribution": list(ATTRIBUTION),
            "complete": True,
        }
        manifest["build_seconds"] = round(time.perf_counter() - t0, 3)
        manifest["timings"] = {"read_s": round(t_read, 3), "index_s": round(t_index, 3)}
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        if local_out:
            _replace_dir(tmp, os.path.abspath(out_path))
        else:
            _upload(tmp, fs, out_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not local_out:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _replace_dir(tmp: str, final: str) -> None:
    """Move the finished build into place; an older artifact is replaced only at the end."""
    if os.path.exists(final):
        old = f"{final}.old-{uuid.uuid4().hex[:8]}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def _upload(tmp: str, fs: fsspec.AbstractFileSystem, out_path: str) -> None:
    """Copy to a remote filesystem, manifest last: a folder without manifest is incomplete."""
    if fs.exists(f"{out_path}/manifest.json"):
        fs.rm(f"{out_path}/manifest.json")
    for root, _dirs, names in os.walk(tmp):
        for nm in names:
            if nm == "manifest.json" and root == tmp:
                continue
            full = os.path.join(root, nm)
            rel = os.path.relpath(full, tmp).replace(os.sep, "/")
            fs.makedirs(f"{out_path}/{os.path.dirname(rel)}".rstrip("/"), exist_ok=True)
            fs.put_file(full, f"{out_path}/{rel}")
    fs.put_file(os.path.join(tmp, "manifest.json"), f"{out_path}/manifest.json")
