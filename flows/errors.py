"""Expected failures as one line a person can read, and the checks made before anything
starts.

An operator who mistypes a path, a month or a gazetteer should read one line that names the
thing and what to do, at once: not a traceback, and not after Prefect's server or Beam has
spent seconds starting. `preflight` checks a run's arguments first; `one_line_errors` turns
the failures a run can expect into `error: ...` and a non-zero exit, keeping the traceback
for `--debug`. Text from files (a header, a reason) is printed as text, never as terminal
markup. No Beam, no Prefect.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import fsspec
import typer
from rich.console import Console
from rich.markup import escape

from crimegeo.gazetteer.model import GazetteerError
from crimegeo.pipelines.settings import RunSettings
from crimegeo.standards.areas import layer_spec
from crimegeo.standards.months import Month

#: The failures a run can expect: bad arguments, missing or unreadable paths, unrecognised
#: files, a gazetteer that is not one, rows that do not reconcile.
EXPECTED = (LookupError, ValueError, OSError, GazetteerError, RuntimeError)
#: Exit status of a failure reported in one line (2, as for a usage error).
FAILED = 2
#: Control characters but tab and newline (ESC, CR, backspace, C1 codes, DEL): a file's bytes
#: must not move the cursor, recolour, retitle or reset the operator's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """Untrusted text (a file's name, header or reason) made safe to print with rich: markup
    escaped, control characters shown as `\\xNN`."""
    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


class Debug:
    """Whether `--debug` was given: then expected failures keep their traceback."""

    on = False


def message_of(error: BaseException) -> str:
    """An exception's own words: without the quotes `KeyError` puts round them."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error) or type(error).__name__


def fail(console: Console, message: str) -> None:
    """Print `error: message` (as text, not markup) and exit non-zero."""
    console.print(f"[bold red]error:[/] {printable(message)}", soft_wrap=True)  # never folded
    raise typer.Exit(FAILED)


@contextmanager
def one_line_errors(console: Console) -> Iterator[None]:
    """Report an expected failure in one line and exit non-zero (traceback with --debug)."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except EXPECTED as error:
        if Debug.on:
            raise
        fail(console, message_of(error))


def exists(url: str) -> bool:
    """Whether a file, folder or object exists at `url` (any fsspec URL)."""
    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(path))


def _writable(url: str) -> None:
    """Raise a clear PermissionError unless a file can be written under the output root."""
    fs, path = fsspec.core.url_to_fs(url)
    if "://" in url and not url.startswith("file://"):
        return  # a bucket: its credentials are checked by the first write
    probe = os.path.join(path, f".crimegeo-write-check-{uuid.uuid4().hex[:8]}")
    try:
        fs.makedirs(path, exist_ok=True)
        with fs.open(probe, "wb") as handle:
            handle.write(b"")
        fs.rm(probe)
    except OSError as error:
        raise PermissionError(f"output {url} cannot be written ({error.strerror or error}); "
                              "choose a folder you can write to") from None


def check_public_id_key(settings: RunSettings, month: str) -> None:
    """Raise `PublicIdKeyError` when the key file is unreadable or short, or when there is
    no key and the month's input files hold force references to publish (its files' headers
    are read to match their profiles)."""
    key = settings.anonymising.public_id_key()
    if key is not None:
        return
    # Only without a key: reading the input's headers is not worth it otherwise.
    from crimegeo.standards.profiles import load_profiles
    from crimegeo.standards.public_ids import refuse_without_key
    from crimegeo.store.inputs import discover_month

    profiles = load_profiles(settings.inputs.profiles)
    kinds = {profile.name: profile.id_kind for profile in profiles}
    discovery = discover_month(settings.inputs.input, month, profiles)
    refuse_without_key(month, [(item.name, kinds[item.profile])
                               for item in discovery.files], key)


def preflight(settings: RunSettings, *months: str, input_may_be_missing: bool = False,
              check_key: bool = False) -> None:
    """Check a run's arguments before anything starts; raise one clear error for the first
    that is wrong: a month, the input, the output, the public id key (a key file that
    cannot be used; with `check_key`, no key for a month with force references), the
    gazetteer, the map points, the boundary and area files."""
    for month in months:
        Month(month)
    if not input_may_be_missing and not exists(settings.inputs.input):
        raise FileNotFoundError(f"input {settings.inputs.input} does not exist")
    _writable(settings.output)
    settings.anonymising.public_id_key()  # an unreadable or short key file: said at once
    if check_key:
        for month in months:
            check_public_id_key(settings, month)
    from crimegeo.gazetteer import Gazetteer

    for name, uri in (("gazetteer", settings.gazetteer.gazetteer),
                      ("map points", settings.anonymising.map_points)):
        if uri:
            try:
                Gazetteer.read_manifest(uri)
            except (GazetteerError, OSError) as error:
                raise GazetteerError(
                    f"{name}: {message_of(error)}; build one with `crimegeo gazetteer build "
                    "SOURCE --out FOLDER`") from None
    for flag, uris in (("--gazetteer-source", settings.gazetteer.sources),
                       ("--boundaries", settings.locating.boundaries),
                       ("--areas", tuple(layer_spec(spec)[1] for spec in settings.locating.areas))):
        for uri in uris:
            if not exists(uri):
                raise FileNotFoundError(f"{flag} {uri} does not exist")
