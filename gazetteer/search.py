"""Candidate search (the second step of a forward lookup, after query analysis in
:mod:`gazetteer.normalise`): exact names, canonical keys and their alternatives, a slip in the
street type, fuzzy names blocked by name and area and graded by
:func:`gazetteer.scoring.fuzzy_grade`, then the trailing area or postcode district. Also the
vectorised exact paths batch calls take before :meth:`Gazetteer.lookup`. Part of
:class:`gazetteer.core.Gazetteer`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from functools import lru_cache

import jellyfish
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from crimegeo.gazetteer.build import KIND_AREA, KIND_POSTCODE, KIND_ROAD
from crimegeo.gazetteer.index import _Area
from crimegeo.gazetteer.normalise import (
    AFTER_STREET_TYPE,
    COMPASS_LETTERS,
    GENERIC_TOKENS,
    PREFIX_PATTERN,
    PREMISES_KINDS,
    ROAD_TYPE_TOKENS,
    ParsedQuery,
    block_keys,
    figures_as_words,
    is_road_number,
    key_hash,
    key_hashes,
    medial_st_as_street,
    normalise_name,
    parse_query,
    premises_kind,
    read_as_scanned,
    sound_code,
    split_glued_types,
    words_a_first_word_stands_for,
)
from crimegeo.gazetteer.ranking import AREA_LIKE
from crimegeo.gazetteer.scoring import (
    FUZZY_LOOSE_MAX,
    FUZZY_SCORES,
    FUZZY_UNIQUE_MARGIN,
    GENERIC_MAX_SCORE,
    IN_SENTENCE_SCORE,
    JUNCTION_MAX_M,
    LANDMARK_SLACK_M,
    LONGER_NAME_SCORE,
    NEAR_PART_MAX_SCORE,
    PREMISES_APART,
    PREMISES_NEAR_M,
    SCORES,
    SECOND_PART_FACTOR,
    SENTENCE_MIN_WORDS,
    SINGLED_OUT_MAX_SCORE,
    SOUNDS_LIKE_SCORE,
    TOWN_STREET_MAX_M,
    WORDS_AFTER_MAX,
    WORDS_AFTER_SCORE,
    fuzzy_grade,
)
from crimegeo.gazetteer.sources import POLICE_PUBLIC_PLACES

#: Punctuation that sets a note apart from the name before it ("Cheapside (public highway)",
#: "Cheapside / street"): words after it are a note, not the rest of a longer name.
_NOTE_PUNCTUATION_RE = re.compile(r"[()/\[\]\-]")
FUZZY_CUTOFF = 78.0  # on fuzzy_similarity, 0..100
#: Keys up to this long are checked for candidates two edits away below FUZZY_CUTOFF.
SHORT_KEY_MAX = 12
FUZZY_CANDIDATES = 32  # candidates scored per query after blocking
FUZZY_GRADED = 6  # best candidates per query graded by fuzzy_grade (slips, street type)
FUZZY_MEMO_MAX = 200_000  # fuzzy answers kept per area before its memo starts again
#: When blocking finds no candidate within a graded slip, every name of an area with at most
#: this many distinct names is compared, as a plain fuzzy matcher does: a slip in a short word
#: ("Old Borad Street", "Sikl Street", "Sunn Street") shares no blocking key with its name.
#: Names within FULL_SCAN_MAX_EDITS edits are taken (the graded slips), and for a text without
#: a street type, names whose text without theirs is within two.
#: Measured: a scan of 3,000 names costs about 0.1 ms per text (rapidfuzz, bit-parallel).
FULL_SCAN_MAX_KEYS = 50_000
#: Names at most this many edits (optimal string alignment) away are taken from the scan.
FULL_SCAN_MAX_EDITS = 2
#: A name written as two words ("burra garth unst") is looked for by joining each of the
#: first this many pairs of neighbouring words.
JOINED_WORDS_MAX = 4
#: Towns named after a street whose names are kept ready to scan, per area.
TOWN_MEMO_MAX = 512
#: Keys matched together by one _fuzzy_many pass (nationally a key's blocks hold thousands of
#: postings; all of them for 20,000 keys at once took gigabytes).
FUZZY_BATCH = 1000


def fuzzy_similarity(query: str, choices: list[str]) -> np.ndarray:
    """Similarity 0..100 of a canonical key to each choice: the better of plain edit similarity
    (typos) and 0.9 x token-set similarity (missing or reordered words)."""
    return fuzzy_similarity_pairs([query] * len(choices), choices)


def fuzzy_similarity_pairs(queries: list[str], choices: list[str]) -> np.ndarray:
    """:func:`fuzzy_similarity` of each query to the choice beside it, in two native calls."""
    if not choices:
        return np.zeros(0, dtype=np.float32)
    plain = process.cpdist(queries, choices, scorer=fuzz.ratio, dtype=np.float32)
    token_set = process.cpdist(queries, choices, scorer=fuzz.token_set_ratio, dtype=np.float32)
    return np.maximum(plain, 0.9 * token_set)


def _scan_types(area: _Area) -> tuple[list[str], list[str]]:
    """The street type ("" for none) and the rest of each text of the area's scan list, in
    one pass, worked out once: the full scan reads the rest, the sound index the types."""
    if area.scan_types is None:
        types, stems = [], []
        for text in area.scan[1]:
            head, _, last = text.rpartition(" ")
            typed = bool(head) and last in ROAD_TYPE_TOKENS
            types.append(last if typed else "")
            stems.append(head if typed else text)
        area.scan_types = (types, stems)
    return area.scan_types


@lru_cache(maxsize=65_536)
def _block_hashes(key: str) -> np.ndarray:
    return key_hashes(block_keys(key))


def _stripped_column(texts: Sequence[str]) -> pa.Array:
    """Texts without a leading "On or near" and surrounding whitespace, as one Arrow column
    (:func:`strip_prefix` on the whole batch at once; a missing text becomes "")."""
    stripped = pc.utf8_trim_whitespace(pc.replace_substring_regex(
        pa.array(texts, pa.string()), pattern=PREFIX_PATTERN, replacement="",
        max_replacements=1))
    return stripped.fill_null("")


#: Words that make a street type the kind of a place, not a street's name ("car park").
_PLACE_KIND_WORDS = frozenset([
    "car", "coach", "bus", "lorry", "cycle", "retail", "business", "industrial", "shopping",
    "trading", "science", "technology", "caravan", "theme", "skate", "play", "country",
    "leisure", "amusement", "housing", "council", "holiday", "water", "the"])


def _names_a_street(key: str) -> bool:
    """Whether a key reads as a street's name: two words or more, the last a street type and
    the one before it no word that makes the type a kind of place ("car park")."""
    tokens = key.split()
    return (len(tokens) >= 2 and tokens[-1] in ROAD_TYPE_TOKENS
            and tokens[-2] not in _PLACE_KIND_WORDS)


def _word_readings(key: str, *, without_the: bool = False) -> list[list[str]]:
    """The key's words as read; when a St after a word was read as Saint, with it read as
    Street ("Eden St Merseyside", "moscovy st tower hill"); with a small figure spelt as a
    word ("reactor 2 rd dungeness"); with a first letter spelt as the word it may stand for
    ("W Smithfield rotunda gdns"); and, `without_the`, without a leading "The" the name has
    not ("the beech st tunnel")."""
    readings = [key.split()]
    if "saint" in readings[0][1:]:
        readings.append(medial_st_as_street(readings[0]))
    worded = figures_as_words(readings[0])
    if worded != readings[0]:  # "reactor 2 rd dungeness": Reactor Two Road
        readings.append(worded)
    if len(readings[0]) > 2:  # "W Smithfield rotunda gdns"
        readings += [[word, *readings[0][1:]]
                     for word in words_a_first_word_stands_for(readings[0][0])]
    if without_the and len(readings[0]) > 2 and readings[0][0] == "the":
        readings += [tokens[1:] for tokens in readings]
    return readings


#: Street types that are whole names too: "broadway norris green" is Broadway, in Norris
#: Green, as "the Strand" or "the Crescent" are names.
_TYPES_THAT_NAME = frozenset(["broadway", "strand", "crescent", "parade", "promenade",
                              "esplanade", "boulevard", "causeway", "circus", "mall"])
#: Words before a street a sentence only passes by: where someone went towards or left
#: ("towards Lime Street", "after leaving Liverpool Street"). Where they came from is
#: another ("from Fleet Street"), read so only beside a street named otherwise.
_PASSING_WORDS = frozenset(["towards", "toward", "twds", "twd", "leaving", "left", "past",
                            "heading", "approaching", "crossed", "crossing", "conveyed"])
#: Words before "to" that say someone got away or was going there ("ran up to", "fled down
#: to", "going down to"): the street after is passed by, as after "towards".
_FLED_WORDS = frozenset(["ran", "run", "running", "fled", "fleeing", "legged", "escaped",
                         "decamped", "sped", "raced", "bolted",
                         # "White Lion Hill going down to Upper Thames St"
                         "going", "heading", "headed",
                         # "walking through to Tower Hill tube"
                         "through"])
#: Words before a street a sentence came from ("from Fleet Street", "following her since
#: london wall"): the place only where no other is named.
_CAME_FROM_WORDS = frozenset(["from", "since"])
#: Words before a street type used as a word ("on the road Duke Street Hill").
_ARTICLES = frozenset(["the", "a", "an", "this", "that"])
#: Scots and Shetland speech read inside a sentence: "da Black Skerries o Balta".
_SPOKEN_WORDS = {"da": "the", "o": "of"}


def _without_near(parts: list[list[str]], pq: ParsedQuery, with_near: bool) -> list[list[str]]:
    """A sentence's parts (the first, then the later names'), without the later names a
    locating word introduced unless `with_near`."""
    if with_near or not pq.near_names:
        return parts
    return [parts[0], *(name.split() for name in pq.later_names if name not in pq.near_names)]


def _parts_read(parts: list[list[str]], pq: ParsedQuery, first_only: bool, with_near: bool,
                only: int | None) -> list[list[str]]:
    """The parts of a sentence a reading reads: the first alone, or all but what a locating
    word introduced unless `with_near`; with `only`, that one of them."""
    read = parts[:1] if first_only else _without_near(parts, pq, with_near)
    if only is None:
        return read
    return read[only:only + 1]


#: Words read at once for a slipped name inside a sentence (:meth:`_slipped_in_sentence`).
SLIPPED_SPAN_MAX = 4
#: Letters of a capitalised word read as a name with one slip ("Baltasoind"): shorter words
#: are a slip of too many names.
SLIPPED_WORD_MIN = 6
#: ...and a word in small letters: only long ones.
SLIPPED_LONG_WORD = 8
#: Letters of two or three words read as a name with one slip ("crutched friers").
SLIPPED_SPAN_MIN_LETTERS = 8
#: Words that begin or end no such span ("bevis maks and legged it").
_SPAN_EDGE_WORDS = frozenset(["the", "a", "an", "and", "or", "of", "it", "is", "was", "my",
                              "our", "his", "her", "their"])
#: Street types of four letters or more: what a slipped type may be.
_LONG_TYPES = frozenset(t for t in ROAD_TYPE_TOKENS if len(t) >= 4)
#: How each of them sounds (Metaphone), worked out once.
_LONG_TYPE_SOUNDS = {t: jellyfish.metaphone(t) for t in _LONG_TYPES}


@lru_cache(maxsize=65_536)
def _slipped_type(word: str) -> str | None:
    """The street type a word is a slip of ("lame": lane, "hil": hill) or sounds as ("vail":
    vale): one letter off (only one left out, in three letters), or the same Metaphone, and
    the same first letter; None when it is a type, too short, or no type's slip (or several
    types')."""
    if len(word) < 3 or word in ROAD_TYPE_TOKENS or not word.isalpha():
        return None
    if len(word) == 3:  # a letter left out only: "hil", "lan"
        types = [t for t in _LONG_TYPES if len(t) == 4 and t[0] == word[0]
                 and OSA.distance(word, t) == 1]
        return types[0] if len(types) == 1 else None
    sound = jellyfish.metaphone(word)
    types = [t for t, heard in _LONG_TYPE_SOUNDS.items() if t[0] == word[0] and (
        OSA.distance(word, t) == 1 or heard == sound)]
    return types[0] if len(types) == 1 else None


