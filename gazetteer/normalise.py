"""Normalisation of street and area names as forces actually write them.

One function, :func:`normalise_name`, turns a name into the canonical key under which the
gazetteer indexes it; the same function runs on every feature at build time and on every query,
so the two sides always agree. :func:`parse_query` splits a free-text location ("Flat 3, 12 High
St, Camden", "junction of X and Y") into the parts a lookup needs. :func:`block_keys` gives the
blocking keys that keep fuzzy matching to a few candidates.

Pure Python and the standard library only: no Beam, no Prefect, no numpy.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jellyfish
import numpy as np
from rapidfuzz.distance import OSA

__all__ = [
    "ParsedQuery",
    "block_keys",
    "key_hash",
    "key_hashes",
    "normalise_name",
    "parse_query",
    "strip_prefix",
    "GENERIC_TOKENS",
    "ROAD_TYPE_TOKENS",
]

#: Abbreviation -> full word, applied to whole tokens after lower-casing. "st" is handled apart
#: (Saint or Street by position).
ABBREVIATIONS: dict[str, str] = {
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "ln": "lane",
    "sq": "square",
    "pl": "place",
    "cres": "crescent",
    "cresc": "crescent",
    "cr": "crescent",
    "gdns": "gardens",
    "gdn": "garden",
    "ct": "court",
    "crt": "court",
    "hwy": "highway",
    "dr": "drive",
    "drv": "drive",
    "cl": "close",
    "gr": "grove",
    "gro": "grove",
    "pk": "park",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "wy": "way",
    "bldgs": "buildings",
    "bldg": "building",
    "mt": "mount",
    "pde": "parade",
    "blvd": "boulevard",
    "bvd": "boulevard",
    "embk": "embankment",
    "emb": "embankment",  # "Victoria Emb"
    "mkt": "market",
    "stn": "station",
    "hse": "house",
    "hosp": "hospital",
    "yd": "yard",
    "wlk": "walk",
    "pvmt": "pavement",
    "grn": "green",
    "brdwy": "broadway",
    "bdwy": "broadway",
    "pas": "passage",
    "psge": "passage",
    "psg": "passage",
    "pssg": "passage",
    "cswy": "causeway",
    "app": "approach",
    "appr": "approach",
    "apprch": "approach",
    "est": "estate",
    "upr": "upper",
    "lwr": "lower",
    "gt": "great",
    "nth": "north",
    "sth": "south",
    "ctr": "centre",
    "cntr": "centre",
    "center": "centre",
    "pass": "passage",
    "str": "street",
    "tnl": "tunnel",
    "nthn": "northern",
    "sthn": "southern",
    "rdbt": "roundabout",
    "rbt": "roundabout",
    "ind": "industrial",
    "lancs": "lancashire",  # "East Lancs Road"
    "sch": "school",
    "schl": "school",
    "pri": "primary",
    "prim": "primary",
    "jnr": "junior",
    "rw": "row",
    "aly": "alley",
    "wm": "william",  # "King Wm St"
    "lt": "little",
    **{f"{n}{suffix}": word for n, suffix, word in (
        (1, "st", "first"), (2, "nd", "second"), (3, "rd", "third"), (4, "th", "fourth"),
        (5, "th", "fifth"), (6, "th", "sixth"), (7, "th", "seventh"), (8, "th", "eighth"),
        (9, "th", "ninth"), (10, "th", "tenth"), (11, "th", "eleventh"),
        (12, "th", "twelfth"))},  # "5th Avenue"
    "br": "bridge",
    "vic": "victoria",  # "Queen Vic St"
    "lpool": "liverpool",  # "L'pool", apostrophe folded
    "&": "and",
}

#: Abbreviations read as a street type only as the last word of a name after another word
#: ("Moor La" is Moor Lane, "Westhead Wk" Westhead Walk), since elsewhere they are words of
#: names ("La Belle Sauvage Yard") or of a sentence ("wk" for week).
FINAL_ABBREVIATIONS: dict[str, str] = {"la": "lane", "wk": "walk"}

#: Words that say what kind of way a name is; they are weak evidence when blocking candidates.
ROAD_TYPE_TOKENS: frozenset[str] = frozenset(
    [
        "street",
        "road",
        "avenue",
        "lane",
        "square",
        "place",
        "crescent",
        "gardens",
        "garden",
        "court",
        "highway",
        "drive",
        "close",
        "grove",
        "park",
        "terrace",
        "way",
        "buildings",
        "mount",
        "parade",
        "boulevard",
        "embankment",
        "market",
        "walk",
        "passage",
        "causeway",
        "approach",
        "hill",
        "row",
        "yard",
        "alley",
        "mews",
        "wharf",
        "gate",
        "bridge",
        "green",
        "rise",
        "vale",
        "view",
        "path",
        "circus",
        "broadway",
        "quay",
        "arcade",
        "chambers",
        "end",
        "cottages",
        "villas",
        "estate",
    ]
)

#: Tokens too common to block on (in addition to the road types).
GENERIC_TOKENS: frozenset[str] = ROAD_TYPE_TOKENS | frozenset(
    [
        "the",
        "of",
        "and",
        "upper",
        "lower",
        "great",
        "little",
        "north",
        "south",
        "east",
        "west",
        "new",
        "old",
        "saint",
    ]
)

#: Words written after a street's type that are still its name ("High St North", "Utting
#: Avenue East"); a preceding "st" before them means Street.
AFTER_STREET_TYPE: frozenset[str] = frozenset(["north", "south", "east", "west", "upper",
                                               "lower", "end"])
_AFTER_STREET = AFTER_STREET_TYPE
#: Words no saint is named, so that a "St" before them is Street ("Fenchurch St Station",
#: "High St j/w Mill Lane", "Fleet St o/s 12", "Beech St tunnel"); "St" before a number or a
#: street type ("Fish St Hill") is Street too.
_AFTER_STREET_ONLY = _AFTER_STREET | frozenset([
    "station", "stn", "junction", "jct", "jnc", "jn", "car", "carpark", "bus", "tube",
    "underground", "and", "o", "j", "r", "f", "opp", "nr", "outside", "near", "by",
    "tunnel", "tnl", "underpass", "subway", "footbridge", "precinct", "shops", "shopping",
    "arches", "entrance", "exit", "stop", "area", "rear", "behind", "adj", "adjacent",
    "coach", "northbound", "southbound", "eastbound", "westbound", "carriageway",
])

#: ...and a car's or a phone's assistant asked the way ("navigate to hounds ditch london").
_PREFIX = (r"^\s*(?:on\s+or\s+near|on\s*/\s*near|near(?:\s+to)?|outside|o/s"
           r"|(?:navigate|directions|take\s+me|drive|route)\s+to)\s+")
_PREFIX_RE = re.compile(_PREFIX, re.I)
#: The same prefix for Arrow's RE2 kernels (batch work strips whole columns at once).
PREFIX_PATTERN = "(?i)" + _PREFIX
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4")
#: En and em dashes, figure dash and minus sign, read as a hyphen.
_DASHES = str.maketrans("\u2013\u2014\u2012\u2212", "----")
_NON_ALNUM_RE = re.compile(r"[^0-9a-z&]+")
_ROAD_NUMBER_RE = re.compile(r"\b([amb])\s+(\d{1,4})\b")
_HAS_DIGIT_RE = re.compile(r"\d")
_ROAD_NUMBER_TOKEN_RE = re.compile(r"^[amb]\d{1,4}(?:m)?$")
_HOUSE_PREFIX_RE = re.compile(
    r"""^\s*(?:
        (?:flat|apartment|apt|unit|suite|room|floor|maisonette)\.?\s*[\w/-]*\s*[,;]?\s*
      )?
      (?:(?:no|nos|number)\.?\s*)?  # "No. 15 Crescent", "Nos 12-14 Cheapside"
      (?:\d+[a-z]?(?:\s*[-/]\s*\d+[a-z]?)?\b\s*[,;]?\s+)
    """,
    re.I | re.X,
)
_FLAT_ONLY_RE = re.compile(
    r"^\s*(?:flat|apartment|apt|unit|suite|room|maisonette)\.?\s*\d+[a-z]?\s*(?:[,;]\s*|\s+)",
    re.I,
)
_JUNCTION_RE = re.compile(
    r"""^\s*(?:(?:the\s+)?(?:junction|jct|jnc|j/o|jn|corner)\.?\s+(?:of\s+|with\s+)?)
         (?P<a>.+?)\s+(?:and|&|with|/|j/w)\s+(?P<b>.+?)\s*$""",
    re.I | re.X,
)
_JUNCTION_INFIX_RE = re.compile(
    r"""^\s*(?P<a>.+?)\s+(?:j/w|jw|(?:junction|jct|jnc|jn)\.?(?:\s+(?:with|of))?|/)\s+
         (?P<b>.+?)\s*$""", re.I | re.X
)
#: A junction named anywhere in a text: "... at Queen St/Cannon St junction EC4".
_JUNCTION_NAMED_RE = re.compile(r"\b(?:junction|jct|jnc|j/w|corner)\b", re.I)
#: Junction words before a street ("junction of Cheapside", "on the corner of Fleet Street"):
#: not part of its name. "of" or "with" is required: "Junction Road" is a name.
_JUNCTION_WORDS_RE = re.compile(
    r"^\s*(?:(?:at|on|near)\s+)?(?:the\s+)?(?:junction|jct|jnc|jn|corner)\.?\s+(?:of|with)\s+",
    re.I
)
#: Words that join or introduce names, never a street on their own.
_JOINING_WORDS = frozenset(["of", "with", "the", "and", "&", "junction", "jct", "jnc", "jn",
                            "corner", "to", "at", "by"])
#: "X/Y junction", "X & Y jct": the junction word written after a pair (never after one name:
#: "Clapham Junction" is a name).
_TRAILING_JUNCTION_RE = re.compile(
    r"^\s*(?P<body>.+?(?:/|\s&\s|\sand\s).+?)\s+(?:junction|jct|jnc|jn)\.?\s*$", re.I)
#: Police shorthand written with a slash, anywhere in a text ("Fleet St (o/s no. 100)",
#: "Cheapside j/o Wood St"): spelt out before slashes are read as junctions.
_SLASH_SHORTHAND = {"o/s": "outside", "l/s": "last seen", "r/o": "rear of", "f/o": "front of",
                    "o/p": "opposite",
                    "j/o": "junction of", "j/w": "junction with", "n/b": "northbound",
                    "s/b": "southbound", "e/b": "eastbound", "w/b": "westbound",
                    "n/s": "nearside", "c/w": "carriageway", "f/p": "footpath",
                    "n/k": "not known", "n/a": "not applicable", "u/k": "unknown",
                    "x/w": "junction with", "i/f/o": "in front of",
                    # words a log shortens with a slash ("Blackfriars u/pass")
                    "u/pass": "underpass", "f/bridge": "footbridge", "r/about": "roundabout",
                    "r/bout": "roundabout"}
_SLASH_SHORTHAND_RE = re.compile(
    r"(?<![a-z0-9/])(" + "|".join(_SLASH_SHORTHAND) + r")(?![a-z/])\s*", re.I)
#: "Cheapside & Bread St", "Cheapside and Bread Street": two streets, or one name with "and".
_AND_PAIR_RE = re.compile(r"^\s*(?P<a>[^,]+?)\s+(?:and|&)\s+(?P<b>.+?)\s*$", re.I)
#: "A/B" written without spaces: a junction only when A reads as a street (see parse_query).
_JUNCTION_SLASH_RE = re.compile(r"^\s*(?P<a>[^/]+?)\s*/\s*(?P<b>[^/]+?)\s*$")
_POSTCODE_RE = re.compile(r"^[a-z]{1,2}\d[a-z\d]?(?:\s*\d[a-z]{2})?$", re.I)


def strip_prefix(text: str) -> str:
    """Remove a leading "On or near" (and its variants) and surrounding whitespace."""
    return _PREFIX_RE.sub("", text, count=1).strip()


def _fold(text: str) -> str:
    """Lower-case, remove apostrophes, fold accents to ASCII."""
    text = text.lower().translate(_APOSTROPHES)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text


#: A figure a scanner read for a letter inside a word ("Temp1e Lane", "St C1are St",
#: "crimina1"): 1 for l and 0 for o between letters, or a 1 ending a word of letters.
_OCR_FIGURE_RE = re.compile(r"(?<=[a-z])[10](?=[a-z])|(?<=[a-z]{3})1$")


def is_road_number(token: str) -> bool:
    """Whether a key's word is a road's number ("a552", "m62"): an identifier, never a
    slip of another road's."""
    return _ROAD_NUMBER_TOKEN_RE.match(token) is not None


