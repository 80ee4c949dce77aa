"""The force registry: its data file and the lookup API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import crimegeo.standards.registry as registry_module
from crimegeo.standards.registry import Force, ForceRegistry, UnknownForceError, load_registry

POLICE_UK_CODES = {
    "avon-and-somerset", "bedfordshire", "cambridgeshire", "cheshire", "city-of-london",
    "cleveland", "cumbria", "derbyshire", "devon-and-cornwall", "dorset", "durham",
    "dyfed-powys", "essex", "gloucestershire", "greater-manchester", "gwent", "hampshire",
    "hertfordshire", "humberside", "kent", "lancashire", "leicestershire", "lincolnshire",
    "merseyside", "metropolitan", "norfolk", "north-wales", "north-yorkshire",
    "northamptonshire", "northumbria", "nottinghamshire", "south-wales", "south-yorkshire",
    "staffordshire", "suffolk", "surrey", "sussex", "thames-valley", "warwickshire",
    "west-mercia", "west-midlands", "west-yorkshire", "wiltshire", "btp",
}

# police.uk's "Reported by" value for every force (data.police.uk/api/forces).
REPORTED_BY = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "bedfordshire": "Bedfordshire Police",
    "cambridgeshire": "Cambridgeshire Constabulary",
    "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police",
    "cleveland": "Cleveland Police",
    "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary",
    "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police",
    "durham": "Durham Constabulary",
    "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police",
    "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police",
    "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary",
    "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police",
    "kent": "Kent Police",
    "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police",
    "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police",
    "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary",
    "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police",
    "northamptonshire": "Northamptonshire Police",
    "northumbria": "Northumbria Police",
    "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police",
    "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police",
    "suffolk": "Suffolk Constabulary",
    "surrey": "Surrey Police",
    "sussex": "Sussex Police",
    "thames-valley": "Thames Valley Police",
    "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "wiltshire": "Wiltshire Police",
    "btp": "British Transport Police",
}

# A well-known place (lon, lat) inside each force area.
KNOWN_POINTS = {
    "avon-and-somerset": [(-2.5879, 51.4545), (-3.1036, 51.0150)],  # Bristol, Taunton
    "bedfordshire": [(-0.4667, 52.1359), (-0.4200, 51.8787)],  # Bedford, Luton
    "cambridgeshire": [(0.1218, 52.2053), (-0.2402, 52.5695)],  # Cambridge, Peterborough
    "cheshire": [(-2.8910, 53.1934), (-2.5970, 53.3900)],  # Chester, Warrington
    "city-of-london": [(-0.0925, 51.5155), (-0.0886, 51.5142)],  # Guildhall, Bank
    "cleveland": [(-1.2350, 54.5742), (-1.2100, 54.6860)],  # Middlesbrough, Hartlepool
    "cumbria": [(-2.9320, 54.8925), (-3.2270, 54.1110)],  # Carlisle, Barrow-in-Furness
    "derbyshire": [(-1.4746, 52.9225), (-1.9100, 53.2590)],  # Derby, Buxton
    "devon-and-cornwall": [(-4.1427, 50.3755), (-5.5371, 50.1188),
                           (-6.3210, 49.9150)],  # Plymouth, Penzance, St Mary's (Scilly)
    "dorset": [(-1.8808, 50.7192), (-2.4360, 50.7150)],  # Bournemouth, Dorchester
    "durham": [(-1.5756, 54.7761), (-1.5530, 54.5240)],  # Durham, Darlington
    "dyfed-powys": [(-4.0829, 52.4153), (-4.3060, 51.8570)],  # Aberystwyth, Carmarthen
    "essex": [(0.4691, 51.7356), (0.7100, 51.5400)],  # Chelmsford, Southend-on-Sea
    "gloucestershire": [(-2.2380, 51.8642), (-2.0780, 51.8990)],  # Gloucester, Cheltenham
    "greater-manchester": [(-2.2400, 53.4800), (-2.6320, 53.5450)],  # Manchester, Wigan
    "gwent": [(-2.9977, 51.5842), (-2.7150, 51.8120)],  # Newport, Monmouth
    "hampshire": [(-1.4044, 50.9097), (-1.2930, 50.6990)],  # Southampton, Newport IoW
    "hertfordshire": [(-0.3360, 51.7520), (-0.3960, 51.6560)],  # St Albans, Watford
    "humberside": [(-0.3367, 53.7457), (-0.0800, 53.5670)],  # Hull, Grimsby
    "kent": [(1.0800, 51.2800), (0.5220, 51.2720)],  # Canterbury, Maidstone
    "lancashire": [(-2.7030, 53.7632), (-3.0500, 53.8175)],  # Preston, Blackpool
    "leicestershire": [(-1.1332, 52.6369), (-0.7250, 52.6700)],  # Leicester, Oakham
    "lincolnshire": [(-0.5400, 53.2307), (-0.0260, 52.9780)],  # Lincoln, Boston
    "merseyside": [(-2.9800, 53.4100), (-3.0060, 53.6450)],  # Liverpool, Southport
    "metropolitan": [(-0.1276, 51.5072), (0.1000, 51.5450)],  # Westminster, Barking
    "norfolk": [(1.2974, 52.6309), (1.7300, 52.6080)],  # Norwich, Great Yarmouth
    "north-wales": [(-4.1290, 53.2270), (-2.9930, 53.0460)],  # Bangor, Wrexham
    "north-yorkshire": [(-1.0815, 53.9600), (-0.4040, 54.2830)],  # York, Scarborough
    "northamptonshire": [(-0.8970, 52.2400), (-0.7290, 52.3980)],  # Northampton, Kettering
    "northumbria": [(-1.6178, 54.9783), (-2.0070, 55.7710)],  # Newcastle, Berwick
    "nottinghamshire": [(-1.1581, 52.9548), (-1.1990, 53.1440)],  # Nottingham, Mansfield
    "south-wales": [(-3.1791, 51.4816), (-3.9436, 51.6214)],  # Cardiff, Swansea
    "south-yorkshire": [(-1.4701, 53.3811), (-1.1280, 53.5230)],  # Sheffield, Doncaster
    "staffordshire": [(-2.1794, 53.0027), (-2.1170, 52.8060)],  # Stoke, Stafford
    "suffolk": [(1.1555, 52.0567), (1.7510, 52.4750)],  # Ipswich, Lowestoft
    "surrey": [(-0.5704, 51.2362), (-0.3300, 51.3310)],  # Guildford, Epsom
    "sussex": [(-0.1372, 50.8225), (-0.7790, 50.8360)],  # Brighton, Chichester
    "thames-valley": [(-1.2577, 51.7520), (-0.9781, 51.4543),
                      (-0.7594, 52.0406)],  # Oxford, Reading, Milton Keynes
    "warwickshire": [(-1.5846, 52.2819), (-1.2630, 52.3700)],  # Warwick, Rugby
    "west-mercia": [(-2.2200, 52.1920), (-2.7527, 52.7073),
                    (-2.7160, 52.0565)],  # Worcester, Shrewsbury, Hereford
    "west-midlands": [(-1.8904, 52.4862), (-1.5197, 52.4068)],  # Birmingham, Coventry
    "west-yorkshire": [(-1.5491, 53.8008), (-1.7594, 53.7960)],  # Leeds, Bradford
    "wiltshire": [(-1.7797, 51.5558), (-1.7945, 51.0688)],  # Swindon, Salisbury
    "btp": [(-0.1240, 51.5308), (-4.2518, 55.8609), (-3.1883, 55.9533),
            (-1.0940, 60.1530)],  # King's Cross, Glasgow, Edinburgh, Lerwick
}

# Places that must fall outside a force's box (the force, the place).
OUTSIDE_POINTS = [
    ("city-of-london", (-0.1276, 51.5072)),  # Westminster
    ("metropolitan", (-3.1791, 51.4816)),  # Cardiff
    ("kent", (-2.9800, 53.4100)),  # Liverpool
    ("merseyside", (-2.2400, 53.4800)),  # Manchester
    ("greater-manchester", (-2.9800, 53.4100)),  # Liverpool
    ("south-wales", (-2.9977, 51.5842)),  # Newport, Gwent
    ("west-midlands", (-1.5846, 52.2819)),  # Warwick
    ("devon-and-cornwall", (-2.4360, 50.7150)),  # Dorchester
]


@pytest.fixture(scope="module")
def registry() -> ForceRegistry:
    return load_registry()


def test_registry_has_the_43_territorial_forces_and_btp(registry: ForceRegistry) -> None:
    assert len(registry) == 44
    assert set(registry.codes) == POLICE_UK_CODES
    assert len(set(registry.codes)) == len(registry.codes)
    assert sum(f.territorial for f in registry) == 43
    assert [f.code for f in registry if not f.territorial] == ["btp"]
    assert list(registry) == [registry.get(c) for c in registry.codes]


def test_codes_are_police_uk_slugs(registry: ForceRegistry) -> None:
    for code in registry.codes:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code), code


def test_northern_ireland_is_not_included(registry: ForceRegistry) -> None:
    assert "northern-ireland" not in registry
    assert registry.resolve("Police Service of Northern Ireland") is None
    assert registry.resolve("PSNI") is None


def test_names_are_police_uk_reported_by_values(registry: ForceRegistry) -> None:
    assert {f.code: f.name for f in registry} == REPORTED_BY


@pytest.mark.parametrize(("code", "name"), sorted(REPORTED_BY.items()))
def test_resolve_reported_by_names(registry: ForceRegistry, code: str, name: str) -> None:
    assert registry.resolve(name) is registry.get(code)
    assert registry.resolve(name.upper()) is registry.get(code)
    assert registry.resolve(f"  {name.lower()}  ") is registry.get(code)
    assert registry.resolve(code) is registry.get(code)


def test_country(registry: ForceRegistry) -> None:
    welsh = {f.code for f in registry if f.country == "Wales"}
    assert welsh == {"dyfed-powys", "gwent", "north-wales", "south-wales"}
    assert registry.get("btp").country == "England, Wales and Scotland"
    others = {f.country for f in registry if f.code != "btp" and f.code not in welsh}
    assert others == {"England"}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Devon and Cornwall Police", "devon-and-cornwall"),
        ("devon & cornwall police", "devon-and-cornwall"),
        ("DEVON-AND-CORNWALL", "devon-and-cornwall"),
        ("Avon & Somerset Constabulary", "avon-and-somerset"),
        ("Dyfed Powys Police", "dyfed-powys"),
        ("dyfed-powys", "dyfed-powys"),
        ("MPS", "metropolitan"),
        ("mps", "metropolitan"),
        ("The Met", "metropolitan"),
        ("Metropolitan Police", "metropolitan"),
        ("GMP", "greater-manchester"),
        ("Greater Manchester", "greater-manchester"),
        ("BTP", "btp"),
        ("British Transport Police", "btp"),
        ("WMP", "west-midlands"),
        ("WYP", "west-yorkshire"),
        ("TVP", "thames-valley"),
        ("COLP", "city-of-london"),
        ("City of London", "city-of-london"),
        ("London, City of", "city-of-london"),
        ("Hampshire and Isle of Wight Constabulary", "hampshire"),
        ("Hampshire & Isle of Wight Constabulary", "hampshire"),
        ("Hampshire Constabulary", "hampshire"),
        ("Kent County Constabulary", "kent"),
        ("Heddlu Gogledd Cymru", "north-wales"),
        ("Heddlu De Cymru", "south-wales"),
        ("County Durham", "durham"),
        ("Kent", "kent"),
        ("Merseyside", "merseyside"),
        # A trailing "Police"/"Constabulary" not listed as an alias is dropped and retried.
        ("Derbyshire Police", "derbyshire"),
        ("Cumbria Police", "cumbria"),
        ("West Mercia Constabulary", "west-mercia"),
        ("Thames Valley Constabulary", "thames-valley"),
        ("Metropolitan Police Service.", "metropolitan"),
    ],
)
def test_resolve_aliases(registry: ForceRegistry, value: str, code: str) -> None:
    force = registry.resolve(value)
    assert force is not None, value
    assert force.code == code


@pytest.mark.parametrize(
    "value", ["", "   ", "Police", "Constabulary", "Nowhere Police", "Police Scotland",
              "London", "Manchester", "north", "and"],
)
def test_resolve_unknown_is_none(registry: ForceRegistry, value: str) -> None:
    assert registry.resolve(value) is None


def test_resolve_non_string_is_none(registry: ForceRegistry) -> None:
    assert registry.resolve(None) is None  # type: ignore[arg-type]


def test_every_alias_resolves_to_its_own_force(registry: ForceRegistry) -> None:
    for force in registry:
        for alias in force.aliases:
            assert registry.resolve(alias) is force, (alias, force.code)


def test_get_and_contains(registry: ForceRegistry) -> None:
    kent = registry.get("kent")
    assert isinstance(kent, Force)
    assert kent.name == "Kent Police"
    assert registry.get(" Kent ") is kent
    assert "kent" in registry
    assert "Kent Police" not in registry  # __contains__ is for codes
    assert "northern-ireland" not in registry
    assert 3 not in registry


def test_unknown_force_suggests_close_codes(registry: ForceRegistry) -> None:
    with pytest.raises(UnknownForceError) as caught:
        registry.get("west-midland")
    error = caught.value
    assert isinstance(error, KeyError)
    assert error.value == "west-midland"
    assert error.suggestions[0] == "west-midlands"
    assert "'west-midland'" in str(error)
    assert "west-midlands" in str(error)


def test_unknown_force_suggests_code_for_a_name(registry: ForceRegistry) -> None:
    with pytest.raises(UnknownForceError) as caught:
        registry.get("Metropolitan Police Service")
    assert caught.value.suggestions == ("metropolitan",)
    assert "did you mean 'metropolitan'" in str(caught.value)


def test_unknown_force_without_suggestion(registry: ForceRegistry) -> None:
    with pytest.raises(KeyError) as caught:
        registry.get("zzzzzz")
    assert caught.value.suggestions == ()
    assert "'zzzzzz'" in str(caught.value)


def test_uri(registry: ForceRegistry) -> None:
    assert registry.get("kent").uri == "https://data.police.uk/api/forces/kent"
    assert registry.get("city-of-london").uri == (
        "https://data.police.uk/api/forces/city-of-london")
    assert registry.get("btp").uri == "https://data.police.uk/api/forces/btp"


def test_extents_are_boxes_inside_great_britain(registry: ForceRegistry) -> None:
    for force in registry:
        assert len(force.extent_wgs84) == 4
        assert all(isinstance(v, float) for v in force.extent_wgs84)
        min_lon, min_lat, max_lon, max_lat = force.extent_wgs84
        assert -8.7 <= min_lon < max_lon <= 1.8, force.code
        assert 49.8 <= min_lat < max_lat <= 60.9, force.code
        # Territorial force areas are well under 4 degrees across; padded by ~2 km.
        if force.territorial:
            assert max_lon - min_lon < 4.0 and max_lat - min_lat < 2.0, force.code


def test_city_of_london_box_is_small(registry: ForceRegistry) -> None:
    min_lon, min_lat, max_lon, max_lat = registry.get("city-of-london").extent_wgs84
    assert max_lon - min_lon < 0.1 and max_lat - min_lat < 0.05


def test_btp_covers_great_britain(registry: ForceRegistry) -> None:
    btp = registry.get("btp")
    for force in registry:
        min_lon, min_lat, max_lon, max_lat = force.extent_wgs84
        assert btp.contains(min_lon, min_lat) and btp.contains(max_lon, max_lat), force.code


def test_every_force_has_known_points() -> None:
    assert set(KNOWN_POINTS) == POLICE_UK_CODES


@pytest.mark.parametrize(
    ("code", "point"),
    [(code, point) for code, points in sorted(KNOWN_POINTS.items()) for point in points],
)
def test_extent_contains_known_point(
    registry: ForceRegistry, code: str, point: tuple[float, float]
) -> None:
    force = registry.get(code)
    min_lon, min_lat, max_lon, max_lat = force.extent_wgs84
    lon, lat = point
    assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat, (code, point)
    assert force.contains(lon, lat)


@pytest.mark.parametrize(("code", "point"), OUTSIDE_POINTS)
def test_extent_excludes_distant_place(
    registry: ForceRegistry, code: str, point: tuple[float, float]
) -> None:
    assert not registry.get(code).contains(*point)


def test_load_registry_default_is_cached() -> None:
    assert load_registry() is load_registry()
    assert load_registry(None) is load_registry()


def _force_yaml(code: str, name: str, aliases: str = "[]") -> str:
    return (
        f"  - code: {code}\n    name: {name}\n    aliases: {aliases}\n"
        "    territorial: true\n    country: England\n"
        "    extent_wgs84: [-1.0, 51.0, 0.0, 52.0]\n"
    )


def test_load_registry_from_path(tmp_path: Path) -> None:
    path = tmp_path / "forces.yaml"
    path.write_text("version: 1\nforces:\n" + _force_yaml("alpha", "Alpha Police", "[AP]"),
                    encoding="utf-8")
    loaded = load_registry(path)
    assert loaded.codes == ("alpha",)
    assert loaded.resolve("ap").name == "Alpha Police"
    assert load_registry(str(path)).codes == ("alpha",)


def test_duplicate_code_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "forces.yaml"
    path.write_text("version: 1\nforces:\n" + _force_yaml("alpha", "Alpha Police")
                    + _force_yaml("alpha", "Other Police"), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate force code 'alpha'"):
        load_registry(path)


def test_alias_naming_two_forces_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "forces.yaml"
    path.write_text("version: 1\nforces:\n" + _force_yaml("alpha", "Alpha Police", "[A & B]")
                    + _force_yaml("beta", "Beta Police", "[a and b]"), encoding="utf-8")
    with pytest.raises(ValueError, match="names both 'alpha' and 'beta'"):
        load_registry(path)


def test_malformed_files_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "forces.yaml"
    path.write_text("version: 2\nforces: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported version"):
        load_registry(path)
    path.write_text("forces: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'forces' list"):
        load_registry(path)
    path.write_text("version: 1\nforces:\n  - code: alpha\n    name: Alpha\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks territorial, country, extent_wgs84"):
        load_registry(path)


def test_force_rejects_inverted_extent() -> None:
    with pytest.raises(ValueError, match="not a box"):
        Force("alpha", "Alpha Police", (), True, "England", (0.0, 52.0, -1.0, 51.0))


def test_registry_module_imports_only_allowed_packages() -> None:
    tree = ast.parse(Path(registry_module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"apache_beam", "prefect", "pandas", "geopandas"}