def _other_number_of_type(word: str) -> str | None:
    """The street type in the other number ("gardens" -> "garden", "garden" -> "gardens"),
    where both are types; None otherwise."""
    if word.endswith("s") and word[:-1] in ROAD_TYPE_TOKENS and word in ROAD_TYPE_TOKENS:
        return word[:-1]
    if word in ROAD_TYPE_TOKENS and word + "s" in ROAD_TYPE_TOKENS:
        return word + "s"
    return None


def _slipped_readings(span: list[str]) -> list[str]:
    """What words beginning a name may be, written with a slip a sentence hides: two words
    of one name written apart ("hounds ditch": houndsditch; "fen church street"), or a name
    whose street type is slipped ("lark lame": lark lane). Longest readings first."""
    readings = []
    for size in range(len(span), 1, -1):
        words = span[:size]
        if not set(words) - _SENTENCE_WORDS - ROAD_TYPE_TOKENS:
            continue
        for at in range(size - 1):
            if words[at].isalpha() and words[at + 1].isalpha():
                readings.append(" ".join([*words[:at], words[at] + words[at + 1],
                                          *words[at + 2:]]))
        typed = _slipped_type(words[-1])
        if typed is not None and not set(words[:-1]) & _SENTENCE_WORDS:
            readings.append(" ".join([*words[:-1], typed]))
    return readings


def _a_thing_given_a_type(pq: ParsedQuery, found: tuple[np.ndarray, np.ndarray, list, list]
                          ) -> bool:
    """Whether a fuzzy answer only gave "the" and a word a street type ("The beach off Coast
    Drive": Beach Road) while the text names more after a locating word: a thing, not a
    street with its type left off; the readings of the rest come first."""
    words = pq.key.split()
    return (len(words) == 2 and words[0] == "the" and bool(pq.near_names)
            and set(found[3]) == {"type_dropped"})


def _capitalised(text: str, word: str) -> bool:
    """Whether `word` is written with a capital inside `text` ("fishing at Ura"): a name, not
    a word of the sentence."""
    return re.search(rf"(?<=[a-z,;] )(?-i:{re.escape(word.capitalize())})\b", text or "", re.I
                     ) is not None


#: Words before a street that say where something started, as "from" does: "the ride started
#: at Liverpool St - bike nicked from the stands in Sun Street Passage".
_STARTED_AT = (["started", "at"], ["starting", "at"], ["began", "at"], ["started", "from"])


def _passed_by(tokens: list[str], start: int, words: frozenset[str] | set[str]) -> bool:
    """Whether the street named from `tokens[start]` follows one of `words` (a "the" between
    aside): one a sentence only passes by."""
    before = [t for t in tokens[max(0, start - 3):start] if t != "the"]
    if before[-2:] == ["out", "of"] and "leaving" in words:  # "came out of X": left it
        return True
    if "from" in words and before[-2:] in _STARTED_AT:
        return True
    if "leaving" in words and before[-1:] == ["to"] and set(
            tokens[max(0, start - 4):start - 1]) & _FLED_WORDS:
        return True  # "suspect ran up to hope st": where someone got away to
    return bool(before) and before[-1] in words


def _far_end(tokens: list[str], start: int) -> bool:
    """Whether the street named from `tokens[start]` is where a way "from" another went
    "to" ("from Lombard Street to King William Street")."""
    return tokens[start - 1:start] == ["to"] and "from" in tokens[max(0, start - 7):start - 1]


def _stripped(texts: Sequence[str]) -> list[str]:
    """:func:`_stripped_column` as Python strings."""
    return _stripped_column(texts).to_pylist()


#: Compass words that may end a street's name after its type ("Utting Avenue East").
_COMPASS_WORDS = AFTER_STREET_TYPE - {"end"}
#: Words that end what a sentence says before a place, though some place names have them.
_SENTENCE_WORDS = frozenset(["at", "in", "on", "from", "to", "along", "up", "down", "near",
                             "by", "outside", "into", "onto", "off", "via", "towards"])