def _ocr_letters(token: str) -> str:
    """`token` with figures read for letters put back ("temp1e" -> "temple"); postcodes
    ("ec1a", "ec4y0an") and road numbers keep their figures."""
    if (token.isalpha() or token.isdigit() or _POSTCODE_RE.match(token)
            or token[:1] in "amb" and token[1:2].isdigit()):  # a road's number, and beyond
        return token
    return _OCR_FIGURE_RE.sub(lambda m: "l" if m.group(0) == "1" else "o", token)


#: Names whose keys show how names are read: a gazetteer whose keys were made by other rules
#: (an abbreviation added since, say) finds fewer of its names (`name_rules_fingerprint`).
_RULE_PROBES = (
    "St Mary's Church", "ST. PETER'S ROAD", "Queen Victoria St", "O'Connell Street",
    "Saint Paul's Churchyard", "Fish St Hill", "Old Bailey", "Bishopsgate", "The Strand",
    "Upper Thames St", "N Aux Boiler House Rd", "Café Royal Walk", "Reactor 2 Road",
    "Great Tower St", "1st Avenue", "St. Helen's Place", "Little Britain",
)


@lru_cache(maxsize=1)
def name_rules_fingerprint() -> str:
    """A short digest of how names are read into keys, from the keys of probe names and of
    every abbreviation: stored in a gazetteer's manifest when it is built, so that a
    gazetteer built by other rules is noticed when loaded, not silently matched less."""
    probes = [*_RULE_PROBES, *(f"Alder {word} Lane" for word in sorted(ABBREVIATIONS)),
              *(f"{word} Alder" for word in sorted(ABBREVIATIONS))]
    digest = hashlib.sha256("\n".join(normalise_name(p) for p in probes).encode())
    return digest.hexdigest()[:16]


def name_rules_state(recorded: str | None) -> str:
    """How a gazetteer whose manifest recorded `recorded` as its name rules was read:
    "current" (by this code's rules), "other" (rebuild it: names may be missed) or
    "unrecorded" (built before the rules were recorded)."""
    if recorded is None:
        return "unrecorded"
    return "current" if recorded == name_rules_fingerprint() else "other"


@lru_cache(maxsize=262_144)
def normalise_name(text: str) -> str:
    """Return the canonical key of a street or area name.

    Case and spacing are folded, apostrophes removed ("Alderman'S Walk" -> "aldermans walk"),
    a leading "On or near" dropped, punctuation turned into spaces, abbreviations expanded
    ("High St" -> "high street", "Gdns" -> "gardens"), a leading or medial "St" before a name read
    as Saint ("St Mary Axe" -> "saint mary axe"), and road numbers joined ("A 4175" -> "a4175").
    House numbers are *not* removed here (see :func:`parse_query`). Returns "" for no name.
    """
    if not text:
        return ""
    text = _fold(strip_prefix(text))
    if _HAS_DIGIT_RE.search(text):  # "A 4175": a road's number needs a figure
        text = _ROAD_NUMBER_RE.sub(r"\1\2", text)
    out: list[str] = []
    # Commas end a part: "St" before a comma is Street ("High St, Camden").
    for part in text.split(","):
        tokens = [_ocr_letters(t) for t in _NON_ALNUM_RE.sub(" ", part.replace("&", " & ")).split()]
        last = len(tokens) - 1
        for i, tok in enumerate(tokens):
            if tok == "st" or tok == "saint":
                nxt = tokens[i + 1] if i < last else None
                if tok == "st" and (nxt is None or (i > 0 and (
                        nxt in _AFTER_STREET_ONLY or nxt[0].isdigit()
                        or ABBREVIATIONS.get(nxt, nxt) in ROAD_TYPE_TOKENS
                        or _ROAD_NUMBER_TOKEN_RE.match(nxt)))):
                    out.append("street")
                else:
                    out.append("saint")
                continue
            if tok in FINAL_ABBREVIATIONS and i == last and i > 0:  # "Moor La"
                out.append(FINAL_ABBREVIATIONS[tok])
                continue
            if tok == "x" and i > 0 and tokens[i - 1].isalpha() and (
                    i == last or ABBREVIATIONS.get(tokens[i + 1], tokens[i + 1])
                    in ROAD_TYPE_TOKENS):  # "Hunts X Ave", "Kings X": Cross
                out.append("cross")
                continue
            out.append(ABBREVIATIONS.get(tok, tok))
    return " ".join(out)


@dataclass(frozen=True)
class ParsedQuery:
    """A free-text location split into what a lookup uses.

    ``name`` is the street or place text (shorthand, house number and flat prefix removed),
    ``key`` its canonical key, ``areas`` the keys of any trailing area parts ("..., Camden"),
    ``junction`` the two keys of "junction of X and Y", ``road_number`` a road number found in
    the text, ``postcode`` the outward code (district, "EC2V") of a postcode written in the
    text, upper case, and ``alternatives`` other keys to try when ``key`` is unknown (without a
    road number or "The", "St" read as Street, a shop brand's place type).
    """

    text: str
    name: str
    key: str
    areas: tuple[str, ...] = ()
    junction: tuple[str, str] | None = None
    road_number: str | None = None
    alternatives: tuple[str, ...] = field(default=())
    postcode: str | None = None
    #: ``key`` with a keyboard slip in its final street type put right ("Kung Strewt" ->
    #: "kung street"); the key fuzzy matching starts from. Equal to ``key`` otherwise.
    fuzzy_key: str = ""
    #: The later comma parts read as names (house numbers and shorthand removed), for when the
    #: first part names premises rather than the street ("Tesco Express, 12 Fleet Street").
    later_names: tuple[str, ...] = ()
    #: "A/B" whose A is one word ("Cornhill/Bishopsgate"), which the text alone cannot tell
    #: from a place type ("Bus/Coach Station"), and "A and B", "A & B" (which may be one
    #: name): the lookup reads it as a junction only when the whole text names nothing and
    #: the two streets meet (or both are streets the area knows: the first, not met).
    slash_junction: tuple[str, str] | None = None
    #: The first part read as one name when a locating word inside it made it two
    #: ("Ashby by Partney" is a village before it is Ashby near Partney); "" otherwise.
    whole: str = ""
    #: A later part begins with a locating word ("Littie Trinity Ln (off Queen Victoria St)"):
    #: it says what the place is near, so the first part is read, slips and all, before it.
    near_later: bool = False
    #: The later names a locating word introduced ("Tokenhouse Yard off Lothbury": lothbury):
    #: what the place is near, read as the place only when nothing else names one.
    near_names: tuple[str, ...] = ()
    #: A control room's camera log ("CAM 10 VICTORIA EMBANKMENT 2305 TAXI DROPPED 2 MALES
    #: TEMPLE AVE"): the camera's street, with a description after it, is only near what the
    #: camera saw, which may be on a street the description names.
    camera: bool = False
    #: A full postcode written anywhere in the text ("ZE2 9EJ|Haroldswick|Unst"), as a key:
    #: where the gazetteer has that unit, it is nearer the place than the village named.
    postcode_unit: str | None = None


#: Police shorthand for where along a street something happened, written before the name:
#: "o/s 12 High St", "r/o", "opp", "nr", "adj", "land adjacent to", "car park of", "outside",
#: and the plain words "at", "on", "in", "along", "by", "off", "in the vicinity of".
#: Removed (repeatedly: "land adj to r/o ...") before the house number.
_SHORTHAND_RE = re.compile(
    r"""^\s*(?:
        o/s(?:\s+of)? | outside(?:\s+of)? | r/o | (?:to\s+the\s+)?rear\s+of | opp\.? | opposite
      | o/p | nr\.? | near(?:\s+to)? | adj\.?(?:\s+to)? | adjacent(?:\s+to)? | next\s+to
      | at | on | in | along | by | off | (?:in\s+)?(?:the\s+)?(?:vicinity|vic\.?|area)\s+of
      | (?:in\s+)?front\s+of | f/o | ifo | behind | beside
      | just(?=\s+(?:nr|near|opp|opposite|outside|by|off|behind|up|down|along|round|across
                    |over|past|next|in|on|at)\b)
      | (?:up|down|along|round|across|over)(?:\s+the\s+road)?\s+from
      | round\s+the\s+corner\s+from | past | towards | twds | last\s+seen | heading | between
      | (?:cctv\s+)?cam(?:era)?\s*\d+[a-z]?  # a control room's camera: "CAM 22 TOWER HILL"
      | \d{3,4}\s*hrs? | \d{1,2}[:.]\d{2}(?:\s*hrs?)?  # a time a log carries: "2340hrs"
      | (?:cad|log|ref|incident)\.?(?:\s*no\.?)?\s*[#:]?\s*\d[\w/-]*  # "CAD 4417 A100 NB"
      | land\s+(?:adj\.?|adjacent|at|r/o|rear\s+of|next|behind|off|o/s|opp\.?|nr\.?|near)
        (?:\s+(?:to|of))?
      | car\s*park\s+(?:of|at|to\s+the\s+rear\s+of|behind|r/o|adj\.?)(?:\s+to)?
      # a driver's pick-up or drop-off: "pick up at haroldswick by the boat haven"
      | (?:pick(?:ed)?|drop(?:ped)?)[\s-]*(?:up|off)(?:\s+(?:from|at|in|on|outside|by))?
    )(?:\s+|(?<=/[a-z])\s*(?=\d))""",
    re.I | re.X,
)
#: Where a text's parts break: a comma, semicolon, bracket or bar, a middle dot or bullet (as
#: apps' alerts put between fields), a spaced dash, and what a fixed-width export or a
#: control room's log puts between fields.
_PART_BREAK_RE = re.compile(
    r"""[,;()|~^\u00b7\u2022] | \s+-\s+
      | \s{3,}  # a fixed-width export's padding between fields
      | \s+\.\s+  # "Picton Crescent . criminal damage to cars"
      | (?<=[a-z])0{2,}\d*(?=[a-z\s]|$) | (?:^|\s)0{2,}\d*  # "0000PINDAR", "STREE00000EC4Y"
      # a street type and a postcode with no space between: "PEPYS STREETEC3N2"
      | (?<=street|..road|..lane|..hill|...row)(?=[a-z]{1,2}\d[a-z\d]?(?:\d[a-z]{0,2})?\b)
      | \s+(?:cctv\s+)?cam(?:era)?\s*\d+[a-z]?\b  # "CHEAPSIDE  CAM 26 1215 ..."
      | \s+(?:[01]\d|2[0-3])[0-5]\d(?:\s*hrs?)?(?=\s|$)  # a log's time after the place
    """, re.I | re.X)
