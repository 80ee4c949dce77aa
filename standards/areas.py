"""Area layers as a run names them: `--areas [NAME=]URI`.

NAME (a lower-case identifier) becomes the record's `<NAME>_code` and `<NAME>_name` columns;
without it, the layer is named when it is loaded (`lsoa` for an LSOA layer). The one place
the spec is split, for the command line's checks, the manifest and the loader. Must not
import Beam or Prefect.
"""

from __future__ import annotations

import re

_NAMED = re.compile(r"^([a-z][a-z0-9_]*)=(.*)$", re.DOTALL)


def layer_spec(spec: str) -> tuple[str | None, str]:
    """`(NAME, URI)` of an `--areas` value; NAME is None when the value is a bare URI."""
    named = _NAMED.match(spec)
    return (named.group(1), named.group(2)) if named else (None, spec)