class CandidateSearch:
    """Candidate rows with base scores, match types and reasons."""

    def _candidates(self, pq: ParsedQuery, area: _Area, *, fuzzy: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Candidate rows with base scores, match types and reasons, searched in order: the
        key, its alternatives, fuzzy names, then the trailing area or the postcode district.
        Generic place types ("Supermarket") are capped at GENERIC_MAX_SCORE."""
        rows, scores, how, why = self._search(pq, area, fuzzy)
        split = split_glued_types(pq.text) if fuzzy and not len(rows) and pq.text else None
        if split is not None:  # "graffiti on bollards goughsquare EC4A": Gough Square
            rows, scores, how, why = self._search(parse_query(split), area, fuzzy)
        # "VVhite Li0n Hi11, EC4V": a scanned form's White Lion Hill; also where the text as
        # written finds only a near miss ("Dev0nshire R0w": Devonshire Square, type dropped)
        weak = set(why) <= {"loose", "type_dropped"}
        scanned = (read_as_scanned(pq.text, rn_as_m=not len(rows))
                   if fuzzy and weak and pq.text else None)
        if scanned is not None:
            found = self._search(parse_query(scanned), area, fuzzy)
            if not len(rows) or (len(found[0]) and not set(found[3]) <= {"loose"}):
                rows, scores, how, why = found
        if pq.postcode_unit and (not len(rows) or (
                (self.kind[rows] != KIND_ROAD).all() and (self.kind[rows] != KIND_POSTCODE).any()
                and (AREA_LIKE[self.kind[rows]].any() or set(why) <= {"in_sentence", "loose"}))):
            # "ZE2 9EJ|Haroldswick|Unst": the postcode's unit, where the gazetteer has it, is
            # nearer the place than the village or district the text names
            unit = self._rows_for_key(pq.postcode_unit, area)
            unit = unit[self.kind[unit] == KIND_POSTCODE]
            if len(unit):
                n = len(unit)
                rows, scores, how, why = unit, np.full(n, SCORES["area_exact"]), ["area"] * n, [
                    ""] * n
        if len(rows) and pq.camera:  # a camera's street is near what it saw
            scores, why = np.minimum(scores, NEAR_PART_MAX_SCORE), ["near"] * len(rows)
        if len(rows):
            generic = self._generic_mask()[rows] & (np.array(why) != "singled_out")
            if generic.any():
                scores = np.where(generic, np.minimum(scores, GENERIC_MAX_SCORE), scores)
                why = ["generic" if g else w for g, w in zip(generic.tolist(), why, strict=True)]
        return rows, scores, how, why

    def _settlement_twin(self, key: str, area: _Area) -> np.ndarray:
        """Rows of the settlement named by `key`'s words run together ("haroldswick")."""
        joined = key.replace(" ", "")
        if joined not in self._settlement_keys():  # most keys: a set look-up
            return np.zeros(0, dtype=np.int64)
        twin = self._rows_for_key(joined, area)
        return twin[AREA_LIKE[self.kind[twin]]]

    def _rows_with_type_put_right(self, name: list[str], word: str, area: _Area
                                  ) -> np.ndarray:
        """Rows of `name` followed by the street type `word` is a slip of ("lain": lane);
        none when it is no type's slip."""
        typed = _slipped_type(word)
        if typed is None:
            return np.zeros(0, dtype=np.int64)
        return self._rows_for_key(" ".join([*name, typed]), area)

    def _settlement_keys(self) -> frozenset[str]:
        """The keys of every settlement (and area) of the gazetteer, made on first use."""
        if self._settlement_keys_cache is None:
            rows = np.flatnonzero(AREA_LIKE[self.kind])
            ids = np.unique(np.asarray(self._row_key[rows], dtype=np.int64))
            self._settlement_keys_cache = frozenset(self._keys.take(pa.array(ids)).to_pylist())
        return self._settlement_keys_cache

    def _with_settlement_twin(self, pq: ParsedQuery, area: _Area,
                              found: tuple[np.ndarray, np.ndarray, list, list]
                              ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """`found` (a feature named by the key, not spelt as written) and the settlement
        whose name is the same words run together, where there is one: "harolds wick" is
        the bay Harold's Wick and the village Haroldswick alike, two places, so the answer
        is ambiguous between them, not the bay at 1.0. Spelt exactly as the feature is
        ("Harold's Wick"), the feature alone."""
        rows, scores, how, why = found
        if " " not in pq.key or "exact" in how or AREA_LIKE[self.kind[rows]].any():
            return found
        twin = self._settlement_twin(pq.key, area)
        if not len(twin):
            return found
        n = len(twin)
        return (np.concatenate([rows, twin]),
                np.concatenate([scores, np.full(n, float(scores.max()))]),
                [*how, *["normalised"] * n], [*why, *[""] * n])

    def _search(self, pq: ParsedQuery, area: _Area, fuzzy: bool
                ) -> tuple[np.ndarray, np.ndarray, list, list]:
        fuzzy = fuzzy and pq.key not in POLICE_PUBLIC_PLACES  # see _needs_fuzzy
        if pq.whole and len(self._rows_for_key(pq.whole, area)):
            # "Ashby by Partney": a name before it is a name and a note after a locating word
            pq = dataclasses.replace(pq, key=pq.whole, fuzzy_key=pq.whole, areas=(),
                                     later_names=(), alternatives=(), whole="")
        rows = self._rows_for_key(pq.key, area)
        if len(rows):
            scores, how = self._key_scores(rows, self._row_raw_hash[rows] == key_hash(
                pq.name.strip()))
            found = self._with_settlement_twin(pq, area, (rows, scores, how.tolist(),
                                                          [""] * len(rows)))
            return (self._street_after_its_town(pq, area, found)
                    or self._placed_by_later_part(pq, area, fuzzy, found))
        for alt in pq.alternatives:
            rows = self._rows_for_key(alt, area)
            if len(rows) and pq.road_number and alt != pq.road_number and (
                    AREA_LIKE[self.kind[rows]].all()):
                # "B9084 Cullivoe": the rest names a place, not the road; the road answers
                road = self._rows_for_key(pq.road_number, area)
                rows = road if len(road) else rows
            if len(rows):
                is_area = AREA_LIKE[self.kind[rows]]
                how = np.where(is_area, "area", "normalised").tolist()
                return self._placed_by_later_part(pq, area, fuzzy, (
                    rows, np.full(len(rows), SCORES["alternative"]), how, [""] * len(rows)))
        found = (np.zeros(0, np.int64), np.zeros(0), [], [])
        first = None  # the name-then-words reading, once worked out
        if pq.fuzzy_key != pq.key:  # "Fleet Stret": the name as written, a slip in its type
            rows = self._rows_for_key(pq.fuzzy_key, area)
            if len(rows):
                n = len(rows)
                found = (rows, np.full(n, FUZZY_SCORES["typo1"]), ["fuzzy"] * n, ["typo1"] * n)
                # ...unless the name as written is itself close to another name: "Old Broad"
                # is Old Broad Street with its type dropped as much as "Old Road" with a slip.
                # Only a word some name has can be read as written ("broad"; not "stret").
                if not fuzzy or not self._word_known(pq.key.split()[-1]):
                    return found
                own = self._fuzzy(pq.key, area)
                graded = [w != "loose" for w in own[2]]
                if not any(graded) or set(own[0].tolist()) <= set(rows.tolist()):
                    return found
                rows = np.concatenate([rows, own[0][graded]])
                why = ["typo1"] * n + [w for w, g in zip(own[2], graded, strict=True) if g]
                return (rows, np.full(len(rows), FUZZY_LOOSE_MAX), ["fuzzy"] * len(rows), why)
        if fuzzy and pq.later_names and not (pq.whole or pq.near_later):
            # "Post Office, Claughton Road": a street named exactly in a later part is the
            # address; a first part the area knows only by a near miss ("Post Office Avenue",
            # type dropped) is premises on it, as are premises named by their kind
            # ("Liverpool Street station, Old Broad Street exit"). Not after a locating word:
            # in "Mansel St by Aldgate" what is near comes second, and the first part is read
            # first; nor when the first part is a street and its town ("nevill st southport,
            # top end by lord st").
            premises = self._premises_on_later_street(pq, area)
            if premises is not None:
                return premises
            first = self._name_then_words(pq, area)  # kept: the readings below start with it
            if (len(first[0]) and set(first[3]) == {"words_after"}
                    and (self.kind[first[0]] == KIND_ROAD).all()):
                return first
            # "Car window smashed on Newbury Street EC1A, the small street off Little Britain":
            # a sentence that names a street first is about that street
            in_first = self._street_in_sentence(pq, area, first_only=True)
            if len(in_first[0]):
                return in_first
            # "crime South Place, Moorgate": a few words no name has, then a street, and
            # later parts that are names alone, as hints ("One New Change, Bread Street
            # entrance" is at the entrance)
            if all(len(self._rows_for_key(name, area)) for name in pq.later_names):
                before = self._words_then_name(pq, area)
                if len(before[0]) and (self.kind[before[0]] == KIND_ROAD).all():
                    return before
            later = self._later_street(pq, area, fuzzy=False, near=False)
            if len(later[0]):
                return later
        if fuzzy and pq.areas:  # "Mil Lane, Lydd": the town's names first, then the country's
            town = self._town_area(pq.areas, area)
            if town is not None:
                found = self._best_fuzzy(pq, town)
                if len(found[0]) and not set(found[3]) <= {"loose"} and not (
                        _a_thing_given_a_type(pq, found)):
                    return found
        if fuzzy:
            found = self._best_fuzzy(pq, area)
            if len(found[0]) and not set(found[3]) <= {"loose"} and not (
                    _a_thing_given_a_type(pq, found)):
                return self._told_apart_by_sound(pq, found)
            # a name among other words: exact readings first, then a slip, then a sentence
            # "idle lane off great tower street", "Route 15 stop on Eastcheap EC3 near Philpot
            # Lane": after a locating word, a sentence's names are read in the first part
            # only; what it is near comes after its slips and sound
            first_only = bool((pq.whole or pq.near_later) and _names_a_street(pq.key))
            # the names a sentence gives, then what a locating word introduced there, only
            # where nothing else is named ("off Brough Holm when I saw ..."), part by part in
            # the order written: "outside the boots on hounds ditch near liverpool st" is on
            # Houndsditch, whatever kind of name the later part has
            near_parts = [i for i, name in enumerate(pq.later_names, 1) if name in pq.near_names]
            # (each exactly, then as slipped: "hounds ditch", "lark lame", "Baltasoind")
            readings = (self._street_in_sentence, self._name_in_sentence,
                        self._slipped_in_sentence)
            sentence = [functools.partial(reading, first_only=first_only, with_near=False)
                        for reading in readings]
            sentence += [functools.partial(reading, first_only=first_only, with_near=True,
                                           only=part)
                         for part in ([None] if first_only else near_parts)
                         for reading in readings]
            for reading in (self._name_then_words, self._words_then_name,
                            self._slipped_name_then_words, *sentence):
                named = (first if first is not None and reading == self._name_then_words
                         else reading(pq, area))
                if len(named[0]) and set(named[3]) == {"longer_name"}:
                    # "denge marsh road lydd": Dengemarsh Road with a slip before Denge Marsh
                    # guessed as the start of a longer name
                    slipped = self._slipped_name_then_words(pq, area)
                    if len(slipped[0]) and set(slipped[3]) <= {"typo1", "typo2"}:
                        return slipped
                if len(named[0]) and reading in sentence[1::3] and (pq.whole or pq.near_later):
                    # "bus stop o/s Aldgate stn, Aldgate EC3": a street named exactly in a
                    # later part before a name found among words; one it is near only before
                    # a village ("Drone seen over site near Reservoir Ave, Dungeness")
                    later = self._later_street(pq, area, False,
                                               near=bool(AREA_LIKE[self.kind[named[0]]].any()))
                    if len(later[0]):
                        return later
                if (len(named[0]) and reading in sentence[1::3]
                        and AREA_LIKE[self.kind[named[0]]].all()):
                    # "at Taftins in Haroldswick", "Norda Brake in Haroldswick": a place of
                    # the settlement written with a slip reads better than the settlement
                    slipped = sentence[sentence.index(reading) + 1](pq, area)
                    if (len(slipped[0]) and not AREA_LIKE[self.kind[slipped[0]]].any()
                            and self._of_the_town(slipped[0], named[0]).any()):
                        return slipped
                if len(named[0]):
                    return named
            # "veil road", "leighton way": spelt by ear. Where a loose near miss is that
            # name too ("bare alley" for Bear Alley), the near miss answers alone, before
            # any later part, scored as loose answers are
            named = self._sounds_like(pq, area)
            if len(named[0]):
                agree = np.isin(found[0], named[0])
                if not agree.any():
                    return named
                return (found[0][agree], found[1][agree],
                        [h for h, a in zip(found[2], agree.tolist(), strict=True) if a],
                        [w for w, a in zip(found[3], agree.tolist(), strict=True) if a])
        # "Tesco Express, 12 Fleet Street"; after a locating word, exact names first as above
        for later_fuzzy in ([False, True] if fuzzy and (pq.whole or pq.near_later)
                            else [fuzzy]):
            later = self._later_street(pq, area, later_fuzzy)
            if len(later[0]):
                return later
        if len(found[0]):
            return found
        fallbacks = list(pq.areas)
        if pq.postcode:
            fallbacks.append(pq.postcode.lower())
        for a in fallbacks:  # the street is unknown; fall back to the trailing area
            rows = self._rows_for_key(a, area)
            rows = rows[np.isin(self.kind[rows], (KIND_AREA, KIND_POSTCODE))]
            if len(rows):
                n = len(rows)
                return rows, np.full(n, SCORES["area_fallback"]), ["area"] * n, [""] * n
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _premises_on_later_street(self, pq: ParsedQuery, area: _Area
                                  ) -> tuple[np.ndarray, np.ndarray, list, list] | None:
        """Premises named by their kind, then the street they are on ("St Bartholomew's
        Hospital, West Smithfield", "Liverpool Street station, Old Broad Street exit"): the
        place of that police.uk type on the street (``singled_out``) where the area has one,
        else the street (``later_part``), read with its slips and notes; None when the first
        part names no premises or no later part a street."""
        kind = premises_kind(pq.key)
        if kind is None:
            return None
        if kind:
            places = self._rows_for_key(kind, area)
            places = places[self._generic_mask()[places]]
            if len(places):
                n = len(places)
                placed = self._placed_by_later_part(pq, area, True, (
                    places, np.full(n, GENERIC_MAX_SCORE), ["normalised"] * n, ["generic"] * n))
                if set(placed[3]) == {"later_part"}:
                    # "Barts Hosp, West Smithfield": a hospital's police.uk point lies 211 m
                    # from the street's, yet it is the only one for a mile: those premises
                    nearest = self._nearest_of_kind(places, placed[0])
                    if nearest is not None:
                        return (np.array([nearest]), np.array([SINGLED_OUT_MAX_SCORE]),
                                ["normalised"], ["singled_out"])
                    # "Empire Theatre, Lime St L1": premises of a police.uk type the force has,
                    # none of them on the street named, nor one alone near it: the street is
                    # a fair reading, but only near the premises' own map point
                    if "fuzzy" not in placed[2]:
                        n = len(placed[0])
                        return (placed[0], np.minimum(placed[1], NEAR_PART_MAX_SCORE),
                                placed[2], ["near"] * n)
                if set(placed[3]) & {"singled_out", "later_part"}:
                    return placed
        later = self._later_street(pq, area, fuzzy=True)
        return later if len(later[0]) else None

    def _nearest_of_kind(self, places: np.ndarray, street: np.ndarray) -> int | None:
        """The one place of `places` near the street (rows `street`): within PREMISES_NEAR_M
        of it, and every other place at least PREMISES_APART times as far; else None."""
        if not len(street) or (self.kind[street] != KIND_ROAD).any():
            return None
        gap = self._box_gap(places, street).min(axis=1)
        order = np.argsort(gap)
        if gap[order[0]] > PREMISES_NEAR_M or (
                len(order) > 1 and gap[order[1]] < PREMISES_APART * max(gap[order[0]], 1.0)):
            return None
        return int(places[order[0]])

    def _later_street(self, pq: ParsedQuery, area: _Area, fuzzy: bool, near: bool = True
                      ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """The first later comma part that names a street of the area (not a place type, not
        an area, not a station or a school: a later part naming one is a hint, not the
        place), as ``later_part`` candidates scored by SECOND_PART_FACTOR; none found: empty.
        When the first part names a street the area lacks and a locating word ("nr", "off",
        "by") comes before the later one ("Bare Alley off Farringdon Street"), the text places
        itself near that street, not on it: ``reason="near"``, scored at most
        NEAR_PART_MAX_SCORE. Premises or a feature there ("alleyway off Cloth Fair", "car
        park r/o Coventry Road") are on it, as after a comma. Without `near`, the later names
        a locating word introduced (``ParsedQuery.near_names``) are passed over."""
        for name in pq.later_names:
            if not near and name in pq.near_names:  # "... at Tokenhouse Yard off Lothbury"
                continue
            rows, scores, how, why = self._search(parse_query(name), area, fuzzy)
            street = self.kind[rows] == KIND_ROAD
            if street.any() and not set(why) <= {"loose"} and not self._generic_mask()[rows].all():
                rows, scores = rows[street], scores[street] * SECOND_PART_FACTOR
                how = [h for h, k in zip(how, street.tolist(), strict=True) if k]
                if (pq.whole or pq.near_later) and _names_a_street(pq.key):
                    return (rows, np.minimum(scores, NEAR_PART_MAX_SCORE), how,
                            ["near"] * len(rows))
                # a street named inside a later part's sentence ("Left Barbican stn, ... went
                # along Carthusian St") is that evidence still, not a near miss of the part
                kept = "words_before" if set(why) == {"words_before"} else "later_part"
                return rows, scores, how, [kept] * len(rows)
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _street_after_its_town(self, pq: ParsedQuery, area: _Area,
                               found: tuple[np.ndarray, np.ndarray, list, list]
                               ) -> tuple[np.ndarray, np.ndarray, list, list] | None:
        """A settlement, then a street of it ("Dungeness, Transformer Avenue", "Lydd, Station
        Road"), as a form that asks for the town first writes it: the street answers
        (``later_part``), named exactly in the first later part that names a street, and only
        where it lies within TOWN_STREET_MAX_M of the settlement; otherwise None, and the
        settlement answers as before. Not after a locating word ("Dungeness, nr Jarvis
        Drive"): what is near is no address."""
        town = found[0][AREA_LIKE[self.kind[found[0]]]]  # "Dungeness": village and station
        if not pq.later_names or pq.whole or pq.near_later or not len(town):
            return None
        rows, scores, how, why = self._later_street(pq, area, False, near=False)
        if not len(rows):  # "Dungeness - reptile refugia along Reservoir Avenue lifted"
            rows, scores, how, why = self._street_in_later_sentence(pq, area)
        if not len(rows):
            return None
        keep = self._of_the_town(rows, town)
        if not keep.any():
            return None
        kept = keep.tolist()
        return (rows[keep], scores[keep], [h for h, k in zip(how, kept, strict=True) if k],
                [w for w, k in zip(why, kept, strict=True) if k])

    def _street_in_later_sentence(self, pq: ParsedQuery, area: _Area
                                  ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """The one street named exactly, with its type, inside the first later part that
        names any (a locating word's and what a sentence passes by aside), as a street named
        inside a text (``words_before``); none: empty."""
        for name in pq.later_names:
            if name in pq.near_names:
                continue
            tokens = name.split()
            named = [f for f in self._streets_named_in(tokens, area)
                     if f[4] == "words_before" and f[3] >= WORDS_AFTER_SCORE
                     and not _passed_by(tokens, f[0], _PASSING_WORDS | _CAME_FROM_WORDS)]
            if named:
                if len({int(self._row_key[f[2][0]]) for f in named}) != 1:
                    break
                rows = named[0][2]
                n = len(rows)
                return rows, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n, ["words_before"] * n
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _placed_by_later_part(self, pq: ParsedQuery, area: _Area, fuzzy: bool,
                              found: tuple[np.ndarray, np.ndarray, list, list]
                              ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """A generic place type followed by a street ("Tesco Express, 12 Fleet Street",
        "Supermarket, Fleet Street"): the places of that type the street meets (within
        JUNCTION_MAX_M) answer, scored at most SINGLED_OUT_MAX_SCORE (``reason="singled_out"``;
        several are ambiguous); if the street meets none, the street answers (``later_part``)."""
        rows, scores, how, _why = found
        if not pq.later_names or not self._generic_mask()[rows].all():
            return found
        for name in pq.later_names:
            sr, ss, sh, sw = self._search(parse_query(name), area, fuzzy)
            if (not len(sr) or set(sw) <= {"loose"} or self._generic_mask()[sr].all()
                    or AREA_LIKE[self.kind[sr]].all()):
                continue
            meets = self._on_street(rows, sr, area)
            if meets.any():
                kept_how = [h for h, m in zip(how, meets.tolist(), strict=True) if m]
                return (rows[meets], np.minimum(scores[meets], SINGLED_OUT_MAX_SCORE), kept_how,
                        ["singled_out"] * len(kept_how))
            return sr, ss * SECOND_PART_FACTOR, sh, ["later_part"] * len(sr)
        return found

    def _on_street(self, places: np.ndarray, street: np.ndarray, area: _Area) -> np.ndarray:
        """Per place row: whether it lies ON the street (rows `street`): the street is, within
        LANDMARK_SLACK_M, the nearest named street to the place, and within JUNCTION_MAX_M. A
        shop's address is the street it fronts; a shop nearer another street is that
        street's, a landmark of the neighbourhood, not where the text says."""
        gap = self._box_gap(places, street).min(axis=1)
        nearest = np.array([self._nearest_street_gap(int(r), area) for r in places.tolist()])
        return (gap <= JUNCTION_MAX_M) & (gap <= nearest + LANDMARK_SLACK_M)

    def _nearest_street_gap(self, row: int, area: _Area) -> float:
        """Metres from a place row to the nearest named street or road of the area (inf when
        none lies within JUNCTION_MAX_M)."""
        r = JUNCTION_MAX_M
        near = self.rows_in_box((self.x[row] - r, self.y[row] - r, self.x[row] + r,
                                 self.y[row] + r))
        near = near[~AREA_LIKE[self.kind[near]] & ~self._generic_mask()[near]]
        if area.row_mask is not None:
            near = near[area.row_mask[near]]
        if not len(near):
            return float("inf")
        return float(self._box_gap(np.array([row]), near).min())

    def _key_scores(self, rows: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Base score and match type of rows found by their canonical key (`exact`: the text
        is spelt as the row's name)."""
        is_area = AREA_LIKE[self.kind[rows]]
        scores = np.where(is_area, np.where(exact, SCORES["area_exact"], SCORES["area_normalised"]),
                          np.where(exact, SCORES["exact"], SCORES["normalised"]))
        return scores, np.where(is_area, "area", np.where(exact, "exact", "normalised"))

    def _town_area(self, areas: tuple[str, ...], area: _Area) -> _Area | None:
        """The part of `area` inside the extents of the places a text's trailing area names
        ("..., Lydd"), as an area searched by scanning its names only (no blocking): within a
        town a slip has few rivals, across the country many. None when no such place with an
        extent is known, or it holds more than FULL_SCAN_MAX_KEYS names. Memoised."""
        memo = area.towns.get(areas, False)
        if memo is not False:
            return memo
        # The rows recorded in the place; where the gazetteer records no such populated
        # place, the rows inside the extent of an area feature of that name.
        inside = self._rows_of_places(areas)
        if not len(inside):
            boxes = []
            for key in areas:
                places = self._rows_for_key(key, self._area(None, None))
                places = places[np.isin(self.kind[places], (KIND_AREA, KIND_POSTCODE))]
                for r in places.tolist():
                    if not np.isnan(self.xmin[r]) and self.xmax[r] > self.xmin[r]:
                        boxes.append(self.rows_in_box((self.xmin[r], self.ymin[r],
                                                       self.xmax[r], self.ymax[r])))
            if boxes:
                inside = np.unique(np.concatenate(boxes))
                inside = inside[self._area_hint_ok(inside, areas)]  # not a neighbour's streets
        if area.row_mask is not None:
            inside = inside[area.row_mask[inside]]
        town = None
        ids = np.unique(np.asarray(self._row_key)[inside])
        if 0 < len(ids) <= FULL_SCAN_MAX_KEYS:
            empty = np.zeros(1, dtype=np.int64)
            town = _Area(None, None, empty, np.zeros(0, dtype=np.int32),
                         scan=(ids, self._key_texts(ids)), rows=np.sort(inside))
        if len(area.towns) > TOWN_MEMO_MAX:
            area.towns.clear()
        area.towns[areas] = town
        return town

    def _name_then_words(self, pq: ParsedQuery, area: _Area
                         ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """The longest known name the key starts with, when at most WORDS_AFTER_MAX words
        follow it ("bell inn yard area", "cheapside footway"): a suggestion. When the word
        after it is a street type with nothing between ("Fleet Street Hill", "Denge Marsh
        Road Lydd"), the text reads as the name of a longer street the gazetteer lacks:
        ``reason="longer_name"``, scored LONGER_NAME_SCORE."""
        for tokens in _word_readings(pq.key, without_the=True):
            found = self._name_then_words_of(tokens, pq, area)
            if len(found[0]):
                return found
        tokens = pq.key.split()
        for i in range(min(len(tokens) - 2, JOINED_WORDS_MAX)):
            # "burra garth unst", "dunge ness beach": a name written as two words
            found = self._name_then_words_of(
                [*tokens[:i], tokens[i] + tokens[i + 1], *tokens[i + 2:]], pq, area,
                min_head=i + 1)  # the joined word is the name's
            if len(found[0]):
                return found
        return found

    def _name_then_words_of(self, tokens: list[str], pq: ParsedQuery, area: _Area,
                            min_head: int = 1) -> tuple[np.ndarray, np.ndarray, list, list]:
        """:meth:`_name_then_words` of one reading of the key, as tokens (a name of at least
        `min_head` of them)."""
        for drop in range(1, min(WORDS_AFTER_MAX, len(tokens) - min_head) + 1):
            head = tokens[:-drop]
            if (len(head) == 1 and head[0] in ROAD_TYPE_TOKENS
                    and head[0] not in _TYPES_THAT_NAME):  # "street" alone; not "Bridge
                break  # Street" or "Park Road", names made of street types
            rows = self._rows_for_key(" ".join(head), area)
            if not len(rows) and head[0] != "the":  # "cokers merseyside": The Cokers
                rows = self._rows_for_key(" ".join(["the", *head]), area)
            rows = rows[self.kind[rows] != KIND_POSTCODE]
            if len(rows):
                n = len(rows)
                if (tokens[len(head)] in ROAD_TYPE_TOKENS and head != [pq.road_number]
                        and not _NOTE_PUNCTUATION_RE.search(pq.name)):  # "B9084 road": the road
                    return rows, np.full(n, LONGER_NAME_SCORE), ["fuzzy"] * n, ["longer_name"] * n
                after = tokens[len(head):]
                slipped = self._rows_with_type_put_right(head, after[0], area)
                if len(slipped):  # "brough veiw shetland": Brough View, its type slipped
                    n = len(slipped)
                    return (slipped, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n,
                            ["words_after"] * n)
                placed = self._place_of_type_on(rows, after, area)
                if placed is not None:  # "bishopsgate police station"
                    return placed
                street = self._street_of_town_after(rows, after, area)
                if street is not None:  # "Baltasound: Curlew Avenue done"
                    return street
                longer = self._name_with_a_word_left_out(head, after[0], area)
                rows = longer if len(longer) else self._of_type_named(rows, after)
                n = len(rows)
                return rows, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n, ["words_after"] * n
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _of_the_town(self, rows: np.ndarray, town: np.ndarray) -> np.ndarray:
        """Per row: whether it lies within TOWN_STREET_MAX_M of a point of the settlement."""
        apart = np.hypot(self.x[rows][:, None] - self.x[town][None, :],
                         self.y[rows][:, None] - self.y[town][None, :]).min(axis=1)
        return apart <= TOWN_STREET_MAX_M

    def _street_of_town_after(self, town: np.ndarray, words: list[str], area: _Area
                              ) -> tuple[np.ndarray, np.ndarray, list, list] | None:
        """A settlement, then at once a street of it ("Baltasound: Curlew Avenue done",
        "Baltasound Cormorant Way"): the street, named exactly from the first word after it
        with its type, when it lies within TOWN_STREET_MAX_M of the settlement, as a street
        named inside a text is (``words_before``); None otherwise."""
        town = town[AREA_LIKE[self.kind[town]]]
        if not len(town) or len(words) < 2:
            return None
        named = [f for f in self._streets_named_in(words, area) if f[0] == 0]
        if len(named) != 1 or named[0][3] < WORDS_AFTER_SCORE:  # exactly, not a slip
            return None
        rows = named[0][2]
        rows = rows[self._of_the_town(rows, town)]
        n = len(rows)
        return (rows, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n, ["words_before"] * n
                ) if n else None

    def _place_of_type_on(self, street: np.ndarray, words: list[str], area: _Area
                          ) -> tuple[np.ndarray, np.ndarray, list, list] | None:
        """A street, then a place type the area has ("bishopsgate police station"): the places
        of that type on the street (``singled_out``, as "Police Station, Bishopsgate" is), or,
        when none is, the street as only near the place (``near``); None when the words name
        no place type or the name is no street."""
        # "aldgate bus station": police.uk's type is "Bus/Coach Station"
        places = self._rows_for_key(PREMISES_KINDS.get(" ".join(words)) or " ".join(words), area)
        places = places[self._generic_mask()[places]]
        street = street[(self.kind[street] == KIND_ROAD) & ~self._generic_mask()[street]]
        if not len(places) or not len(street):
            return None
        meets = self._on_street(places, street, area)
        if meets.any():
            n = int(meets.sum())
            return (places[meets], np.full(n, SINGLED_OUT_MAX_SCORE), ["normalised"] * n,
                    ["singled_out"] * n)
        n = len(street)
        return street, np.full(n, NEAR_PART_MAX_SCORE), ["normalised"] * n, ["near"] * n

    def _name_with_a_word_left_out(self, head: list[str], word: str, area: _Area
                                   ) -> np.ndarray:
        """Rows of the one name of the area that begins with the head and has `word` after
        it, one or two words left out between ("cullivoe school" for Cullivoe Primary
        School, not the village Cullivoe); empty when no name or several do."""
        if word in GENERIC_TOKENS or not self._word_known(word) or len(self._block_hash) == 0:
            return np.zeros(0, np.int64)
        h = key_hash("t:" + head[0])
        pos = int(np.searchsorted(self._block_hash, h))
        if pos >= len(self._block_hash) or self._block_hash[pos] != h:
            return np.zeros(0, np.int64)
        key_ids = np.unique(area.block_keys[area.block_ptr[pos]:area.block_ptr[pos + 1]])
        found = [k for k, text in zip(key_ids.tolist(), self._key_texts(key_ids), strict=True)
                 if (t := text.split())[:len(head)] == head
                 and word in t[len(head) + 1:len(head) + 3]]
        if len(found) != 1:
            return np.zeros(0, np.int64)
        return self._rows_for_key(self._key_texts(np.array(found))[0], area)

    def _slipped_name_then_words(self, pq: ParsedQuery, area: _Area
                                 ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """"Aigberth Rd L'pool", "Baltsound pier": a name with a slip, then words, read as a
        graded slip of one name; unless the head ends in a street type, only as a slip of its
        letters ("Tesco Express" is not Tesco Road with its type dropped). Tried after every
        exact reading of the words; a medial St as Street too ("moscovy st tower hill")."""
        for tokens in _word_readings(pq.key):
            for drop in range(1, min(WORDS_AFTER_MAX, len(tokens) - 1) + 1):
                head = tokens[:-drop]
                rows = (self._rows_with_type_put_right(head[:-1], head[-1], area)
                        if len(head) > 1 else ())
                if len(rows):  # "edge lain liverpool": Edge Lane, its type slipped
                    return rows, np.full(len(rows), FUZZY_SCORES["typo1"]), (
                        ["fuzzy"] * len(rows)), ["typo1"] * len(rows)
                typed = len(head) > 1 and head[-1] in ROAD_TYPE_TOKENS
                if set(head) - {"the"} <= ROAD_TYPE_TOKENS:
                    continue  # "the road B9086 in Shetland": no name's slip ("The Gruad")
                # a head ending in a word some name has is no slip, unless it begins with a
                # word no name has ("thavis inn crime")
                first_word = head[1] if head[0] == "the" and len(head) > 1 else head[0]
                if not typed and (set(head) & ROAD_TYPE_TOKENS or (
                        self._word_known(head[-1]) and self._word_known(first_word))):
                    continue
                rows, scores, why = self._fuzzy(" ".join(head), area)
                allowed = ((lambda w: w != "loose") if typed
                           else (lambda w: w in ("typo1", "typo2")))
                if (len(rows) and all(allowed(w) for w in why)
                        and len(set(self._row_key[rows].tolist())) == 1):
                    return rows, scores, ["fuzzy"] * len(rows), list(why)
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _street_in_sentence(self, pq: ParsedQuery, area: _Area, *, first_only: bool = False,
                            with_near: bool = True, only: int | None = None
                            ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """A street named inside a longer text, as a call log writes it ("caller at 12
        Bartholmew Lane EC2 reports man collapsed"): part by part, the words ending in a
        street type (or in a compass word after one: "Utting Ave East") that name one street
        of the area, exactly or with one slip, the longest such name first and none inside
        another ("Sun St Passage" holds "Sun Street"); the first part naming one street
        answers, scored as words around a name (``reason="words_before"``), or, for a street
        only sounding so, as a suggestion (``sounds_like``). Streets a sentence passes by,
        came from or names a station by yield to one named otherwise. Texts of fewer than
        SENTENCE_MIN_WORDS words, and parts naming several streets so, are left alone.
        With `first_only`, only the first part is read; with `only`, only that part (of
        those read)."""
        none = (np.zeros(0, np.int64), np.zeros(0), [], [])
        parts = [normalise_name(pq.name).split(), *(name.split() for name in pq.later_names)]
        if sum(len(tokens) for tokens in parts) < SENTENCE_MIN_WORDS:
            return none
        # each part's streets, found once: another part's are read when one only came from
        streets_in = functools.cache(
            lambda words: self._streets_named_in(list(words), area, pq.text))
        for tokens in _parts_read(parts, pq, first_only, with_near, only):
            found = streets_in(tuple(tokens))
            # "walking along Bevis Marks from the St Mary Axe end towards Duke's Place": the
            # streets come from or gone towards are not where it happened
            found = [f for f in found if not _passed_by(tokens, f[0], _PASSING_WORDS)]
            # "from" too, unless nothing else is left: "bike stolen from Ironmonger Lane"; but
            # "walking up bishopsgate from Liverpool st station": a name with no street type
            # before it is the place
            came_from = [f for f in found if _passed_by(tokens, f[0], _CAME_FROM_WORDS)]
            found = [f for f in found if f not in came_from] or found
            # "down St Clement's Lane from Lombard Street to King William Street": the far
            # end of a way is passed by too, where a street is named otherwise
            found = [f for f in found if not _far_end(tokens, f[0])] or found
            # "at the Cannon St stn side exit": a station named by its street is what the
            # place is by, beside a street named otherwise
            stations = [f for f in found if tokens[f[1] + 1:f[1] + 2] == ["station"]]
            found = [f for f in found if f not in stations] or found
            if came_from and found == came_from and any(
                    not _passed_by(other, f[0], _PASSING_WORDS | _CAME_FROM_WORDS)
                    for other in parts if other != tokens for f in streets_in(tuple(other))):
                continue  # where it started, when another part names where it happened
            if came_from and found == came_from:
                named = self._name_in_sentence(pq, area, first_only=first_only,
                                               with_near=with_near)
                # (a settlement named too is where the street is: "taken from Tank Farm Street
                # inside the Dungeness power station")
                if (len(named[0]) and not np.isin(named[0], came_from[0][2]).any()
                        and not AREA_LIKE[self.kind[named[0]]].any()):
                    return named
            if len({int(self._row_key[rows[0]]) for _, _, rows, _, _ in found}) == 1:
                _, _, rows, score, why = found[0]
                n = len(rows)
                return (rows, np.full(n, min(score, WORDS_AFTER_SCORE)), ["fuzzy"] * n,
                        [why] * n)
        return none

    def _name_in_sentence(self, pq: ParsedQuery, area: _Area, *, first_only: bool = False,
                          with_near: bool = True, only: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """A name with no street type inside a longer text ("dumped in Silva Dale, the valley
        below our croft", "sitting in the gardens in Finsbury Circus"): the words, two to
        four, that are exactly one name of the area and begin after "the" or a word no name
        has; a feature before a settlement or district named too. Several such names, or
        none: no answer. Scored as words around a name (``words_before``); a name of one word
        ("someone on Huney with a dog") only as a suggestion (``in_sentence``,
        IN_SENTENCE_SCORE), since many words are someone's name somewhere. A name written as
        "the" and one word ("along the cliffs above Silva Geo", "seen in the dale"), or one
        come from ("along Bevis Marks from the St Mary Axe end"), counts only where no other is
        named, and one a sentence passes by ("heading for Hamna Heog")
        or rules out ("not South Whale Geo") only as a suggestion where nothing else is.
        With `first_only`, only the first part is read; with `only`, only that part (of
        those read)."""
        none = (np.zeros(0, np.int64), np.zeros(0), [], [])
        parts = [normalise_name(pq.name).split(), *(name.split() for name in pq.later_names)]
        if sum(len(tokens) for tokens in parts) < SENTENCE_MIN_WORDS:
            return none
        # key id -> rows, words, whether "the" and a word; by tier: a name, a word or "the" and
        # a word, a name come from, a name passed by
        tiers: list[dict[int, tuple[np.ndarray, int, bool]]] = [{}, {}, {}, {}]
        for tokens in _parts_read(parts, pq, first_only, with_near, only):
            # Scots and Shetland speech: "da" is "the", "o" "of" ("da Black Skerries o Balta")
            tokens = [_SPOKEN_WORDS.get(t, t) for t in tokens]
            spans = []  # (words, start, rows) of every name the part holds
            for start in range(len(tokens)):
                after_of = start > 0 and tokens[start - 1] == "of"  # "resident of Tapley Place"
                if start and tokens[start - 1] != "the" and not after_of and not (
                        self._ends_words_before_a_name(tokens[start - 1])):
                    continue
                for size in range(min(4, len(tokens) - start), 0, -1):
                    span = tokens[start:start + size]
                    typed_name = size == 1 and span[0] in _TYPES_THAT_NAME  # "..., Crescent"
                    # "the shops on broadway": a type that is a name, after "on", "at"...
                    placed_there = typed_name and bool(set(
                        [t for t in tokens[max(0, start - 2):start] if t != "the"][-1:])
                        & _SENTENCE_WORDS)
                    if (not typed_name and not set(span) - ROAD_TYPE_TOKENS - GENERIC_TOKENS
                            - _SENTENCE_WORDS - {"the", "of", "and"}) or (size == 1 and not (
                                (len(span[0]) >= 5 and not typed_name and not after_of)
                                or placed_there or is_road_number(span[0])  # "A59 WALTON:"
                                or _capitalised(pq.text, span[0]))):
                        continue
                    rows = self._rows_for_key(" ".join(span), area)
                    rows = rows[self._named_place(rows)]
                    if len(rows):
                        spans.append((size, start, rows))
                        break
            taken: set[int] = set()
            for size, start, rows in sorted(spans, key=lambda sp: (-sp[0], sp[1])):
                # the longest first, none inside another: "the Ness of Collaster" holds no
                # "The Ness"
                if taken & set(range(start, start + size)):
                    continue
                taken |= set(range(start, start + size))
                # a name of one word, "the" and a word, or one come from: only where no other
                # is named ("the Ayre of Belmont, the beach beside the Belmont ferry terminal")
                tier = (3 if _passed_by(tokens, start, _PASSING_WORDS | {"not"})
                        else 2 if _passed_by(tokens, start, _CAME_FROM_WORDS)
                        else 1 if size == 1 or (size == 2 and tokens[start] == "the") else 0)
                tiers[tier].setdefault(int(self._row_key[rows[0]]),
                                       (rows, size, size == 2 and tokens[start] == "the"))
        for tier, found in enumerate(tiers):
            places = {k: v for k, v in found.items() if not AREA_LIKE[self.kind[v[0]]].any()}
            chosen = places or found
            if not chosen:
                continue
            if len(chosen) != 1:
                return none
            rows, size, the_word = next(iter(chosen.values()))
            n = len(rows)
            # a settlement alone, or "the" and a word ("watching the cliffs at Norwick
            # beach": The Cliffs, a feature of that name), is a suggestion too
            if size == 1 or the_word or not places or tier == 3:
                if not with_near and pq.near_names and (not places or tier == 3):
                    # "oot by da Black Skerries o Balta, aff Baltasound": a feature a locating
                    # word introduced reads better than a village alone, or a street passed by
                    # ("Left Liverpool Street stn by the Broadgate side and walked along
                    # Primrose St")
                    nearer = self._name_in_sentence(pq, area, first_only=first_only,
                                                    with_near=True)
                    # ...as does a feature of its own ("taken from outside our house at
                    # Taftens, Haroldswick")
                    if set(nearer[3]) == {"words_before"} or (
                            len(nearer[0]) and not AREA_LIKE[self.kind[nearer[0]]].any()
                            and AREA_LIKE[self.kind[rows]].all()):
                        return nearer
                return rows, np.full(n, IN_SENTENCE_SCORE), ["fuzzy"] * n, ["in_sentence"] * n
            return rows, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n, ["words_before"] * n
        return none

    def _slipped_in_sentence(self, pq: ParsedQuery, area: _Area, *, first_only: bool = False,
                             with_near: bool = True, only: int | None = None
                             ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """A name inside a longer text written with a slip the exact readings cannot see,
        read where they found nothing: one name split in two ("on hounds ditch", "cheap
        side": Houndsditch, Cheapside), a street type slipped or spelt by ear ("on lark lame",
        "Walton vail": Lark Lane, Walton Vale), or a one-slip misspelling of a name written
        with a capital ("the shop in Baltasoind"). Every reading is checked against the
        area's names exactly (a slip of one letter in the capitalised word); the one name so
        found is a suggestion (``in_sentence``, IN_SENTENCE_SCORE); several, or none: no
        answer. Same parts as :meth:`_name_in_sentence`."""
        none = (np.zeros(0, np.int64), np.zeros(0), [], [])
        parts = [normalise_name(pq.name).split(), *(name.split() for name in pq.later_names)]
        if sum(len(tokens) for tokens in parts) < SENTENCE_MIN_WORDS:
            return none
        found: dict[int, np.ndarray] = {}
        slipped: list[str] = []  # words read as a name with one slip, looked up at once
        for tokens in _parts_read(parts, pq, first_only, with_near, only):
            # (or after "the" after a locating word: "on the west tank farm rode")
            begins = [not at or self._ends_words_before_a_name(tokens[at - 1]) or (
                tokens[at - 1] == "the" and (at == 1 or tokens[at - 2] in _SENTENCE_WORDS))
                for at in range(len(tokens))]
            for start in range(len(tokens)):
                slipped += self._maybe_slipped(tokens, start, begins, pq.text)
                if not begins[start]:
                    continue
                for key in _slipped_readings(tokens[start:start + SLIPPED_SPAN_MAX]):
                    rows = self._rows_for_key(key, area)
                    rows = rows[self._named_place(rows)]
                    if len(rows):
                        found.setdefault(int(self._row_key[rows[0]]), rows)
                        break
        if slipped:
            slipped = list(dict.fromkeys(slipped))  # a span is offered from each of its words
            self._fuzzy_many(slipped, area)
            for words in slipped:
                rows, _scores, why = self._fuzzy(words, area)
                keep = self._named_place(rows)
                keys = set(self._row_key[rows[keep]].tolist())
                if len(keys) == 1 and all(w == "typo1" for w in why):
                    found.setdefault(keys.pop(), rows[keep])
        if len(found) != 1:
            return none
        rows = next(iter(found.values()))
        n = len(rows)
        return rows, np.full(n, IN_SENTENCE_SCORE), ["fuzzy"] * n, ["in_sentence"] * n

    def _maybe_slipped(self, tokens: list[str], start: int, begins: list[bool], text: str
                       ) -> list[str]:
        """The words around `tokens[start]` that may be a name written with one slip there:
        a word no name has, capitalised or long ("Baltasoind", "whitechaple"), alone or
        with the words of the name around it ("crutched friers"), when they are words of a
        name's length and begin where a name may (`begins`, by word)."""
        word = tokens[start]
        if not word.isalpha() or self._word_known(word) or word in _SENTENCE_WORDS:
            return []
        out = [word] if begins[start] and (len(word) >= SLIPPED_LONG_WORD or (
            len(word) >= SLIPPED_WORD_MIN and _capitalised(text, word))) else []
        for size in (2, 3):  # the slip's word first, or after a word of the name
            for at in range(max(0, start - size + 1), start + 1):
                span = tokens[at:at + size]
                if (len(span) == size and begins[at] and all(t.isalpha() for t in span)
                        and not set(span) & _SENTENCE_WORDS
                        and not {span[0], span[-1]} & _SPAN_EDGE_WORDS
                        and len("".join(span)) >= SLIPPED_SPAN_MIN_LETTERS):
                    out.append(" ".join(span))
                    # "ludgat hil", "midlesex streat": a slip in the name and in its type
                    # (not a four-letter word's slip of a type, "till late", with a slip
                    # before it too)
                    typed = _slipped_type(span[-1]) if len(span[-1]) != 4 else None
                    if typed is not None:
                        out.append(" ".join([*span[:-1], typed]))
        return out

    def _streets_named_in(self, tokens: list[str], area: _Area, text: str = ""
                          ) -> list[tuple[int, int, np.ndarray, float, str]]:
        """The streets a part of a sentence names (:meth:`_street_in_sentence`): (first word,
        last word, rows, score, reason) of each, none inside another. Named exactly or with
        one slip: ``words_before``; only sounding as one street of that type does
        ("clemmints lane", "stafford mortn way"): ``sounds_like``, a suggestion. A name after
        "the" is read exactly, or with a slip only where `text` writes it with a capital."""
        tokens = ["street" if t == "saint" and self._st_is_street(tokens, i) else t
                  for i, t in enumerate(tokens)]
        # a compass point's letter after a type ("Reeds Ave W, Moreton"): its word
        tokens = [COMPASS_LETTERS[t] if t in COMPASS_LETTERS and i > 1
                  and tokens[i - 1] in ROAD_TYPE_TOKENS else t for i, t in enumerate(tokens)]
        ends = [i for i, t in enumerate(tokens) if i and t in ROAD_TYPE_TOKENS]
        ends += [i + 1 for i in ends if i + 1 < len(tokens) and tokens[i + 1] in _COMPASS_WORDS]
        found: list[tuple[int, int, np.ndarray, float, str]] = []
        for end in sorted(set(ends)):
            # a name begins the text or follows a word no name has (a house number, "at",
            # "caller"): "Block B, St Martin's Lane" holds no "Martin's Lane"; or a street
            # type used as a word ("on the road Duke Street Hill"). Not "of": "the side of
            # Liverpool St station" is what it is beside
            # (or a settlement's or district's name alone: "Sutton: Peckers Hill Road")
            begins = {start for start in range(max(0, end - 4), end)
                      if start == 0 or self._ends_words_before_a_name(tokens[start - 1])
                      or self._names_an_area(tokens[start - 1], area)}
            # ...or after "the" ("in the Church St loading bay"), read exactly only unless
            # written as a name ("via the Colman Street entrance"): "the bus lane", "the wet
            # road" are no slips of Bush Lane, West Road
            after_the = {start for start in range(max(1, end - 4), end)
                         if start not in begins and tokens[start - 1] == "the" and (
                             start == 1 or tokens[start - 2] in _SENTENCE_WORDS
                             or _capitalised(text, tokens[start]))}
            # (a name of two words more than its type may have a slip: "on the west tank farm
            # road", as speech is written down)
            exactly = {start for start in after_the
                       if not _capitalised(text, tokens[start]) and end - start < 2}
            begins |= after_the - exactly
            # ...or after a Saint the area's name has not ("down St Clement's Lane":
            # police.uk's Clement's Lane), read exactly, once the span with it is tried
            exactly |= {start for start in range(max(1, end - 4), end)
                        if start not in begins and tokens[start - 1] == "saint" and (
                            start == 1 or tokens[start - 2] in _SENTENCE_WORDS
                            or self._ends_words_before_a_name(tokens[start - 2]))}
            begins |= {start for start in range(max(2, end - 4), end)
                       if tokens[start - 1] in ROAD_TYPE_TOKENS
                       and tokens[start - 2] in _ARTICLES}
            # a small figure inside a name is its word ("along Reactor 2 Road"); one first is
            # a house number
            spans = [(start, figures_as_words(tokens[start:end + 1]))
                     for start in sorted(begins | exactly)]
            # a name of street types alone ("Hill Street", "Park Road") only first or after
            # "on", "in"...
            spans = [(start, sp) for start, sp in spans if not any(t[0].isdigit() for t in sp)
                     and (set(sp) - ROAD_TYPE_TOKENS - {"the"} or (
                         len(sp) == 2 and (not start or tokens[start - 1] in _SENTENCE_WORDS)))]
            for start, span in spans:  # longest first: "west end road" before "end road"
                rows = self._rows_for_key(" ".join(span), area)
                # "N Aux Boiler House Road": North; "L.Thames St": Lower, Little or Long
                words = words_a_first_word_stands_for(span[0]) if len(span) > 2 else ()
                for word in words if not len(rows) else ():
                    rows = self._rows_for_key(" ".join([word, *span[1:]]), area)
                    if len(rows):
                        break
                if not len(rows) and len(span) > 1:  # "hatton gardens": Hatton Garden
                    other = _other_number_of_type(span[-1])
                    if other is not None:
                        rows = self._rows_for_key(" ".join([*span[:-1], other]), area)
                for at in range(len(span) - 2) if not len(rows) else ():
                    # two words of one name written apart: "brown moor lane" is Brownmoor
                    # Lane before it holds Moor Lane
                    if span[at].isalpha() and span[at + 1].isalpha():
                        rows = self._rows_for_key(" ".join(
                            [*span[:at], span[at] + span[at + 1], *span[at + 2:]]), area)
                        if len(rows):
                            break
                rows = rows[self.kind[rows] == KIND_ROAD]
                if len(rows):
                    found.append((start, end, rows, WORDS_AFTER_SCORE, "words_before"))
                    break
            else:
                # a slip only in a name with a word of its own: "West Ed Road" is no guess
                spans = [(start, sp) for start, sp in spans
                         if set(sp) - ROAD_TYPE_TOKENS - GENERIC_TOKENS and start not in exactly]
                for start, span in spans[-2:]:  # the name and its type, or one word more
                    rows, scores, why = self._fuzzy(" ".join(span), area)
                    if (len(rows) and all(w == "typo1" for w in why)
                            and len(set(self._row_key[rows].tolist())) == 1):
                        found.append((start, end, rows, WORDS_AFTER_SCORE * float(scores.max())
                                      / FUZZY_SCORES["typo1"], "words_before"))
                        break
                else:
                    heard = self._street_by_ear(spans, area)
                    if heard is not None:
                        found.append((heard[0], end, heard[1], SOUNDS_LIKE_SCORE,
                                      "sounds_like"))
        # names inside a longer one found are not named apart
        return [f for f in found if not any(o is not f and o[0] <= f[0] and f[1] <= o[1]
                                            for o in found)]

    def _st_is_street(self, tokens: list[str], at: int) -> bool:
        """Whether the St read as Saint at `tokens[at]` is Street: after a word of a name ("on
        Duke St Liverpool"; "at St Paul's" is Saint), or after a word no name has, a name
        misspelt ("an office on Billitter St reports"), unless a word of a name follows
        ("bermondsey st thomas st" is St Thomas Street)."""
        if not at:
            return False
        before = tokens[at - 1]
        if not self._ends_words_before_a_name(before):
            return True
        after = tokens[at + 1] if at + 1 < len(tokens) else None
        return (before.isalpha() and before not in _SENTENCE_WORDS
                and before not in _SPAN_EDGE_WORDS
                and not (after is not None and after not in _SENTENCE_WORDS
                         and self._word_known(after)))

    def _street_by_ear(self, spans: list[tuple[int, list[str]]], area: _Area
                       ) -> tuple[int, np.ndarray] | None:
        """The first word and rows of the one street of the area a span of words ending in a
        street type sounds as (its type the same), the longest span first; None when none or
        several do, or the area is too big to scan."""
        scan = self._scan_list(area) if spans else None
        if not scan:
            return None
        for start, span in spans:
            if span[0] in _ARTICLES or span[0] in _SENTENCE_WORDS:
                continue  # "the cannon street" sounds as Cannon Street, not read so exactly
            code = sound_code(" ".join(span))
            rows = self._one_name_sounding(code, area, scan) if code else np.zeros(0, np.int64)
            rows = rows[self.kind[rows] == KIND_ROAD]
            if len(rows):
                return start, rows
        return None

    def _named_place(self, rows: np.ndarray) -> np.ndarray:
        """Per row: whether it is a place with a name of its own (no postcode, no place
        named only by its police.uk type)."""
        return (self.kind[rows] != KIND_POSTCODE) & ~self._generic_mask()[rows]

    def _names_an_area(self, word: str, area: _Area) -> bool:
        """Whether one word alone is the name of a settlement or district of the area."""
        rows = self._rows_for_key(word, area)
        return bool(len(rows)) and bool(AREA_LIKE[self.kind[rows]].any())

    def _ends_words_before_a_name(self, word: str) -> bool:
        """Whether a name may begin after `word` in a sentence: a figure, or a word of more
        than one letter that is no word of a name ("at", "caller", "premises")."""
        if word[0].isdigit():
            return True
        return len(word) > 1 and word not in GENERIC_TOKENS and (
            word in _SENTENCE_WORDS or not self._word_known(word))

    def _of_type_named(self, rows: np.ndarray, words: list[str]) -> np.ndarray:
        """The rows whose kind of place the words after their name say ("Dungeness station":
        the railway station of that name, not the village); all rows when the words name
        none of their kinds. Street types are left out: they say nothing of a place's kind."""
        said = set(words) - ROAD_TYPE_TOKENS
        if not said or len(rows) < 2:
            return rows
        kinds = [set(t.lower().split()) if t else set()
                 for t in self._types.take(pa.array(rows)).to_pylist()]
        named = np.array([bool(k & said) for k in kinds], dtype=bool)
        return rows[named] if named.any() else rows

    def _words_then_name(self, pq: ParsedQuery, area: _Area
                         ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """The longest known street name the key ends with, when at most WORDS_AFTER_MAX
        words that no name of the gazetteer has come before it ("mcdonalds cheapside",
        "boots 12 fleet street": a landmark on the street): ``reason="words_before"``, scored
        WORDS_AFTER_SCORE. A word some name has ("great", "lloyds") may begin a longer street
        the gazetteer lacks: not read so."""
        tokens = pq.key.split()
        for drop in range(1, min(WORDS_AFTER_MAX, len(tokens) - 1) + 1):
            if self._word_known(tokens[drop - 1]):
                break
            tail = tokens[drop:]
            if tail[0].isdigit():  # "boots 12 fleet street": a house number
                tail = tail[1:]
            if not tail or set(tail) <= ROAD_TYPE_TOKENS:
                break
            rows = self._rows_for_key(" ".join(tail), area)
            rows = rows[~AREA_LIKE[self.kind[rows]] & ~self._generic_mask()[rows]]
            if not len(rows) and len(tail) > 2 and not pq.later_names:
                # "crime South Place Moorgate": words before a street and words after it
                after = self._name_then_words_of(tail, pq, area, min_head=2)
                if set(after[3]) == {"words_after"} and (self.kind[after[0]] == KIND_ROAD).all():
                    rows = after[0]
            if len(rows):
                if self._slip_of_one_street(tokens[:drop], area):
                    break  # "moscovy st tower hill": a street, then its area
                n = len(rows)
                return rows, np.full(n, WORDS_AFTER_SCORE), ["fuzzy"] * n, ["words_before"] * n
        return np.zeros(0, np.int64), np.zeros(0), [], []

    def _slip_of_one_street(self, words: list[str], area: _Area) -> bool:
        """Whether words that end in a street type (a St after a word read as Street) are one
        street of the area with a slip ("moscovy st"): then they are no words before a name
        but the street, and what follows is its area; "petticoat lane market" is not."""
        words = medial_st_as_street(words)
        if len(words) < 2 or words[-1] not in ROAD_TYPE_TOKENS:
            return False
        rows, _, why = self._fuzzy(" ".join(words), area)
        return bool(len(rows)) and all(w in ("typo1", "typo2") for w in why) and len(
            set(self._row_key[rows].tolist())) == 1

    def _best_fuzzy(self, pq: ParsedQuery, area: _Area
                    ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Fuzzy candidates of the name as written and, when it differs, of the name with a
        slip in its street type put right ("Kung Strewt" -> "kung street"): the reading with a
        graded (not loose) best candidate wins, the name as written on a tie."""
        readings = [pq.key] + ([pq.fuzzy_key] if pq.fuzzy_key and pq.fuzzy_key != pq.key
                               else [])
        # "the minnories": a "The" that the name has not (the exact lookup tries it too)
        readings += [key[4:] for key in readings if key.startswith("the ") and len(key) > 8]
        best = None
        for key in readings:
            rows, scores, why = self._fuzzy(key, area)
            rank = (not set(why) <= {"loose"}, float(scores.max()) if len(scores) else -1.0)
            if len(rows) and (best is None or rank > best[0]):
                best = (rank, (rows, scores, ["fuzzy"] * len(rows), list(why)))
        return best[1] if best else (np.zeros(0, np.int64), np.zeros(0), [], [])

    def _fuzzy(self, key: str, area: _Area) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Rows of the best fuzzy keys (blocked by name and area), their scores and reasons."""
        if key not in area.fuzzy:
            self._fuzzy_many([key], area)
        return area.fuzzy[key]

    def _fuzzy_many(self, keys: Sequence[str], area: _Area, limit: int = 4) -> None:
        """Work out :meth:`_fuzzy` for many keys at once, into the area's memo.

        Blocking: each key's blocking hashes are looked up in one pass, and its candidates
        are the FUZZY_CANDIDATES keys of the area that share most blocks with it. All
        (key, candidate) pairs are then scored in two native calls, not two per key.
        """
        todo = [key for key in dict.fromkeys(keys) if key not in area.fuzzy]
        numbers = [key for key in todo if is_road_number(key)]
        if numbers:  # "A552" is no slip of the A553: a road's number is the road
            area.fuzzy.update(dict.fromkeys(numbers, (np.zeros(0, np.int64), np.zeros(0), [])))
            todo = [key for key in todo if key not in area.fuzzy]
        if not todo:
            return
        if len(todo) > FUZZY_BATCH:  # bounded memory: every posting of every key is held
            for start in range(0, len(todo), FUZZY_BATCH):
                self._fuzzy_many(todo[start:start + FUZZY_BATCH], area, limit)
            return
        if len(area.fuzzy) > FUZZY_MEMO_MAX:
            area.fuzzy.clear()
        if not len(area.block_keys):  # an area searched by scanning only (see _town_area)
            picked = [np.zeros(0, np.int64) for _ in todo]
            self._grade_candidates(todo, picked, area, limit)
            self._scan_weak(todo, picked, area, limit)
            return
        none = (np.zeros(0, np.int64), np.zeros(0), [])
        hashes = [_block_hashes(key) for key in todo]
        owner = np.repeat(np.arange(len(todo), dtype=np.int64), [len(h) for h in hashes])
        if not len(owner) or not len(self._block_hash):
            area.fuzzy.update(dict.fromkeys(todo, none))
            return
        wanted = np.concatenate(hashes)
        pos = np.minimum(np.searchsorted(self._block_hash, wanted), len(self._block_hash) - 1)
        known = self._block_hash[pos] == wanted
        owner, pos = owner[known], pos[known]
        starts, lengths = area.block_ptr[pos], area.block_ptr[pos + 1] - area.block_ptr[pos]
        # Every posting of every block, tagged with the key it is a candidate for.
        postings = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum()))
        tagged = (np.repeat(owner, lengths) << 32) | area.block_keys[postings].astype(np.int64)
        tags, shared = np.unique(tagged, return_counts=True)  # by key, then candidate
        bounds = np.searchsorted(tags >> 32, np.arange(len(todo) + 1))
        candidate_keys = (tags & 0xFFFFFFFF).astype(area.block_keys.dtype)
        picked = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if hi - lo > FUZZY_CANDIDATES:  # the keys sharing most blocks
                top = np.argpartition(-shared[lo:hi], FUZZY_CANDIDATES - 1)[:FUZZY_CANDIDATES]
                picked.append(candidate_keys[lo:hi][top])
            else:
                picked.append(candidate_keys[lo:hi])
        self._grade_candidates(todo, picked, area, limit)
        self._scan_weak(todo, picked, area, limit)

    def _scan_weak(self, todo: list[str], picked: list[np.ndarray], area: _Area,
                   limit: int) -> None:
        """Keys whose candidates hold no graded one: compare every name of a small area,
        whole and without its street type (a slip, a type left off, or both)."""
        weak = [i for i, key in enumerate(todo) if set(area.fuzzy[key][2]) <= {"loose"}]
        scan = self._scan_list(area) if weak else None
        if not scan:
            return
        ids, texts = scan
        queries = [todo[i] for i in weak]
        near = process.cdist(queries, texts, scorer=OSA.distance,
                             score_cutoff=FULL_SCAN_MAX_EDITS, dtype=np.int32
                             ) <= FULL_SCAN_MAX_EDITS
        typeless = [j for j, q in enumerate(queries) if q.split()[-1] not in ROAD_TYPE_TOKENS]
        if typeless:  # a type left off: compare with the names without their type
            stems = _scan_types(area)[1]
            near[typeless] |= process.cdist([queries[j] for j in typeless], stems,
                                            scorer=OSA.distance, score_cutoff=2,
                                            dtype=np.int32) <= 2
        extra = [np.union1d(picked[i], ids[row]) for i, row in zip(weak, near, strict=True)]
        self._grade_candidates(queries, extra, area, limit)

    def _grade_candidates(self, keys: list[str], picked: list[np.ndarray], area: _Area,
                          limit: int) -> None:
        """Score each key against its candidate keys (two native calls for all pairs) and
        keep its best rows in the area's memo."""
        sizes = [len(p) for p in picked]
        choices = self._key_texts(np.concatenate(picked)) if sum(sizes) else []
        queries = [key for key, size in zip(keys, sizes, strict=True) for _ in range(size)]
        similarity = fuzzy_similarity_pairs(queries, choices)
        at = 0
        for key, cand, size in zip(keys, picked, sizes, strict=True):
            area.fuzzy[key] = self._fuzzy_rows(key, cand, similarity[at:at + size], area, limit)
            at += size

    def _sounds_like(self, pq: ParsedQuery, area: _Area
                     ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """A name written by ear ("veil road" for Vale Road, "bare alley" for Bear Alley,
        "moo ness" for Muness): the one name of the area that sounds the same (Metaphone of
        its words run together) and has the same street type, ``reason="sounds_like"``,
        scored SOUNDS_LIKE_SCORE: a suggestion, not a location. Only in an area small enough
        to scan (a force, a town); none when no name or several sound so."""
        none = (np.zeros(0, np.int64), np.zeros(0), [], [])
        code = sound_code(pq.key)
        scan = self._scan_list(area) if code else None
        if not scan:
            return none
        rows = self._one_name_sounding(code, area, scan)
        n = len(rows)
        return rows, np.full(n, SOUNDS_LIKE_SCORE), ["fuzzy"] * n, ["sounds_like"] * n

    def _one_name_sounding(self, code: str, area: _Area, scan: tuple[np.ndarray, list[str]]
                           ) -> np.ndarray:
        """The rows of the one name of the area with this sound code (empty when none or
        several names sound so)."""
        ids = self._sounds_of_kind(area, scan, code.partition("|")[2]).get(code, [])
        if len(ids) != 1:
            return np.zeros(0, np.int64)
        return self._rows_for_key(self._key_texts(np.array(ids))[0], area)

    @staticmethod
    def _sounds_of_kind(area: _Area, scan: tuple[np.ndarray, list[str]], kind: str
                        ) -> dict[str, list[int]]:
        """The area's names of one street type ("" for none) by how they sound, coded the
        first time a text of that type is read by ear. A sound code ends with its type, so
        no name of another type can sound the same; and a worker that reads each force's
        month once would otherwise code every name of every force for a handful of texts."""
        if area.sounds is None:
            area.sounds = {}
        coded = area.sounds.get(kind)
        if coded is None:
            coded = area.sounds[kind] = {}
            for key_id, text, named in zip(scan[0].tolist(), scan[1], _scan_types(area)[0],
                                           strict=True):
                if named == kind:
                    coded.setdefault(sound_code(text), []).append(key_id)
            coded.pop("", None)  # too short to tell by sound
        return coded

    def _told_apart_by_sound(self, pq: ParsedQuery,
                             found: tuple[np.ndarray, np.ndarray, list, list]
                             ) -> tuple[np.ndarray, np.ndarray, list, list]:
        """Slips of several names, equally close ("clock lane": Cloak Lane, Block Lane...):
        the one that sounds as the text does is suggested (``sounds_like``); the rivals stand
        when none or several do."""
        rows = found[0]
        keys = np.asarray(self._row_key[rows], dtype=np.int64)
        distinct = np.unique(keys)
        code = sound_code(pq.key) if len(distinct) > 1 else ""
        if not code:
            return found
        sounds = [k for k, text in zip(distinct.tolist(), self._key_texts(distinct), strict=True)
                  if sound_code(text) == code]
        if len(sounds) != 1:
            return found
        rows = rows[keys == sounds[0]]
        n = len(rows)
        return rows, np.full(n, SOUNDS_LIKE_SCORE), ["fuzzy"] * n, ["sounds_like"] * n

    def _scan_list(self, area: _Area) -> tuple[np.ndarray, list[str]] | None:
        """Every key of a small area and its text (None when the area has too many names)."""
        if area.scan is None:
            if area.key_mask is None:
                ids = np.arange(len(self._key_hash)) if len(self._key_hash) <= (
                    FULL_SCAN_MAX_KEYS) else None
            else:
                ids = np.flatnonzero(area.key_mask)
                ids = ids if len(ids) <= FULL_SCAN_MAX_KEYS else None
            area.scan = (ids, self._key_texts(ids)) if ids is not None else False
        return area.scan or None

    def _fuzzy_rows(self, key: str, cand: np.ndarray, similarity: np.ndarray, area: _Area,
                    limit: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The rows, scores and reasons of the best candidate keys for `key`.

        The FUZZY_GRADED most similar keys above FUZZY_CUTOFF are graded by
        :func:`gazetteer.scoring.fuzzy_grade` (keyboard slips, street type dropped or changed).
        A key closer than every other by FUZZY_UNIQUE_MARGIN answers alone with its grade's
        calibrated score; otherwise its rivals, or for a `loose` best the keys within 6
        similarity points of it (at most `limit`), answer with a score capped at
        FUZZY_LOOSE_MAX, and ranking sees them all.
        """
        order = np.argsort(-similarity, kind="stable")[:FUZZY_GRADED]
        low = similarity[order] < FUZZY_CUTOFF
        # two slips in a short name ("piutry": 77 to "poultry") are 2 edits; in a key longer
        # than SHORT_KEY_MAX letters two edits stay above the cutoff, so no edits are counted
        if low.any() and len(key) <= SHORT_KEY_MAX:
            texts = self._key_texts(cand[order[low]])
            low[low] = [OSA.distance(key, t) > 2 for t in texts]
        order = order[~low]
        if not len(order):
            return np.zeros(0, np.int64), np.zeros(0), []
        sims = similarity[order].astype(np.float64)
        texts = self._key_texts(cand[order])
        graded = [fuzzy_grade(key, t, float(v)) for t, v in zip(texts, sims.tolist(),
                                                                 strict=True)]
        costs = np.array([c for _, c in graded])
        best = int(np.argmin(costs))
        rivals = costs < costs[best] + FUZZY_UNIQUE_MARGIN
        if graded[best][0] != "loose" and rivals.sum() == 1:
            picked = np.array([best])
            key_scores = np.array([FUZZY_SCORES[graded[best][0]]])
            reasons = [graded[best][0]]
        else:  # rivals of a grade, else the names within 6 similarity points of the best
            close = rivals if graded[best][0] != "loose" else sims >= sims[0] - 6
            picked = np.flatnonzero(close)[:limit]
            key_scores = np.minimum(sims[picked] * (SCORES["fuzzy_max"] / 100.0),
                                    FUZZY_LOOSE_MAX)
            reasons = [graded[i][0] for i in picked.tolist()]
        ptr = self._key_ptr
        slices = [self._key_rows[ptr[k]:ptr[k + 1]] for k in cand[order[picked]].tolist()]
        rows = np.concatenate(slices).astype(np.int64)
        sizes = [len(x) for x in slices]
        scores = np.repeat(key_scores, sizes)
        why = [r for r, n in zip(reasons, sizes, strict=True) for _ in range(n)]
        keep = self.kind[rows] != KIND_POSTCODE
        if area.row_mask is not None:
            keep &= area.row_mask[rows]
        if area.rows is not None:  # an area given as its sorted rows (a town)
            at = np.minimum(np.searchsorted(area.rows, rows), len(area.rows) - 1)
            keep &= area.rows[at] == rows
        return rows[keep], scores[keep], [w for w, k in zip(why, keep.tolist(), strict=True) if k]

    def _word_known(self, word: str) -> bool:
        """Whether some name of the gazetteer has this distinctive word (its blocking token)."""
        h = key_hash("t:" + word)
        i = int(np.searchsorted(self._block_hash, h))
        return i < len(self._block_hash) and int(self._block_hash[i]) == h

    def _needs_fuzzy(self, pq: ParsedQuery, area: _Area) -> bool:
        """Whether :meth:`_candidates` will match `pq` fuzzily: no feature in the area has its
        key or an alternative key (a key with its type's slip put right is also checked
        against the key's own fuzzy candidates, so it needs them too)."""
        if not pq.key or pq.junction is not None:
            return False
        if pq.key in POLICE_PUBLIC_PLACES:
            # one of police.uk's place types is that type or none the area has, never a slip
            # of another ("Petrol Station" is no misspelt "Police Station")
            return False
        if pq.fuzzy_key != pq.key and not self._word_known(pq.key.split()[-1]):
            # a slip in the type, the type's fix the only reading: no fuzzy search needed
            # when the fixed name is known
            k = self._key_id(pq.fuzzy_key)
            if k >= 0 and (area.key_mask is None or area.key_mask[k]):
                return False
        for key in (pq.key, *pq.alternatives, *([pq.whole] if pq.whole else [])):
            k = self._key_id(key)
            if k >= 0 and (area.key_mask is None or area.key_mask[k]):
                return False
        return True

    def _exact_rows(self, uniq: Sequence[str], area: _Area) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `uniq` that name exactly one feature in the area, and those rows.

        A text is exact when, after "On or near", it is spelt as the raw name of the only
        feature of its key in the area. Within a force (a few thousand such names) this is
        answered in Arrow: one regex pass strips the texts and a hash look-up matches them.
        Arrow rebuilds that hash table on every call, so for a wider area (the whole country:
        millions of names) the texts are hashed one by one against the built index instead.
        """
        empty = np.zeros(0, np.int64)
        if not uniq or not len(self._key_ptr) > 1:
            return empty, empty
        sole_names = self._sole_names(area)
        if sole_names is None:
            return self._exact_rows_hashed(uniq, area)
        names, rows = sole_names
        if not len(rows):
            return empty, empty
        found = pc.index_in(_stripped_column(uniq), value_set=names)
        valid = pc.is_valid(found)
        hit = np.flatnonzero(np.asarray(valid))
        return hit, rows[np.asarray(found.filter(valid), dtype=np.int64)]

    def _exact_rows_hashed(self, uniq: Sequence[str], area: _Area
                           ) -> tuple[np.ndarray, np.ndarray]:
        """`_exact_rows` through the built raw-name hash index, one text at a time."""
        empty = np.zeros(0, np.int64)
        if not len(self._raw_hash):
            return empty, empty
        sole = self._sole_rows(area)
        stripped = _stripped(uniq)
        h = key_hashes(stripped)
        lo = np.minimum(np.searchsorted(self._raw_hash, h, "left"), len(self._raw_hash) - 1)
        hit = np.flatnonzero(self._raw_hash[lo] == h)
        if not len(hit):
            return empty, empty
        keys = np.asarray(self._row_key[self._raw_rows[lo[hit]]], dtype=np.int64)
        rows = sole[keys]
        ok = rows >= 0
        hit, rows = hit[ok], rows[ok]
        # exact: the only row of that name in the area is spelt as the text
        same = self._row_raw_hash[rows] == h[hit]
        hit, rows = hit[same], rows[same]
        names = self._names.take(pa.array(rows)).to_pylist()
        ok = np.array([names[i] == stripped[q] for i, q in enumerate(hit.tolist())], dtype=bool)
        return hit[ok], rows[ok]

    def _sole_key_rows(self, texts: Sequence[str], area: _Area
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions in `texts` whose canonical key belongs to one feature in the area, that
        feature's row, and whether the text is spelt as its name.

        Only plain names qualify (no trailing area parts, not a junction): for them
        :meth:`lookup` has one candidate and nothing to rank, so the answer is that row. Keys
        are matched in one vectorised pass; most misspelt-case or abbreviated names end here.
        """
        empty = np.zeros(0, np.int64)
        if not texts or not len(self._key_hash):
            return empty, empty, np.zeros(0, dtype=bool)
        parsed = [parse_query(t) if t else None for t in texts]
        plain = [i for i, pq in enumerate(parsed)
                 if pq is not None and pq.key and not pq.areas and pq.junction is None]
        if not plain:
            return empty, empty, np.zeros(0, dtype=bool)
        keys = [parsed[i].key for i in plain]
        hashes = key_hashes(keys)
        pos = np.minimum(np.searchsorted(self._key_hash, hashes), len(self._key_hash) - 1)
        rows = self._sole_rows(area)[pos]
        candidate = np.flatnonzero((self._key_hash[pos] == hashes) & (rows >= 0))
        # As `_key_id`: a hash hit counts only if the key text is the same.
        found_keys = self._keys.take(pa.array(pos[candidate])).to_pylist()
        same = np.array([found_keys[j] == keys[c] for j, c in enumerate(candidate.tolist())],
                        dtype=bool)
        candidate = candidate[same]
        rows = rows[candidate]
        name_hashes = key_hashes([parsed[plain[c]].name.strip() for c in candidate.tolist()])
        exact = self._row_raw_hash[rows] == name_hashes
        # a name not spelt as written whose words run together name a settlement ("harolds
        # wick") is two places: left to the ranking (`_with_settlement_twin`)
        twinned = [i for i, (c, e, row) in enumerate(zip(candidate.tolist(), exact.tolist(),
                                                         rows.tolist(), strict=True))
                   if not e and " " in keys[c] and not AREA_LIKE[self.kind[row]]
                   and len(self._settlement_twin(keys[c], area))]
        if twinned:
            keep = np.ones(len(candidate), dtype=bool)
            keep[twinned] = False
            candidate, rows, exact = candidate[keep], rows[keep], exact[keep]
        return np.asarray(plain, dtype=np.int64)[candidate], rows, exact