#: A full stop after a word of three letters or more, or a figure, then a capital: where a
#: sentence ends ("Grove St L7. Crim dam to parked veh"), unless the word is an abbreviation
#: ("Lwr. Thames St", "Gdns. Lane").
_SENTENCE_END_RE = re.compile(r"\b(?P<word>[a-z]{3,}|\w*\d)\.\s+(?=(?-i:[A-Z]))", re.I)


#: A street's type written before its name, as many languages write it ("In the street
#: Petty Wales", "on the road of Reactor Two", "the avenue Turbine Hall"): the name is one to
#: three capitalised words, none of them a type.
_TYPE_BEFORE_NAME_RE = re.compile(
    r"\bthe\s+(?P<type>street|road|avenue|lane)\s+(?:of\s+(?:the\s+)?)?"
    r"(?P<name>[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*){0,2})\b")
_TYPE_FIRST_HINT_RE = re.compile(r"the (?:street|road|avenue|lane) ")


def _type_after_name(text: str) -> tuple[str, tuple[str, ...]]:
    """`text` with a street's type written in small letters before its name moved after it
    ("In the street Petty Wales" -> "In Petty Wales street"), where neither the name's words
    nor the word after it are types (not "on the road Duke Street Hill", a type used as a
    word before a whole name, nor "the Street West", a name); and the keys of the names so
    moved, which may be names without a type ("Petty Wales")."""
    names: list[str] = []

    def moved(match: re.Match) -> str:
        words = match.group("name").split()
        after = match.string[match.end():].split()[:1]
        if any(normalise_name(word) in ROAD_TYPE_TOKENS for word in words + after):
            return match.group(0)  # "on the road Duke street hill": a whole name follows
        names.append(normalise_name(match.group("name")))
        return f"{match.group('name')} {match.group('type')}"

    return _TYPE_BEFORE_NAME_RE.sub(moved, text), tuple(names)


def _as_spoken_turns(text: str) -> str:
    """`text` with each speaker's turn of a transcript a part of its own, where the first
    turn is a sentence (not a form's "Officer: PC 123") or there are several."""
    speakers = list(_SPEAKER_RE.finditer(text))
    if speakers and speakers[0].start() == 0 and (
            len(speakers) > 1 or len(text[speakers[0].end():].split()) >= 5):
        text = _SPEAKER_RE.sub("; ", text).lstrip("; ")
    return text


def _as_transcribed(text: str) -> str:
    """`text` as a transcript of speech is read: a pause's "um" or "er" a break, and letters
    said one at a time joined."""
    text = _FILLER_RE.sub(", ", text)

    def joined(match: re.Match) -> str:
        word = match.group(0).replace(" ", "")
        return word if _SPELT_WORD_RE.match(word) else match.group(0)

    return _SAID_ONE_BY_ONE_RE.sub(joined, text)


def _sentence_ends_as_breaks(text: str) -> str:
    """`text` with the full stops that end a sentence made part breaks (";")."""
    if "." not in text:
        return text
    return _SENTENCE_END_RE.sub(lambda m: m.group(0) if m.group("word").lower()
                                in ABBREVIATIONS else m.group("word") + "; ", text)


#: The same breaks for a text with no figure, no wide gap and no spaced full stop: most texts.
_PART_BREAK_PLAIN_RE = re.compile(r"[,;()|~^\u00b7\u2022]|\s+-\s+")  # "9^MASON ST^^L8"
#: What a form's place field is the place of: "Loc of loss:", "Place of offence:".
_OF_WHAT = r"of\s+(?:loss|offence|incident|occurrence|theft|crime|event)"
#: A ride's or a delivery's place fields: "Pick-up: 1 High Holborn", "Drop off = Lime St".
_PICK_UP = r"pick\s*-?\s*up(?:\s+point)?|drop\s*-?\s*off(?:\s+point)?"
#: The field names of an export that joins address fields ("Street: Bridge Street | County:
#: Merseyside", "Street=Webster Rd; Town=Liverpool"): not words of the place.
_FIELD_LABEL_RE = re.compile(
    r"\b(?P<label>street|road|address|location|loc|locus|town|city|county|district|postcode|area"
    r"|place|premises|house|scene|" + _PICK_UP + r")\s*(?:name|no|" + _OF_WHAT + r")?\s*[:=]\s*",
    re.I)
#: Field names that are street types too: after a word, the type of a name ("Devas Street:
#: car drove through", "Dungeness - Reactor Two Road: van reversed"), not a field.
_LABELS_THAT_END_NAMES = frozenset(["street", "road", "place", "house", "area"])
#: A word just before a field name: the field name then ends that word's name.
_WORD_BEFORE_RE = re.compile(r"[a-z]\s*$", re.I)
#: A colon after a street type or its abbreviation ("Dungeness - Reactor Two Road: van
#: reversed", "Devas St: car drove through"): the name ends there, as at a comma.
_TYPE_COLON_RE = re.compile(r"(?<=[a-z])(\s+(?:" + "|".join(sorted(
    {*ROAD_TYPE_TOKENS, *(k for k, v in ABBREVIATIONS.items() if v in ROAD_TYPE_TOKENS)},
    key=len, reverse=True)) + r"))\.?\s*:\s+", re.I)


def _field_label(found: re.Match) -> str:
    """What a field name becomes: a part break, unless it is a name's street type."""
    if (found.group("label").lower() in _LABELS_THAT_END_NAMES
            and _WORD_BEFORE_RE.search(found.string, 0, found.start())):
        return found.group(0)
    return ", "
#: ...and before a locating word inside a part, which begins a note of what is near ("Eldon
#: St nr Liverpool St stn", "Vale Road opp shops", "Cheapside outside 12", "Dowgate Hill by
#: Cannon St stn", "Trinity Sq @ Tower Hill stn", "Creed Lane off Ludgate Hill": the street
#: comes first).
_LOCATOR_BREAK_RE = re.compile(
    r"""\s*@\s*
      | (?<=\S)(?<!\bjust)\s+
        (?=(?:just\s+)?
           (?:nr\.?|near|opp\.?|opposite|outside|adj\.?|adjacent|next\s+to|behind|rear\s+of
            # "by", but not after a verb it names the doer of ("harassed by a group of men on
            # Lloyds Ave", "bitten by a dog"), unless the verb says where ("parked by")
            |(?:(?<![a-z]{3}[a-df-z]ed\s)(?<!\bseen\s)(?<!bitten\s)(?<!\bhit\s)(?<!caught\s)
               (?<!\btold\s)(?<!\bgiven\s)(?<!\bshown\s)
               |(?<=parked\s)|(?<=located\s)|(?<=situated\s)|(?<=positioned\s)|(?<=left\s))by
            |(?:in\s+)?front\s+of|off(?!\s+licen[cs]e)
            # "Finsbury Pavement just up from Moorgate", "... round the corner from"
            |(?:up|down|along|round|across|over)(?:\s+the\s+road)?\s+from
            |round\s+the\s+corner\s+from|past
            # "Arthur Street close to Upper Thames Street": after a type, no Close
            |(?:(?<=street\s)|(?<=st\s)|(?<=road\s)|(?<=rd\s)|(?<=lane\s)|(?<=avenue\s)
               |(?<=place\s)|(?<=square\s)|(?<=hill\s)|(?<=way\s))close\s+to
            # where someone went after: "... L/S TWDS ALDERSGATE ST", "heading for Bank"
            |towards|toward|twds|twd|last\s+seen|heading
            # what a place lies between: "Mark Lane EC3 between Fenchurch St and Great Tower St"
            |between)\s)""",
    re.I | re.X,
)
#: Words that introduce a place's name inside a sentence ("in the alleyway known as Back
#: Stanley Road", "that curved street just called Crescent"): the name is what follows.
_NAMED_AS_RE = re.compile(
    r"""^.*?\b(?:(?:locally\s+|also\s+)?known\s+as
                # "Vehicle located Queens Drive, Mossley Hill": where it was found
                | (?:vehicle|veh|car|van|motorcycle|m/cycle|bike|property)\s+(?:located|found
                   |recovered|abandoned|dumped)(?:\s+(?:at|on|in))?
                | (?:street|road|lane|alley|alleyway|passage|place|square|estate|area|premises
                   |building|park|pub|bar|club|venue|shop|store)\s+(?:just\s+)?(?:called|named))
         \s+(?=\S)""",
    re.I | re.X,
)
#: A vehicle's verb of _NAMED_AS_RE: what follows names a place only when written as a name
#: ("Vehicle located Queens Drive"; not "car abandoned on the verge at Muness").
_VEHICLE_FOUND_RE = re.compile(r"located|found|recovered|abandoned|dumped", re.I)


def _named_as(found: re.Match) -> str:
    """What _NAMED_AS_RE's words become: nothing, so the name after them is the place,
    unless a vehicle's words come before words that are no name."""
    after = found.string[found.end():found.end() + 1]
    if _VEHICLE_FOUND_RE.search(found.group(0)) and not (after.isupper() or after.isdigit()):
        return found.group(0)
    return ""


#: Words without which _NAMED_AS_RE cannot match: a cheap test first.
_NAMED_AS_WORDS_RE = re.compile(
    r"known as|called|named|located|found|recovered|abandoned|dumped")
#: A form's field that says where ("Theft of motorcycle. Location: motorcycle bay, Sise
#: Lane"): what comes before it is not the place.
_LOCATION_FIELD_RE = re.compile(
    r"\b(?:(?:location|address|loc|place|scene)\s*" + _OF_WHAT + r"|location|address|loc|locus|"
    + _PICK_UP + r")\s*[:=]", re.I)
#: police.uk's own label as a field of an export line ('...;"Other theft";"On or near X";...').
_LABEL_FIELD_RE = re.compile(r"(?<=[;,|\t\"'])\s*[\"']?\s*on\s+or\s+near\b", re.I)
#: A letter or an email: its greeting first, its sign-off last ("Dear all", "Hi team",
#: "Regards", "Many thanks").
_LETTER_WORDS_RE = re.compile(
    r"^\s*(?:dear|hi|hello|hiya|good\s+(?:morning|afternoon|evening)|(?:kind\s+|best\s+)?"
    r"regards|(?:many\s+)?thanks|thank\s+you|cheers|best\s+wishes|yours\s+(?:sincerely|"
    r"faithfully))\b", re.I)
