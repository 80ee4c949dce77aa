"""crimegeo gazetteer: build a gazetteer from real sources, index it, and geocode with confidence.

Forward (street or area name -> place, restricted to a force's area, scored), reverse (point ->
"On or near <name>") and the vectorised nearest-public-map-point query used for anonymisation.
A plain library with its own CLI (``python -m crimegeo.gazetteer``); it never imports Beam or
Prefect.

    >>> from gazetteer import Gazetteer, build_gazetteer
    >>> build_gazetteer(["opname_csv_gb.zip"], "gaz/")          # doctest: +SKIP
    >>> gaz = Gazetteer.load("gaz/")                               # doctest: +SKIP
    >>> gaz.lookup("On or near Alderman'S Walk", force="city-of-london")  # doctest: +SKIP
"""

from crimegeo.gazetteer.build import build_gazetteer
from crimegeo.gazetteer.core import Gazetteer
from crimegeo.gazetteer.model import GazetteerError, Match, ReverseMatch
from crimegeo.gazetteer.normalise import normalise_name

__all__ = [
    "Gazetteer",
    "GazetteerError",
    "Match",
    "ReverseMatch",
    "build_gazetteer",
    "normalise_name",
]