#: An @ with a letter on each side and no full stop after it ("st mary@hill"; not an email).
_GLUED_AT_RE = re.compile(r"(?<=[a-z])@(?=[a-z]+\b(?!\.))", re.I)
#: A name spelt out letter by letter ("fingerspells S-K-I-N-N-E-R-S LANE", "F-L-E-E-T ST"):
#: three letters or more, each joined by a hyphen.
_SPELT_OUT_RE = re.compile(r"\b(?:[a-z]-){2,}[a-z]\b", re.I)
#: A transcript's speaker ("operator: where are you caller: all gate um outside ..."): each
#: turn is a part of its own.
_SPEAKER_RE = re.compile(
    r"(?:^|(?<=[\s.,;]))(?:operator|caller|officer|call\s+handler|handler|control|dispatcher|"
    r"witness|victim|male|female|pc(?:\s*\d+)?|unit(?:\s*\d+)?)\s*:\s*", re.I)
#: Words a speaker fills a pause with, which a transcript writes down: never a name's.
_FILLERS = r"u+m+|e+r+m*|u+h+m*|h+m+"
_FILLER_RE = re.compile(rf"\b(?:{_FILLERS})\b[,.]?\s*", re.I)
#: Letters or figures said one at a time ("G R E E N lane", "E C 4", "A 5 6 5").
_SAID_ONE_BY_ONE_RE = re.compile(r"(?<!\S)(?:[a-z\d] ){2,}[a-z\d](?!\S)", re.I)
#: What letters said one at a time may spell: a word, a road's number, a postcode district.
_SPELT_WORD_RE = re.compile(r"^(?:[a-z]{3,}|[abm]\d{1,4}|[a-z]{1,2}\d[a-z\d]?)$", re.I)
#: What only a transcript of speech has, in lower case: a pause's filler, or three letters
#: said one at a time.
_TRANSCRIBED_RE = re.compile(rf"(?:^| )(?:{_FILLERS}|[a-z\d] [a-z\d] [a-z\d])(?=[ ,.]|$)")
#: A letter written three times over ("streeet"): a slip, never a name's (not I, for III).
_TRIPLED_RE = re.compile(r"([a-hj-zA-HJ-Z])\1{2,}")
#: A form's field that is not the place: "Date: 09/10", "Time: 2300", "Crime ref: 123".
_OTHER_FIELD_RE = re.compile(
    r"^[\s.:;-]*(?:date|time|when|crime\s+ref|ref|reported(?:\s+by)?|officer|vrm|reg)\s*[:=]", re.I)
#: A part that is only a log's heading ("CG LOG", "Coastguard log", "OP LOG"), its time cut off.
_LOG_HEADER_RE = re.compile(r"^\s*(?:[a-z]+\s+){0,2}log\s*[:.]?\s*$", re.I)
#: A date: "09/10", "12/03/2024" (never a junction of two numbers).
_DATE_RE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
#: An intelligence report's grading ("B/2/1": source, information, handling), no place.
_GRADING_RE = re.compile(r"(?<![\w/])[A-E]/[1-5]/[1-5](?![\w/])\.?", re.I)
#: A part that says what the place lies between.
_BETWEEN_RE = re.compile(r"^\s*between\s", re.I)
#: A part that says where someone went: "towards Lime Street", "heading for Bank".
_GONE_TOWARDS_RE = re.compile(
    r"^\s*(?:just\s+)?(?:towards|toward|twds|twd|heading)\b", re.I)
#: A control room's camera: "CAM 22", "cctv cam 3", "camera 14".
_CAMERA_RE = re.compile(r"\b(?:cctv\s+)?cam(?:era)?\s*\d+[a-z]?\b", re.I)
#: A locating word that begins a later part: "(off Queen Victoria St)", ", nr Bank stn".
_LEADING_LOCATOR_RE = re.compile(
    r"^\s*(?:just\s+)?(?:off(?!\s+licen[cs]e)|nr\.?|near|opp\.?|opposite|by|behind|adj\.?"
    r"|adjacent|next\s+to|outside|rear\s+of|(?:up|down|round|across)\s+from)\s", re.I)
#: A victim taken somewhere ("male followed the victim into Apothecary Street", "dragged her
#: into the alley off Cheapside"): the offence is where they were taken, whatever place the
#: text names first. (Where a suspect ran off to is not: that is where they went after.)
_TAKEN_INTO_RE = re.compile(
    r"\b(?:followed|dragged|pulled|lured|forced|bundled|pushed|chased|taken|led"
    # ...and where what happened moved on to: "fare dispute carried on off the bus and into
    # Sun St Passage"
    r"|carried\s+on|continued|spilled(?:\s+out)?|spilt(?:\s+out)?)\b.*?"
    r"\binto\s+(?P<place>\S.*)$", re.I)
#: Words a sentence places things with, which no premises' name holds ("the fight on Tower").
_SENTENCE_WORDS = frozenset(["on", "at", "in", "near", "nr", "from", "to", "by"])
#: A door of premises written after the street it opens on ("One New Change, Bread Street
#: entrance", "Tokenhouse Yard entrance (off Lothbury)"): that part names the street.
_ACCESS_WORD_RE = re.compile(r"\s+(?:main\s+|side\s+|rear\s+|front\s+)?(?:entrance|exit|gates?"
                             r"|doors?|side)$", re.I)
#: Access words that end names too ("Moorgate", "Cheapside" written "moor gate", "cheap side").
_NAME_ENDING_ACCESS = frozenset(["gate", "gates", "side"])


def _without_access_word(part: str) -> str:
    """A part without the door it names ("Bread Street entrance": Bread Street). A bare
    "gate" or "side" is a door only after a street type ("Finsbury Circus gates", "Bread St
    side"); after another word it may be half of a name written apart ("on bishops gate")."""
    found = _ACCESS_WORD_RE.search(part)
    if found is None:
        return part
    rest = part[:found.start()]
    last = normalise_name(rest).split()[-1:]
    if (found.group(0).split()[0].lower() in _NAME_ENDING_ACCESS
            and not set(last) & ROAD_TYPE_TOKENS):
        return part
    return rest
#: Back alleys written by what they run behind ("jigger behind Stanley Rd", "the entry off
#: Westminster Rd"): Liverpool's and the North's gazetteers name many "Back <street>".
BACK_ALLEY_WORDS: frozenset[str] = frozenset([
    "jigger", "jiggers", "entry", "back entry", "alley", "alleyway", "back alley", "ginnel",
    "gennel", "snicket", "backs", "the backs", "back lane", "back jigger"])
#: "(the jigger at the) back of <street>": the Back street of that name, where there is one.
_BACK_OF_RE = re.compile(
    r"^(?:the\s+)?(?:(?:" + "|".join(sorted(BACK_ALLEY_WORDS, key=len, reverse=True))
    + r")\s+)?(?:at\s+the\s+|in\s+the\s+)?back\s+of\s+(?:the\s+)?(?P<street>\S.*)$")
#: What an incident log writes after a location: an approximate time, a log or reference
#: number ("Broad La. approx 1400hrs", "Haydock St ref log 0312"); not part of the name.
_LOG_NOTE_RE = re.compile(
    r"""(?:\s+(?:approx\.?|approximately|circa|about)(?:\s+\d{1,2}[:.]?\d{2}\s*(?:hrs?|hours)?)?
         | \s+(?:ref(?:erence)?\.?|log|cad|incident|occ|crime)(?:\s+(?:ref|log|no\.?|number))*
           \s*[#:]?\s*[a-z]{0,3}[-/]?\d[\w/-]*
         | \s+\d{1,2}:\d{2}(?:\s*hrs?)?
         | \s+\d{3,4}\s*hrs?
        )+\s*$""",
    re.I | re.X,
)
#: A direction of travel written after a road's name ("A580 eastbound", "Farringdon St S/B"):
#: a note, not a word of the name.
_DIRECTION_RE = re.compile(r"\b(?:north|south|east|west)bound(?:\s+carriageway)?\b"
                           r"|(?<=\d)\s+[nsew]b\b", re.I)  # "A100 NB"
#: Words that qualify a name and may be written after it, inverted ("Mann St, Upper").
_QUALIFIERS = frozenset(["upper", "lower", "north", "south", "east", "west", "great", "little",
                         "old", "new", "higher", "middle"])
#: Texts that say there is no place to find: a crime committed online or by telephone, a
#: location not known, withheld or to follow. They name nothing; never a slip of a place's
#: name ("Other" is no "Rother", "At sea" no "Stead").
NO_PLACE_TEXTS: frozenset[str] = frozenset([
    "online", "on line", "internet", "the internet", "online fraud", "cyber", "social media",
    "telephone", "by telephone", "mobile phone", "email", "by email",
    "unknown", "not known", "unknown location", "location unknown", "location not known",
    "n k", "nk", "not recorded", "no location", "none", "nil", "n a", "not applicable",
    "various", "various locations", "multiple locations", "other", "elsewhere", "misc",
    "tba", "tbc", "to follow", "details to follow", "see log", "refer to log", "see crime",
    "withheld", "location withheld", "address withheld", "redacted", "private address",
    "home address", "victims home", "victims address", "no fixed abode", "nfa",
    "at sea", "sea", "abroad", "outside uk", "overseas", "in transit", "unspecified",
    "uk", "gb", "united kingdom", "great britain",
])
#: Premises named by their kind ("St Bartholomew's Hospital", "Liverpool Street station",
#: "One New Change shopping centre"): the last words of a name that say what it is, and the
#: police.uk place type of that kind ("" where police.uk has none). Premises so named, then
#: a street ("..., West Smithfield"), are on that street, as "Tesco, Fleet Street" is.
PREMISES_KINDS: dict[str, str] = {
    "hospital": "hospital", "police station": "police station", "bus station":
    "bus coach station", "coach station": "bus coach station", "car park": "parking area",
    "multi storey car park": "parking area", "petrol station": "petrol station",
    "theatre": "theatre concert hall", "concert hall": "theatre concert hall",
    "college": "further higher educational building", "university":
    "further higher educational building", "campus": "further higher educational building",
    "exhibition centre": "conference exhibition centre", "conference centre":
    "conference exhibition centre", "shopping centre": "shopping area", "airport":
    "airport airfield", "nightclub": "nightclub", "supermarket": "supermarket",
    "superstore": "supermarket", "hotel": "hotel", "cinema": "cinema", "school": "school",
    "station": "", "stn": "", "railway station": "", "tube station": "", "museum": "",
    "cathedral": "", "library": "", "office": "", "offices": "", "tower": "", "house": "",
}


#: Premises named by their kind, then where they are: "the police station at Snow Hill",
#: "the hospital on Prescot Street": the kind, then the street, as after a comma.
_PREMISES_AT_RE = re.compile(
    r"\b(?P<kind>" + "|".join(sorted((re.escape(k) for k in PREMISES_KINDS if " " in k
                                      or k not in ("house", "tower", "office", "offices")),
                                     key=len, reverse=True))
    + r")\s+(?:at|on|in)\s+(?=\S)", re.I)


def premises_kind(key: str) -> str | None:
    """The police.uk place type ("" when it has none) of premises named by their kind
    (:data:`PREMISES_KINDS`, the longest ending first), for a name of two words or more;
    None for any other key."""
    tokens = key.split()
    for n in (3, 2, 1):
        # a kind after a name ("aldgate bus station"), or a kind of several words alone
        # ("bus station"); one word alone ("hospital") is the place type itself
        if len(tokens) > n or (n > 1 and len(tokens) == n):
            kind = PREMISES_KINDS.get(" ".join(tokens[-n:]))
            if kind is not None:
                return kind
    return None


#: What an export writes in a field it has nothing for ("N/A, Orchard Place, London"): a
#: part that is only this is no part of the place; the text's other parts still name it.
EMPTY_FIELD_TEXTS: frozenset[str] = frozenset([
    "n a", "na", "nil", "none", "null", "blank", "not applicable", "no data", "not given",
    "unnamed road", "unnamed street"])  # a satnav's road with no name: the next part says
#: A small figure written first, before a word ("3 Tuns Lane").
_SMALL_NUMBER_FIRST_RE = re.compile(r"\s*(\d{1,2})\s+\D")
#: Numbers written as figures that names spell as words ("3 Tuns Lane": Three Tuns Lane).
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "eleven", "twelve")
#: A compass point written as one letter before or after a name ("E Harding St", "Durham
#: Mews E"): read as the word when the name as written is unknown.
COMPASS_LETTERS = {"n": "north", "s": "south", "e": "east", "w": "west"}
#: The first words of names a writer shortens ("L.Thames St", "U Thames St", "Mid Temple
#: Lane", "K William St"; "Gt" is already Great): each tried where the name as written is
#: unknown, since some names have the short word ("Mid Yell").
INITIAL_WORDS = {"l": ("lower", "little", "long"), "u": ("upper",), "g": ("great",),
                 "o": ("old",), "mid": ("middle",), "k": ("king", "kings"),
                 "q": ("queen", "queens"),
                 # "bk lime st": Liverpool's back entries behind a street (Back Lime Street)
                 "bk": ("back",)}


def words_a_first_word_stands_for(word: str) -> tuple[str, ...]:
    """The words a name's shortened first word may stand for: a compass point ("n": north)
    or INITIAL_WORDS ("l": lower, little, long); none for any other word."""
    if word in COMPASS_LETTERS:
        return (COMPASS_LETTERS[word],)
    return INITIAL_WORDS.get(word, ())
#: A postcode written after a name ("Moorgate EC2", "Cheapside EC2V 6AA", "..., EC4M5LU",
#: a sector "TN29 7"): outward code (area, district digit, optional letter or digit), then an
#: optional inward code or sector digit.
_TRAILING_POSTCODE_RE = re.compile(
    r"(?:^|[\s,;]+)(?P<out>[a-z]{1,2}\d[a-z\d]?)(?:\s*(?P<in>\d[a-z]{2})|\s+(?P<sector>\d))?\s*$",
    re.I
)
#: One-letter postcode areas that are also road classes: "M1", "B12", "A40" alone are roads.
_ROAD_CLASS_LETTERS = frozenset("abm")
#: The United Kingdom's postcode areas (the letters of an outward code).
_POSTCODE_AREA_LETTERS = """
    ab al b ba bb bd bh bl bn br bs bt ca cb cf ch cm co cr ct cv cw da dd de dg dh dl dn dt
    dy e ec eh en ex fk fy g gl gu gy ha hd hg hp hr hs hu hx ig im ip iv je ka kt kw ky l la
    ld le ll ln ls lu m me mk ml n ne ng nn np nr nw ol ox pa pe ph pl po pr rg rh rm s sa se
    sg sk sl sm sn so sp sr ss st sw sy ta td tf tn tq tr ts tw ub w wa wc wd wf wn wr ws wv
    yo ze"""
POSTCODE_AREAS = frozenset(_POSTCODE_AREA_LETTERS.split())
#: A postcode district or sector written before the name, as satnavs and address lookups put
#: it ("ZE2 9 Nikkavord Lea", "TN29 9NA Pleasance Rd"): the outward code, and an inward code
#: or sector digit, then a word.
_LEADING_POSTCODE_RE = re.compile(
    r"^\s*(?P<out>(?P<area>[a-z]{1,2})\d[a-z\d]?)(?:\s+(?P<in>\d(?:[a-z]{2})?))?\s+(?=[a-z])",
    re.I)
#: Trailing words naming the whole town or country, written with no comma before them
#: ("Willis Close London"): they are area hints, not part of the street's name.
TOWN_WORDS: tuple[str, ...] = ("city of london", "london", "uk", "england", "united kingdom")
#: Shop brands written instead of the place ("outside Tesco"): their police.uk place type.
BRAND_PLACES: dict[str, str] = {
    **dict.fromkeys(
        ["tesco", "tesco express", "tesco metro", "sainsburys", "sainsburys local", "co op",
         "coop", "the co operative", "waitrose", "little waitrose", "m and s", "m and s food",
         "marks and spencer", "lidl", "aldi", "asda", "morrisons", "iceland", "spar",
         "budgens", "londis", "nisa", "costcutter", "whole foods", "whole foods market"],
        "supermarket"),
}


#: Street types whose misspelling at the end of a name is put right before fuzzy matching
#: ("Stret", "Steeet", "Raod", "Plaec"), with the slips allowed: one for four- and five-letter
#: types, two for longer ones. Others ("hill", "row", "way") are too close to ordinary words.
SLIP_TYPES: tuple[str, ...] = (
    "street", "road", "lane", "avenue", "square", "place", "crescent", "gardens", "court",
    "terrace", "close", "grove", "drive", "passage", "buildings", "alley",
)


#: Brands by their first word, longest first: a key is checked only against its own word's.
_BRANDS_BY_FIRST_WORD: dict[str, list[str]] = {}
for _brand in sorted(BRAND_PLACES, key=len, reverse=True):
    _BRANDS_BY_FIRST_WORD.setdefault(_brand.split()[0], []).append(_brand)
_LEADING_NUMBER_RE = re.compile(r"^\d+[a-z]?(?:\s*-\s*\d+[a-z]?)?\s+")


def _brand_before_name(key: str) -> str | None:
    """The shop brand a key starts with when a name follows it ("tesco metro 12 cheapside" ->
    "tesco metro"), as if written "Tesco Metro, 12 Cheapside"; None otherwise, and when only
    a street type follows ("Iceland Road" is a street)."""
    if key in BRAND_PLACES:
        return None
    for brand in _BRANDS_BY_FIRST_WORD.get(key.split(" ", 1)[0], ()):
        if key.startswith(brand + " "):
            rest = _LEADING_NUMBER_RE.sub("", key[len(brand) + 1:])
            return brand if set(rest.split()) - ROAD_TYPE_TOKENS else None
    return None


def _type_slip_fixed(key: str) -> str:
    """`key` with a misspelt or cut-off final street type put right ("old brad steet" ->
    "old brad street", "austin friars squ" -> "austin friars square": a field of fixed
    width ends mid-word); unchanged when the last word is a known type or close to none."""
    toks = key.split()
    if len(toks) < 2 or toks[-1] in ROAD_TYPE_TOKENS or len(toks[-1]) < 3:
        return key
    fixed = _slip_type(toks[-1]) if len(toks[-1]) >= 4 else None
    if fixed is None:
        cut_off = [t for t in SLIP_TYPES if t.startswith(toks[-1])]
        fixed = cut_off[0] if len(cut_off) == 1 else None
    return key if fixed is None else " ".join([*toks[:-1], fixed])


@lru_cache(maxsize=65_536)
def _slip_type(word: str) -> str | None:
    """The street type `word` is a slip of, or None (memoised: last words repeat)."""
    for t in SLIP_TYPES:
        if abs(len(t) - len(word)) <= 2 and OSA.distance(word, t) <= (1 if len(t) <= 5 else 2):
            return t
    return None


def _written_as_a_name(text: str) -> bool:
    """Whether words read as a name: capitalised ("Apothecary Street", "the Minories"), or
    with a street type ("apothecary st"); "the burn", "the field" are things, not places."""
    words = text.split()
    if words and words[0].lower() == "the":
        words = words[1:]
    if not words:
        return False
    return words[0][:1].isupper() or words[0][:1].isdigit() or _has_street_type(
        " ".join(words[:5]))


def _has_street_type(text: str) -> bool:
    """Whether one of the words of `text`, normalised, is a street type ("st", "Road")."""
    return not ROAD_TYPE_TOKENS.isdisjoint(normalise_name(text).split())


def _is_greeting(part: str) -> bool:
    """Whether a first part is a letter's greeting alone ("Dear all", "Hi team"): a caller's
    "hi, Stuart Road" or "hello erm it's Throgmorton Avenue" is not (a street type, or more
    than four words)."""
    return (_LETTER_WORDS_RE.match(part) is not None and len(part.split()) <= 4
            and not _has_street_type(part))


def _leading_postcode_split(part: str) -> tuple[str, str | None]:
    """Split a postcode district or sector written before a name off a comma part: ("Nikkavord
    Lea", "ZE2") from "ZE2 9 Nikkavord Lea". Only a real postcode area's code, never a road's
    number ("A565 Crosby Rd", "M62 J6")."""
    m = _LEADING_POSTCODE_RE.match(part)
    if m is None or m.group("area").lower() not in POSTCODE_AREAS or is_road_number(
            m.group("out").lower()):
        return part, None
    return part[m.end():].strip(), m.group("out").upper()


def _postcode_split(part: str) -> tuple[str, str | None]:
    """Split a trailing postcode off a comma part: ("Cheapside", "EC2V") from
    "Cheapside EC2V 6AA". A lone "A40", "M1" or "B12" stays: it is more likely a road."""
    if not _HAS_DIGIT_RE.search(part):  # most parts: a postcode has a figure
        return part, None
    m = _TRAILING_POSTCODE_RE.search(part)
    if not m:
        return part, None
    out = m.group("out")
    bare = m.group("in") is None and m.group("sector") is None
    if bare and len(out) <= 3 and out[0].lower() in _ROAD_CLASS_LETTERS and out[1:].isdigit():
        return part, None
    if bare and out[1:2].isalpha() and out[:2].lower() in ("st", "rd", "ln"):
        return part, None  # not a postcode area, an abbreviation glued to a digit
    return part[: m.start()].strip(), out.upper()


#: A full postcode: outward code, then inward code ("ZE2 9EJ", "tn29 9na", "EC4Y0AN").
_POSTCODE_UNIT_RE = re.compile(r"\b([a-z]{1,2}\d[a-z\d]?)\s*(\d[abd-hjlnp-uw-z]{2})\b", re.I)


def _postcode_unit(text: str) -> str | None:
    """The key of the first full postcode in `text` ("ze2 9ej"), or None."""
    m = _POSTCODE_UNIT_RE.search(text or "")
    return f"{m.group(1)} {m.group(2)}".lower() if m else None


def _worded(key: str) -> bool:
    """Whether a key has a letter: "12" or "12 14" names nothing."""
    return any(ch.isalpha() for ch in key)


def _strip_shorthand(text: str) -> str:
    """Remove police shorthand before a name ("o/s", "r/o", "land adjacent to", ...)."""
    for _ in range(3):
        stripped = _SHORTHAND_RE.sub("", text, count=1)
        if stripped == text or not stripped.strip():
            break
        text = stripped
    return text.strip()


def _strip_house(text: str) -> str:
    """Remove a flat prefix and a leading house number ("Flat 3, 12a High St" -> "High St")."""
    if not _HAS_DIGIT_RE.search(text):  # most texts: both patterns need a figure
        return text.strip()
    stripped = _HOUSE_PREFIX_RE.sub("", text, count=1)
    if stripped == text:
        stripped = _FLAT_ONLY_RE.sub("", text, count=1)
    # Never strip the whole name away, and keep road numbers such as "A 40".
    return stripped.strip() if stripped.strip() else text.strip()


def _spell_out_slashed_shorthand(text: str) -> str:
    """Police shorthand with a slash spelt out ("Fleet St o/s 12" -> "Fleet St outside 12"),
    so that only the slashes left can be read as junctions."""
    if "/" not in text:
        return text
    return _SLASH_SHORTHAND_RE.sub(lambda m: _SLASH_SHORTHAND[m.group(1).lower()] + " ", text)


def _junction_part(text: str, *, before: bool = False) -> str:
    """The key of one street of a junction's pair: its first comma part without shorthand,
    house number or junction words ("junction of 12 Cheapside" -> "cheapside"); "" when
    what is left names no street: words that join names ("Cheapside (junction of)") or a
    street type alone ("Liverpool Street / street").

    ``before``: the street written before the junction word, which binds the comma part
    nearest it, so the last part that reads as a street ("Cyclist knocked off at Ludgate
    Circus, New Bridge St j/w Ludgate Hill"; "Fleet St, London j/w Fetter Lane" still reads
    Fleet Street), else the first."""
    parts = text.split(",")
    streets = [p for p in parts if len(toks := normalise_name(p).split()) >= 2
               and toks[-1] in ROAD_TYPE_TOKENS] if before else []
    part = _postcode_split(streets[-1] if streets else parts[0])[0]  # "Bloomfield St EC2"
    key = normalise_name(_strip_house(_strip_shorthand(_JUNCTION_WORDS_RE.sub("", part))))
    words = set(key.split())
    if words <= _JOINING_WORDS or words <= ROAD_TYPE_TOKENS or not _worded(key):
        return ""  # ..., nor a number alone ("Date: 09/10")
    return key


def _reads_as_street(text: str) -> bool:
    """Whether a text reads as a street's name: two words or more, the last a street type."""
    toks = normalise_name(text).split()
    return len(toks) >= 2 and toks[-1] in ROAD_TYPE_TOKENS and toks[-2] not in ROAD_TYPE_TOKENS


def _street_and_slashed_place(text: str) -> tuple[str, str] | None:
    """A street and a place type that has a slash of its own ("Nun Court/Bus/Coach Station",
    police.uk's "Bus/Coach Station", "Park/Open Space"): split beside the part that reads as a
    street; None for any other text."""
    pieces = text.split("/")
    if len(pieces) != 3 or not all(p.strip() for p in pieces):
        return None
    first, middle, last = (p.strip() for p in pieces)
    if _reads_as_street(first) and not _reads_as_street(f"{middle}/{last}"):
        return first, f"{middle}/{last}"
    if _reads_as_street(last) and not _reads_as_street(f"{first}/{middle}"):
        return f"{first}/{middle}", last
    return None


_DIGIT_WORDS = {"zero": 0, "oh": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4,
                "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEEN_WORDS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
               "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
               "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = "|".join([*_DIGIT_WORDS, *_TEEN_WORDS, *_TENS_WORDS, "hundred"])
#: A road number spoken and written down as words, as a control room's transcription does
#: ("the A forty westbound", "on the a three oh one", "B nine oh eight four"): only where the
#: words end the text or a part, or come before a direction, "road" or a locating word, so
#: "a one way street" stays words.
_SPOKEN_ROAD_RE = re.compile(
    rf"""\b(?P<cls>[abm])\s+(?P<words>(?:{_NUMBER_WORD})(?:\s+(?:and\s+)?(?:{_NUMBER_WORD}))*)
        (?=\s*$|\s*[,;(]|\s+(?:(?:north|south|east|west)bound|[nsew]/?b|road|rd|at|near|nr
                                 |by|j/w|jw|junction|jct|outside|o/s|opp)\b)""",
    re.I | re.X)
#: ...or after "the", whatever follows ("note the a fifty nine someone threw something",
#: "the b nine oh eight two tell the police"), but a one-way street.
_SPOKEN_ROAD_AFTER_THE_RE = re.compile(
    rf"""(?<=\bthe\s)(?P<cls>[abm])\s+(?P<words>(?:{_NUMBER_WORD})(?:\s+(?:and\s+)?(?:{_NUMBER_WORD}))*)
        \b(?!\s+way\b)""",
    re.I | re.X)


def _spoken_number(words: list[str]) -> str:
    """The figures of a road number spoken as words: groups read in turn ("three oh one" ->
    301, "two forty" -> 240, "forty one" -> 41, "one hundred" -> 100); "" when not one."""
    out, i = "", 0
    words = [w for w in words if w != "and"]
    while i < len(words):
        w = words[i]
        if w in _DIGIT_WORDS and i + 1 < len(words) and words[i + 1] == "hundred":
            rest = _spoken_number(words[i + 2:]) if i + 2 < len(words) else ""
            if len(rest) > 2:
                return ""
            out += str(_DIGIT_WORDS[w] * 100 + int(rest or 0))
            return out if len(out) <= 4 else ""
        if w in _TENS_WORDS:
            if i + 1 < len(words) and words[i + 1] in _DIGIT_WORDS and _DIGIT_WORDS[
                    words[i + 1]]:
                out += str(_TENS_WORDS[w] + _DIGIT_WORDS[words[i + 1]])
                i += 2
                continue
            out += str(_TENS_WORDS[w])
        elif w in _TEEN_WORDS:
            out += str(_TEEN_WORDS[w])
        elif w in _DIGIT_WORDS:
            out += str(_DIGIT_WORDS[w])
        else:
            return ""
        i += 1
    return out if 0 < len(out) <= 4 and out[0] != "0" else ""


#: The radio alphabet, as officers spell names, road numbers and postcodes over the air.
_RADIO_LETTERS = {word: word[0].upper() for word in (
    "alpha", "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec",
    "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "whisky", "xray", "x-ray",
    "yankee", "zulu")}
_RADIO_DIGITS = {**{w: str(d) for w, d in _DIGIT_WORDS.items()}, "niner": "9"}
_RADIO_WORDS = frozenset({*_RADIO_LETTERS, *_RADIO_DIGITS})
_RADIO_RUN_RE = re.compile(
    r"\b(?:" + "|".join(sorted({*_RADIO_LETTERS, *_RADIO_DIGITS}, key=len, reverse=True))
    + r")(?:(?:\s+|\s*,\s*)(?:" + "|".join(sorted({*_RADIO_LETTERS, *_RADIO_DIGITS}, key=len,
                                                     reverse=True)) + r"))+\b", re.I)


def _spelt_by_radio(text: str) -> str:
    """`text` with what an officer spelt in the radio alphabet written out: "Foxtrot Lima Echo
    Echo Tango Street" -> "FLEET Street", "Alpha one zero zero" -> "A100", "Tango November Two
    Niner, Niner Juliet Hotel" -> "TN29 9JH". Only runs of three words or more, or of two with
    a figure, and at least one letter ("Sierra Papa" and "one two" stay words)."""
    def letters(m: re.Match) -> str:
        words = re.split(r"\s*,\s*|\s+", m.group(0).lower())
        if not any(w in _RADIO_LETTERS for w in words) or not (
                len(words) >= 3 or any(w in _RADIO_DIGITS for w in words)):
            return m.group(0)
        spelt = "".join(_RADIO_LETTERS.get(w) or _RADIO_DIGITS[w] for w in words)
        unit = re.fullmatch(r"([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})", spelt)
        return f"{unit.group(1)} {unit.group(2)}" if unit else spelt

    if not text or _RADIO_WORDS.isdisjoint(text.lower().split()):
        return text
    return _RADIO_RUN_RE.sub(letters, text)


def _spoken_road_numbers(text: str) -> str:
    """`text` with road numbers spoken as words written as figures ("a forty" -> "a40")."""
    def figures(m: re.Match) -> str:
        number = _spoken_number(m.group("words").lower().split())
        # lower case: the text did not spell the road's name as written
        return f"{m.group('cls').lower()}{number}" if number else m.group(0)

    if not text:
        return text
    text = _SPOKEN_ROAD_RE.sub(figures, text)
    low = text.lower()
    if "the a " in low or "the b " in low or "the m " in low:  # most texts have none
        text = _SPOKEN_ROAD_AFTER_THE_RE.sub(figures, text)
    return text


def _any_of(*words: str) -> re.Pattern:
    """A pattern found in a lower-case text wherever one of `words` is (no case folding)."""
    return re.compile("|".join(re.escape(word) for word in words))


#: What a text must hold, in lower case, for a reading below to apply (each word is one every
#: match of that reading's pattern holds): most texts hold none, and a look for the words is
#: cheaper than the reading's pattern.
_LOCATOR_WORDS = _any_of(  # _LOCATOR_BREAK_RE
    "@", "nr", "near", "opp", "outside", "adj", "next", "behind", "rear", "by", "front", "off",
    "from", "past", "close", "toward", "twd", "seen", "heading", "between")
_LOG_NOTE_WORDS = _any_of("approx", "circa", "about")  # _LOG_NOTE_RE's, besides figures
_JUNCTION_WORDS = _any_of("junction", "jct", "jn", "jw", "corner", "/", "and", "&")
_TOWN_ENDINGS = tuple(" " + town for town in TOWN_WORDS)


def _may_hold(text: str, words: re.Pattern) -> bool:
    """Whether `text`, in lower case, holds one of the words `words` looks for."""
    return words.search(text.lower()) is not None


@lru_cache(maxsize=65_536)
def parse_query(text: str) -> ParsedQuery:
    """Split a location as a force writes it into name key, area keys and junction parts.

    Reads, in order: "On or near"; police shorthand before the name ("o/s", "r/o", "opp",
    "nr", "adj", "land adjacent to", "car park of", "outside"); a junction ("junction of X and
    Y", "X j/w Y", "X/Y"); comma parts, of which the first is the name and the rest area hints;
    a postcode at the end of any part (kept as ``postcode``, never part of the name); a flat,
    unit or house number before the name ("Flat 3, 41", "Unit 2", "1-3"); a trailing town
    without a comma ("... London").
    """
    # a typed dash ("Foster La EC2V – graffiti", as word processors and phones make " - ")
    # is a hyphen to every reading below
    raw = (text or "").translate(_DASHES)
    if "&" in raw and ";" in raw:  # an export's HTML entities: "St Helen&#39;s Place"
        raw = html.unescape(raw)
    # The rarer readings below are tried only where a cheap look at the text says they may
    # apply: most texts are a name and a few words, and parse_query runs once per distinct text.
    low = raw.lower()
    if ":" in raw and _SPEAKER_RE.search(raw):
        raw = _as_spoken_turns(raw)
    if _TRANSCRIBED_RE.search(low):
        raw = _as_transcribed(raw)
    typed_after: tuple[str, ...] = ()  # names whose type was written before them
    if "the " in low and _TYPE_FIRST_HINT_RE.search(low):
        raw, typed_after = _type_after_name(raw)
    if raw is not text:
        low = raw.lower()
    located = _LOCATION_FIELD_RE.search(raw) if ":" in raw or "=" in raw else None
    if located is None and "on or near" in low:  # '551902;"2022-08";"Other theft";"On or near
        located = _LABEL_FIELD_RE.search(raw)     # Switch House Avenue";"TN29"'
    if located is not None and located.start():  # "Theft of motorcycle. Location: ..."
        raw = raw[located.start():]
    raw = _TRIPLED_RE.sub(r"\1\1", raw)  # "devas streeet"
    if "@" in raw:  # "st mary@hill": a name's "at" written as a sign, not a locating word
        raw = _GLUED_AT_RE.sub(" at ", raw)
    raw = _CAMEL_TYPE_RE.sub(" ", raw)  # "CamomileSt"
    if "-" in raw:
        raw = _SPELT_OUT_RE.sub(lambda m: m.group(0).replace("-", ""), raw)
    raw = radio_text = _spelt_by_radio(raw)
    if "/" in raw:
        raw = _DATE_RE.sub(" ", _GRADING_RE.sub(" ", raw))
    raw = _spoken_road_numbers(raw)
    if ":" in raw or "=" in raw:  # a field's name needs one
        raw = _FIELD_LABEL_RE.sub(_field_label, raw)
    raw = _strip_shorthand(_spell_out_slashed_shorthand(strip_prefix(raw.strip(" ,"))))
    if ":" in raw:
        raw = _TYPE_COLON_RE.sub(r"\1, ", raw)
    postcode = None
    parts = []
    whole = ""  # the first part as one name, when a locating word broke it
    # a bracketed note is a part as a comma or a spaced dash makes one: "Fleet St (o/s 100)";
    # so is what follows a locating word inside the text: "Eldon St nr Liverpool St stn"
    if " at " in low or " on " in low or " in " in low:
        raw = _PREMISES_AT_RE.sub(r"\g<kind>, ", raw)
    raw = _sentence_ends_as_breaks(raw)
    if raw.count(" / ") > 1:  # "L7 / Adelaide Rd / Kensington / Ward: ...": fields, not a junction
        raw = raw.replace(" / ", "; ")
    near_later = False
    near_parts: set[str] = set()
    named_as = _NAMED_AS_WORDS_RE.search(low) is not None
    has_digit = _HAS_DIGIT_RE.search(raw) is not None
    # The cheap looks below test words in lower case: exact for ASCII only (a regular
    # expression's IGNORECASE also folds "ſ" to "s", "K" to "k"); other texts are read whole.
    ascii_text = raw.isascii()
    breaks = (_PART_BREAK_RE if has_digit or "   " in raw or " . " in raw or "cam" in low
              else _PART_BREAK_PLAIN_RE)
    for piece in breaks.split(raw):
        if named_as:
            piece = _NAMED_AS_RE.sub(_named_as, piece)
        leads = bool(parts and _LEADING_LOCATOR_RE.match(piece))
        near_later = near_later or leads
        pieces = (_LOCATOR_BREAK_RE.split(piece) if not ascii_text or _may_hold(
            piece, _LOCATOR_WORDS) else [piece])
        if len(pieces) > 1 and not parts and piece.strip():
            whole = normalise_name(_strip_house(_postcode_split(piece.strip())[0]))
        for index, p in enumerate(pieces):
            p = p.strip().rstrip(":")
            if has_digit or not ascii_text or _may_hold(p, _LOG_NOTE_WORDS):
                p = _LOG_NOTE_RE.sub("", p)
            p, pc = _postcode_split(p)
            postcode = postcode or pc
            if p[:1].isalpha() and any(c.isdigit() for c in p[1:5]):  # "ZE2 9 Nikkavord Lea"
                p, pc = _leading_postcode_split(p)
                postcode = postcode or pc
            if p.strip():
                if parts and (index or leads):  # what the place is near, not the place
                    near_parts.add(p.strip())
                parts.append(p.strip())
    fields = ":" in raw or "=" in raw or "log" in low
    parts = [p for p in parts if normalise_name(p) not in EMPTY_FIELD_TEXTS and _worded(p)
             and not (fields and (_LOG_HEADER_RE.match(p) or _OTHER_FIELD_RE.match(p)))
             ] or parts
    if len(parts) > 1 and _is_greeting(parts[0]):
        # an email's or letter's greeting ("Dear all, the front steps onto Queen Victoria
        # St ...") and its sign-off ("... Regards, Colin (caretaker)") are no part of it
        parts = parts[1:]
        ends = [at for at, p in enumerate(parts) if at and _LETTER_WORDS_RE.match(p)]
        parts = parts[:ends[0]] if ends else parts
    if len(parts) == 1 and _ACCESS_WORD_RE.search(parts[0]):
        # "moorgate station moorfields exit": premises, then the street its door opens on
        tokens = parts[0].split()
        for end in range(len(tokens) - 2, 0, -1):
            if _SENTENCE_WORDS & {t.lower() for t in tokens[:end]}:
                continue  # "the fight on Tower Bridge Approach, city side": no premises
            if premises_kind(normalise_name(" ".join(tokens[:end]))) is not None:
                parts = [" ".join(tokens[:end]), " ".join(tokens[end:])]
                break
    # read before the locating words split the sentence: "carried on off the bus and into
    # Sun St Passage"
    for piece in breaks.split(raw) if " into " in low else ():
        taken = _TAKEN_INTO_RE.search(piece)
        if taken is None or not _written_as_a_name(taken.group("place")):
            continue
        # the place taken to first ("Petty Wales by All Hallows church": what it is by after);
        # the rest are hints
        place = _LOCATOR_BREAK_RE.split(taken.group("place"))[0].strip()
        if place:
            parts = [place, *(p for p in parts if place not in p)]
            whole = ""
        break
    if not parts and postcode:  # the text is a postcode or district ("TN29 9NW"): its name
        parts, postcode = [raw.strip()], None
    # "between Fenchurch St and Great Tower St" says where along the street, and names no
    # junction of it
    joined = ((", ".join(p for p in parts if not _BETWEEN_RE.match(p)) if "between" in low
               else "") or ", ".join(parts))
    pair: tuple[str, str] | None = None
    slash_junction = None
    # most texts name no junction: none of the readings below can match them
    if not ascii_text or _may_hold(" ".join([joined, *parts[:1]]), _JUNCTION_WORDS):
        trailing = _TRAILING_JUNCTION_RE.match(joined)
        if trailing:  # "Cheapside/Wood Street junction" is "junction of Cheapside/Wood Street"
            joined = "junction of " + trailing.group("body")
        m = _JUNCTION_RE.match(joined) or _JUNCTION_INFIX_RE.match(joined)
        pair = (m.group("a"), m.group("b")) if m else None
        if m is None:
            pair = _street_and_slashed_place(joined)
        # "Took's Court/Cursitor Street"; never "Bus/Coach Station", nor a slash in a later
        # part that says no junction ("Brooks Alley, Liverpool L1 (by Seel St/ Bold St)":
        # what the place is by; but "Bilking - ran off at Queen St/Cannon St junction")
        if m is None and pair is None and parts and (
                "/" in parts[0] or _JUNCTION_NAMED_RE.search(joined)):
            m = _JUNCTION_SLASH_RE.match(joined)
            if m is not None:
                left = normalise_name(m.group("a")).split()
                if len(left) < 2 and not (left and left[-1] in ROAD_TYPE_TOKENS):
                    right = _junction_part(m.group("b"))
                    if left and right and right not in TOWN_WORDS:
                        slash_junction = (left[0], right)
                    m = None
                pair = (m.group("a"), m.group("b")) if m else None
        if pair is None and slash_junction is None:  # "Cheapside & Bread St": if both meet
            both = _AND_PAIR_RE.match(joined)
            if both is not None:
                a, b = _junction_part(both.group("a")), _junction_part(both.group("b"))
                if a and b:
                    slash_junction = (a, b)
        if pair is None:  # "corner of Fleet Street" with no second street: the street
            parts[:1] = [_JUNCTION_WORDS_RE.sub("", parts[0]) or parts[0]] if parts else []
    junction = None
    if pair:
        a, b = _junction_part(pair[0], before=True), _junction_part(pair[1])
        if a and b and a not in TOWN_WORDS and b not in TOWN_WORDS:  # "X / London": a hint
            junction = (a, b)
    if not parts:
        return ParsedQuery(text=text, name="", key="", postcode=postcode)
    # A flat prefix such as "Flat 3," is its own comma part: drop parts that are only that.
    while len(parts) > 1 and re.fullmatch(
        r"(?:flat|apartment|apt|unit|suite|room)\.?\s*[\w/-]*|\d+[a-z]?(?:\s*-\s*\d+[a-z]?)?",
        parts[0], re.I
    ):
        parts = parts[1:]
    first = _strip_shorthand(parts[0])
    name = _strip_house(first)
    if has_digit or not ascii_text or "bound" in first.lower():  # "A100 NB", "northbound"
        name = _DIRECTION_RE.sub(" ", name).strip() or name
    house = _SMALL_NUMBER_FIRST_RE.match(first)  # "3 Tuns Lane": a number, or a name's word?
    # a later part that is a number alone ("Cheapside outside 12") is no area and no name
    areas = [k for k in (normalise_name(_strip_shorthand(p)) for p in parts[1:])
             if _worded(k) and not _POSTCODE_RE.match(k)]
    # where someone went after ("twds Minories") is a hint of the area, never the place
    later_parts = [(p, normalise_name(_without_access_word(_strip_house(_strip_shorthand(p)))))
                   for p in parts[1:] if not _GONE_TOWARDS_RE.match(p)]
    later_parts = [(p, k) for p, k in later_parts
                   if _worded(k) and k not in TOWN_WORDS and not _POSTCODE_RE.match(k)]
    later = tuple(k for _, k in later_parts)
    near_names = tuple(k for p, k in later_parts if p in near_parts)
    key = normalise_name(name)
    # "0", "12-14": a number alone names no place; nor does "Online" or "Not known"
    if not any(ch.isalpha() for ch in key) or key in NO_PLACE_TEXTS:
        return ParsedQuery(text=text, name="", key="", postcode=postcode)
    for town in TOWN_WORDS if key.endswith(_TOWN_ENDINGS) else ():
        # "Willis Close London": the town is an area hint
        if key.endswith(" " + town) and len(key) > len(town) + 1:
            key = key[: -len(town) - 1]
            if name.lower().endswith(town):  # "Cheapside / London": no slash left behind
                name = name[: len(name) - len(town)].rstrip(" /-").strip()
            areas.insert(0, town)
            # "Bell Inn Yard EC3 London": a postcode before the town
            if postcode is None:
                rest, postcode = _postcode_split(key)
                if postcode is not None and rest:
                    key = rest
                    name = _postcode_split(name)[0] or name
                else:
                    postcode = None
            # "Fleet St London", "Moor La EC2 London": the word before the town (or its
            # postcode) was the name's last, so it is read as a last word is
            head, _, last_word = key.rpartition(" ")
            last_word = "street" if last_word == "saint" else FINAL_ABBREVIATIONS.get(
                last_word, last_word)
            key = f"{head} {last_word}" if head else key
            break
    brand = _brand_before_name(key)
    if brand is not None:  # "Tesco Metro Cheapside": the shop, then the street it is on
        rest = _LEADING_NUMBER_RE.sub("", key[len(brand) + 1:])
        # as its own comma part would be: a later name and an area hint (the batch lookup
        # tells texts of one key apart by their area hints)
        later, areas = (rest, *later), [rest, *areas]
        key = name = brand
    road_number = None
    alternatives: list[str] = []
    toks = key.split()
    nums = ([t for t in toks if _ROAD_NUMBER_TOKEN_RE.match(t)]
            if _HAS_DIGIT_RE.search(key) else [])
    road_rest: list[str] = []
    if nums:
        road_number = nums[0]
        road_rest = [t for t in toks if t not in nums]
        if len(road_rest) > 1 and road_rest[0] == "the":  # "the A59 Warbreck Moor"
            road_rest = road_rest[1:]
        rest = " ".join(road_rest)
        if rest and set(rest.split()) <= ROAD_TYPE_TOKENS | {"the"}:
            alternatives.append(road_number)  # "the B9084 road": the road number alone
        elif rest:
            alternatives.append(rest)  # "A40 Western Avenue": the name beside it
    if toks and toks[0] == "the" and len(toks) > 1:
        alternatives.append(" ".join(toks[1:]))
    if later and (key.removeprefix("the ") in BACK_ALLEY_WORDS):
        # "jigger behind Stanley Rd": the back alley of that street, where the area has one
        alternatives.append(f"back {later[0].split(' in ')[0]}")
    back_of = _BACK_OF_RE.match(key) if "back" in key else None
    if back_of is not None:  # "in the jigger back of stanley rd", "back of colquitt st"
        alternatives.append(f"back {back_of.group('street')}")
    inverted = toks[1:] if toks[:1] == ["the"] else toks
    if 2 <= len(inverted) <= 4 and inverted[0] in ROAD_TYPE_TOKENS and not (
            set(inverted[1:]) & ROAD_TYPE_TOKENS):
        # "On street Artizan", "the street King Edward": a street's type written first, as a
        # writer translating "ulica", "strada" or "rue" puts it
        alternatives.append(" ".join([*inverted[1:], inverted[0]]))
    elif 3 <= len(inverted) <= 5 and inverted[0] in ("street", "road") and (
            inverted[-1] in ROAD_TYPE_TOKENS):  # "Street Salisbury Court": the word, then the name
        alternatives.append(" ".join(inverted[1:]))
    if "saint" in toks[1:]:  # "Fish St. Hill": a medial St may be Street after all
        alternatives.append(" ".join(medial_st_as_street(toks)))
    if key in BRAND_PLACES:
        alternatives.append(BRAND_PLACES[key])
    for base in (toks, road_rest):
        if len(base) > 1 and base[0] in COMPASS_LETTERS:  # "E Harding St"
            alternatives.append(" ".join([COMPASS_LETTERS[base[0]], *base[1:]]))
        if len(base) > 2 and base[0] in INITIAL_WORDS:  # "L.Thames St": Lower, Little...
            alternatives += [" ".join([word, *base[1:]]) for word in INITIAL_WORDS[base[0]]]
        if len(base) > 1 and base[-1] in COMPASS_LETTERS:  # "Durham Mews E", "Crosby Rd N"
            alternatives.append(" ".join([*base[:-1], COMPASS_LETTERS[base[-1]]]))
    if house and int(house.group(1)) < len(_NUMBER_WORDS):
        alternatives.append(f"{_NUMBER_WORDS[int(house.group(1))]} {key}")
    if len(toks) > 1 and " ".join(toks[:-1]) in typed_after:  # "the street Petty Wales"
        alternatives.append(" ".join(toks[:-1]))
    # "Reactor 1 Rd": a small figure between words is a name's number, spelt as a word; the
    # fuzzy search starts from that spelling too
    fuzzy_key = _type_slip_fixed(key)
    spelt = ([_NUMBER_WORDS[int(t)] if 0 < i < len(toks) - 1 and t.isdigit()
              and int(t) < len(_NUMBER_WORDS) else t for i, t in enumerate(toks)]
             if any(t.isdigit() for t in toks[1:-1]) else toks)
    if spelt != toks:
        alternatives.append(" ".join(spelt))
        fuzzy_key = _type_slip_fixed(" ".join(spelt))
    if areas and areas[0] in _QUALIFIERS:  # "Mann St, Upper": Upper Mann Street
        alternatives.append(f"{areas[0]} {key}")
    if areas and areas[0] not in TOWN_WORDS:
        # "Queens Dr, West Derby": police.uk's "Queens Drive West Derby", a name and its
        # district in one
        alternatives.append(f"{key} {areas[0]}")
    return ParsedQuery(
        text=text,
        name=name,
        key=key,
        areas=tuple(areas),
        junction=junction,
        road_number=road_number,
        alternatives=tuple(alternatives),
        postcode=postcode,
        fuzzy_key=fuzzy_key,
        later_names=later,
        slash_junction=slash_junction,
        whole=whole if whole != key else "",
        near_later=near_later,
        near_names=near_names,
        camera=bool(later and "cam" in low and _CAMERA_RE.search(text)),
        postcode_unit=_postcode_unit(radio_text) if has_digit else None,
    )


def block_keys(key: str) -> list[str]:
    """Blocking keys of a canonical name: for each distinctive token its first and last three
    letters (so one typo in a word still shares a key) and the token itself.

    Generic words (street, road, the, ...) only block when a name has nothing else.
    """
    toks = key.split()
    strong = [t for t in toks if t not in GENERIC_TOKENS] or toks
    out: list[str] = []
    for t in strong:
        out.append("t:" + t)
        if len(t) >= 4:
            out.append("p:" + t[:3])
            out.append("s:" + t[-3:])
    return out


#: Street types a writer runs onto the name before them ("goughsquare", "templelane"): not
#: the short ones, nor those many one-word names end in ("Moorgate", "Cambridge", "Greenhill",
#: "Fairview", "Newmarket", "Harcourt", "Kingsway").
_GLUED_TYPES = tuple(sorted(
    (t for t in ROAD_TYPE_TOKENS if len(t) >= 4 and t not in {
        "broadway", "gate", "bridge", "hill", "green", "vale", "view", "mount", "rise", "park",
        "path", "market", "court", "grove", "garden", "wharf", "quay"}),
    key=len, reverse=True))
_GLUED_TYPE_RE = re.compile(r"\b([a-z]{3,}?)(" + "|".join(_GLUED_TYPES) + r")\b", re.I)
#: Words run together with their capitals kept ("TudorSt", "WestTankFarmRd").
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
#: A street type, with its capital, run onto the name before it ("CamomileSt EC3"): set
#: apart in every reading, as no word of a sentence is written so.
_CAMEL_TYPE_RE = re.compile(
    r"(?<=[a-z])(?=[A-Z])(?=(?:St|Rd|Ave|Av|Ln|La|Sq|Pl|Cl|Dr|Ct|Cres|Gdns|Ter|Street|Road|Lane|Avenue"
    r"|Square|Place|Close|Drive|Court|Crescent|Gardens|Terrace|Way|Walk|Row|Hill|Yard"
    r"|Passage|Mews|Grove)\b)")


def split_glued_types(text: str) -> str | None:
    """`text` with each street type run onto the word before it set apart ("bollards
    goughsquare EC4A" -> "bollards gough square EC4A"), and words run together with their
    capitals kept ("TudorSt EC4Y" -> "Tudor St EC4Y"), or None when it has neither: a reading
    to try only when the text as written finds nothing, since some names end in a type
    word ("Kingsway", "Southwark Bridge" is two words, "Bankside" none)."""
    split = _GLUED_TYPE_RE.sub(r"\1 \2", _CAMEL_RE.sub(" ", text))  # "TudorSt EC4Y"
    return split if split != text else None


#: A word a scanner read with figures for letters ("Li0n", "Hi11", "c0llision"): letters and
#: the figures 0, 1 and 5 only, at least one letter, and no house number, ordinal, time,
#: postcode or road number.
_SCANNED_WORD_RE = re.compile(r"\b(?=[a-z015]*[a-z])(?=[a-z015]*[015])[a-z015]+\b", re.I)
_NOT_SCANNED_RE = re.compile(
    r"^(?:\d+[a-z]?|\d+(?:st|nd|rd|th|am|pm|hrs?)|[abm]\d+)$", re.I)
_OUTWARD_CODE_RE = re.compile(r"^([a-z]{1,2})\d[a-z\d]?$", re.I)
_INWARD_CODE_RE = re.compile(r"^\d[a-z]{2}$", re.I)
_SCANNED_LETTERS = str.maketrans("015", "ols")
#: An m a scanner read as r and n, between letters ("Lirne").
_SCANNED_M_RE = re.compile(r"(?<=[a-z])rn(?=[a-z])", re.I)


def read_as_scanned(text: str, *, rn_as_m: bool = True) -> str | None:
    """`text` with what a scanner's character reading confuses put right: figures inside
    words ("VVhite Li0n Hi11" -> "White Lion Hill"), a doubled V for W, rn for m ("Lirne");
    None when it has none. A reading to try only when the text as written finds nothing
    (figures inside words also when it finds only a loose near miss; `rn_as_m` False)."""
    def postcode(word: str) -> bool:
        outward = _OUTWARD_CODE_RE.match(word)
        return outward is not None and outward.group(1).lower() in POSTCODE_AREAS

    def letters(match: re.Match) -> str:
        word = match.group(0)
        before = text[:match.start()].split()[-1:]
        if _NOT_SCANNED_RE.match(word) or postcode(word) or (
                _INWARD_CODE_RE.match(word) and before and postcode(before[0])):
            return word
        return word.translate(_SCANNED_LETTERS)

    read = re.sub(r"\bVV(?=[A-Za-z])", "W", _SCANNED_WORD_RE.sub(letters, text))
    if rn_as_m:  # "Lirne St": Lime
        read = _SCANNED_M_RE.sub("m", read)
    return read if read != text else None


def figures_as_words(tokens: list[str]) -> list[str]:
    """A name's words with each small figure after its first word spelt as a word ("reactor
    2 road" -> "reactor two road"), as OS names spell them."""
    return [_NUMBER_WORDS[int(t)] if i and t.isdigit() and int(t) < len(_NUMBER_WORDS) else t
            for i, t in enumerate(tokens)]


def medial_st_as_street(tokens: list[str]) -> list[str]:
    """A key's words with every St after the first word, read as Saint, read as Street
    instead ("fish saint hill" -> "fish street hill"): the reading to try when the first
    finds nothing."""
    return ["street" if t == "saint" and i else t for i, t in enumerate(tokens)]


def sound_code(key: str) -> str:
    """How a canonical name sounds: Metaphone of its words run together (so "moo ness" sounds
    as "muness"), then its street type as written ("veil road" -> "FL|road", as "vale
    road"); "" for a name too short to tell by sound (under four letters, or under three
    sounds without a street type), or with a figure in it."""
    tokens = key.split()
    kind = tokens[-1] if len(tokens) > 1 and tokens[-1] in ROAD_TYPE_TOKENS else ""
    stem = "".join(t for t in (tokens[:-1] if kind else tokens) if t != "the")
    if len(stem) < 4 or not stem.isalpha():
        return ""
    code = jellyfish.metaphone(stem)
    return f"{code}|{kind}" if kind or len(code) >= 3 else ""


def key_hash(key: str) -> int:
    """Stable 63-bit hash of a key (same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") >> 1


def key_hashes(keys: Sequence[str]) -> np.ndarray:
    """:func:`key_hash` of each key, as int64 (the batch form: no call per key)."""
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    return np.fromiter((from_bytes(blake2b(k.encode(), digest_size=8).digest(), "little") >> 1
                        for k in keys), dtype=np.int64, count=len(keys))
