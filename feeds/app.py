"""The force feeds ASGI application (FastAPI): read-only, per-force, conditional GETs.

Endpoints (all under ``/v1``, all needing ``Authorization: Bearer <key>``):

- ``GET /v1/forces``: the forces the caller's key reads;
- ``GET /v1/forces/{force}/months``: the force's months with each file's sha256 and size;
- ``GET /v1/forces/{force}/months/{month}``: one month's entry;
- ``GET /v1/forces/{force}/months/{month}/corrections.csv`` | ``.geojson`` | ``.json``;
- ``GET /v1/forces/{force}/months/{month}/summary.json``.

``GET /openapi.json`` (the OpenAPI description) and ``GET /healthz`` need no key.

Access: a force's key reads that force only, an operator key (force ``"*"``) reads all. A
missing, unknown or revoked key gets 401. A force the key may not read, a force code not in the
registry, a malformed month and a month or file that does not exist all get the same 404 (same
body, same headers), decided before the file system is touched. Every file response carries a
strong ETag (the sha256 of the bytes served) and honours ``If-None-Match`` with 304.

Rate limits: a token bucket per key (``rate_limit`` requests a minute, bursts of ``burst``) and,
for failed authentications, one per client address and key id (so nobody's failures can lock
another key out); over the limit: 429 with ``Retry-After``.
Each request is logged to the ``feeds.access`` logger as method, path, status, force, key id
and duration: never the key or the Authorization header.
"""

# No `from __future__ import annotations`: FastAPI must resolve the endpoint annotations,
# some of which are local to create_app.
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crimegeo.feeds.keys import (
    OPERATOR,
    KeyEntry,
    KeysFileError,
    KeyStore,
    load_keys,
    parse_key,
    verify_key,
)
from crimegeo.feeds.store import FeedStore, corrections_json, sha256_hex, valid_month
from crimegeo.standards.months import MONTH_ANCHORED
from crimegeo.store.layout import FEEDBACK_FILES

API_VERSION = "1.0.0"
#: Requests whose path plus query is longer than this get 414 before any routing.
DEFAULT_MAX_PATH_LENGTH = 512
DEFAULT_RATE_LIMIT = 60.0
DEFAULT_AUTH_FAILURES = 30.0

access_log = logging.getLogger("feeds.access")
log = logging.getLogger("feeds")

NOT_FOUND_BODY = b'{"detail":"Not Found"}'
UNAUTHORIZED_DETAIL = "Missing, unknown or revoked API key"
#: Headers on every response, so that no two 404s differ by a header.
COMMON_HEADERS = [
    (b"cache-control", b"private, no-cache"),
    (b"vary", b"Authorization"),
    (b"x-content-type-options", b"nosniff"),
]
_KEY_IN_TEXT = re.compile(r"cgf\.[0-9a-f]{12}\.[A-Za-z0-9_-]+")


def not_found() -> Response:
    """The one 404: a force the caller may not read and a feed that does not exist alike."""
    return Response(NOT_FOUND_BODY, status_code=404, media_type="application/json")


# -- rate limiting ----------------------------------------------------------------------------


class RateLimiter:
    """Token buckets by name: ``per_minute`` tokens a minute, holding at most ``burst``."""

    def __init__(self, per_minute: float, burst: float | None = None,
                 max_buckets: int = 100_000) -> None:
        """Buckets refill at ``per_minute / 60`` tokens a second and start full."""
        if per_minute <= 0:
            raise ValueError("rate limit must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(per_minute, 1.0))
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, name: str, now: float) -> float:
        tokens, last = self._buckets.get(name, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, name: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens = self._level(name, now)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                self._buckets.move_to_end(name)
                while len(self._buckets) > self.max_buckets:
                    self._buckets.popitem(last=False)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def refund(self, name: str) -> None:
        """Give back a token taken in advance for work that turned out not to need it."""
        now = time.monotonic()
        with self._lock:
            if name in self._buckets:
                self._buckets[name] = (min(self.burst, self._level(name, now) + 1.0), now)


class DerivedCache:
    """Recently derived bodies (JSON corrections), keyed by the source's ETag, force and month.

    The key includes the sha256 of the source bytes, so a cached body is always the one those
    exact bytes give; a rerun changes the key. Bounded by entry count and total bytes.
    """

    def __init__(self, max_entries: int = 16, max_bytes: int = 256 * 1024 * 1024) -> None:
        """Keep at most ``max_entries`` bodies and ``max_bytes`` bytes."""
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, force: str, month: str, derive: Callable[[], bytes]) -> bytes:
        """The cached body, or ``derive()``'s (then cached)."""
        key = (etag, force, month)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        body = derive()
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.max_entries or (
                    len(self._items) > 1
                    and sum(map(len, self._items.values())) > self.max_bytes):
                self._items.popitem(last=False)
        return body


# -- authentication ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key's id and the force it reads (``"*"`` for an operator)."""

    key_id: str
    force: str

    def can_read(self, force: str) -> bool:
        """Whether this key may read ``force``'s feed."""
        return self.force == OPERATOR or self.force == force


class Authenticator:
    """Checks bearer keys against the keys file, reloading it when it changes.

    A key that checked out is remembered (as an HMAC under a per-process secret, never the key)
    until the keys file changes, so each key costs one slow PBKDF2 check per change of the file,
    and revoking a key takes effect on the next request.
    """

    def __init__(self, keys_path: str | os.PathLike[str], failures: RateLimiter) -> None:
        """Use the keys file at ``keys_path``; ``failures`` limits failed checks per client
        address and key id."""
        self.keys_path = Path(keys_path)
        self.failures = failures
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._store = KeyStore()
        self._verified: dict[bytes, str] = {}
        self._secret = secrets.token_bytes(32)

    def _current(self) -> KeyStore:
        try:
            stat = os.stat(self.keys_path)
            version: tuple = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            version = ("missing",)
        with self._lock:
            if version != self._version:
                try:
                    self._store = load_keys(self.keys_path)
                except (KeysFileError, OSError) as error:
                    log.error("keys file %s unusable, refusing all keys: %s",
                              self.keys_path, error)
                    self._store = KeyStore()
                self._verified.clear()
                self._version = version
            return self._store

    def authenticate(self, key: str, client: str) -> Caller:
        """The caller ``key`` belongs to; raises 401 (or 429 after repeated failures).

        Only a key naming an active key id costs a slow PBKDF2 check, so only those are
        limited, and per (client address, key id): failures with one key cannot lock out
        any other key, from any address, behind a proxy or not. The token is taken before
        the check and given back when the key is right, so concurrent wrong guesses cannot
        all slip past the limit while their checks run.
        """
        store = self._current()
        tag = hmac.new(self._secret, key.encode("utf-8", "surrogatepass"),
                       hashlib.sha256).digest()
        with self._lock:
            key_id = self._verified.get(tag)
        entry: KeyEntry | None = store.get(key_id) if key_id else None
        if entry is not None and entry.active:
            return Caller(entry.key_id, entry.force)
        key_id = parse_key(key)
        entry = store.get(key_id) if key_id else None
        if entry is None or not entry.active:
            raise unauthorized()  # nothing to check: cheap, so nothing to limit
        bucket = f"{client} {key_id}"
        wait = self.failures.take(bucket)
        if wait > 0:
            raise _too_many(wait)
        if not verify_key(key, entry):
            raise unauthorized()
        self.failures.refund(bucket)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[tag] = entry.key_id
        return Caller(entry.key_id, entry.force)


def unauthorized() -> HTTPException:
    """The one 401, whatever was wrong with the key."""
    return HTTPException(401, UNAUTHORIZED_DETAIL, headers={"WWW-Authenticate": "Bearer"})


def _too_many(wait: float) -> HTTPException:
    return HTTPException(429, "Too many requests", headers={
        "Retry-After": str(max(1, math.ceil(wait)))})


# -- access log and path length --------------------------------------------------------------


class AccessMiddleware:
    """Refuses over-long paths (414), adds the common headers, and logs each request."""

    def __init__(self, app: ASGIApp, max_path_length: int) -> None:
        """Wrap ``app``."""
        self.app = app
        self.max_path_length = max_path_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict = dict(scope.get("state") or {})
        scope["state"] = state
        status = {"code": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in {name for name, _ in COMMON_HEADERS}]
                message = {**message, "headers": headers + COMMON_HEADERS}
            await send(message)

        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
        try:
            if len(raw_path) + len(scope.get("query_string", b"")) > self.max_path_length:
                response = JSONResponse({"detail": "URI Too Long"}, status_code=414)
                await response(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            path = scope.get("path", "")
            if len(path) > 200:
                path = path[:200] + "..."
            access_log.info(
                "%s %s %d force=%s key_id=%s %.1fms", scope.get("method", "-"),
                _KEY_IN_TEXT.sub("[key]", path).encode("unicode_escape").decode("ascii"),
                status["code"], state.get("force", "-"), state.get("key_id", "-"),
                (time.perf_counter() - started) * 1000)


# -- the application -------------------------------------------------------------------------


def _etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison of ``If-None-Match`` against ``etag`` (RFC 9110 13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == wanted for part in header.split(","))


def _conditional(request: Request, body: bytes, etag: str, media_type: str,
                 headers: dict[str, str] | None = None) -> Response:
    """A 200 with ``body`` and ``etag``, or a 304 when the caller already has it."""
    all_headers = {"ETag": etag, **(headers or {})}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type=media_type, headers=all_headers)


ForcePath = Annotated[str, PathParam(
    description="The force's registry code, e.g. `kent` or `city-of-london`.",
    json_schema_extra={"pattern": "^[a-z0-9-]{1,64}$"}, examples=["kent"])]
MonthPath = Annotated[str, PathParam(
    description="The month, `YYYY-MM`.",
    json_schema_extra={"pattern": MONTH_ANCHORED}, examples=["2024-03"])]

_ERRORS = {
    401: {"description": "Missing, unknown or revoked key."},
    404: {"description": "No such feed, or not one this key may read (indistinguishable)."},
    429: {"description": "Rate limit exceeded; see `Retry-After`."},
}
_FILE_RESPONSES = {
    304: {"description": "Not modified: the `If-None-Match` ETag is current."},
    **_ERRORS,
}


def _tidy_openapi(schema: dict) -> dict:
    """Drop FastAPI's 422 (never returned: bad paths get 404) and document the headers."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "200" in responses:
                responses["200"]["description"] = "OK"
                responses["200"]["headers"] = {"ETag": {
                    "description": "Strong validator: the sha256 of the body (JSON "
                                   "corrections: of the CSV they derive from). Send it back "
                                   "in `If-None-Match`.", "schema": {"type": "string"}}}
            if "429" in responses:
                responses["429"]["headers"] = {"Retry-After": {
                    "description": "Seconds to wait.", "schema": {"type": "integer"}}}
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if "components" in schema and not schemas:
        schema["components"].pop("schemas", None)
    return schema


def create_app(output_url: str, keys_path: str | os.PathLike[str], *,
               rate_limit: float = DEFAULT_RATE_LIMIT, burst: float | None = None,
               auth_failures_per_minute: float = DEFAULT_AUTH_FAILURES,
               max_path_length: int = DEFAULT_MAX_PATH_LENGTH,
               retry_seconds: float = 2.0, codes: list[str] | None = None) -> FastAPI:
    """The feeds ASGI app over the run output ``output_url`` with keys from ``keys_path``.

    ``rate_limit`` is requests per minute per key (bursts of ``burst``, default the same
    number); ``auth_failures_per_minute`` bounds failed authentications per client address
    and key id.
    ``codes`` overrides the force codes accepted (default: the registry's).
    """
    if codes is None:
        from crimegeo.standards.registry import load_registry

        codes = list(load_registry().codes)
    store = FeedStore(output_url, codes, retry_seconds=retry_seconds)
    json_cache = DerivedCache()
    limiter = RateLimiter(rate_limit, burst)
    authenticator = Authenticator(keys_path, RateLimiter(auth_failures_per_minute))
    bearer = HTTPBearer(auto_error=False, description="The force's API key: "
                        "`Authorization: Bearer cgf.<key id>.<secret>`.")

    app = FastAPI(
        title="crimegeo force feeds", version=API_VERSION,
        description="Each police force's corrected-location feedback, read-only: the months "
                    "available, each month's corrections (CSV, GeoJSON, JSON) and summary. "
                    "Send `Authorization: Bearer <key>`; use `If-None-Match` with the `ETag` "
                    "of your last pull to fetch only what changed.",
        docs_url=None, redoc_url=None, redirect_slashes=False,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return not_found()
        return JSONResponse({"detail": error.detail}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        return not_found()

    def authenticate(request: Request, credentials: Annotated[
            HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        if credentials is None or not credentials.credentials:
            raise unauthorized()
        client = request.client.host if request.client else "-"
        caller = authenticator.authenticate(credentials.credentials.strip(), client)
        request.state.force = caller.force
        request.state.key_id = caller.key_id
        wait = limiter.take(caller.key_id)
        if wait > 0:
            raise _too_many(wait)
        return caller

    CallerDep = Annotated[Caller, Depends(authenticate)]  # noqa: N806 - a type alias

    def readable(caller: Caller, force: str, month: str | None = None) -> bool:
        """Checked before any file-system access: the force, the month, the caller's rights."""
        if not store.valid_force(force) or not caller.can_read(force):
            return False
        return month is None or valid_month(month)

    def links(request: Request, force: str, month: str, files: dict) -> dict[str, str]:
        base = f"{request.scope.get('root_path', '')}/v1/forces/{force}/months/{month}"
        result = {name: f"{base}/{name}" for name in FEEDBACK_FILES if name in files}
        if "corrections.csv" in files:
            result["corrections.json"] = f"{base}/corrections.json"
        return result

    def month_entries(request: Request, force: str) -> list[dict]:
        return [{**entry, "links": links(request, force, entry["month"], entry["files"])}
                for entry in store.months(force)]

    def json_body(value: object) -> bytes:
        return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/v1/forces", operation_id="listForces", summary="The forces this key reads",
             responses={200: {"content": {"application/json": {"example": {
                 "forces": ["kent"]}}}}, **_ERRORS})
    def list_forces(request: Request, caller: CallerDep) -> Response:
        forces = store.forces() if caller.force == OPERATOR else [caller.force]
        body = json_body({"forces": forces})
        return _conditional(request, body, f'"{sha256_hex(body)}"', "application/json")

    @app.get("/v1/forces/{force}/months", operation_id="listMonths",
             summary="The months available, with checksums",
             responses={200: {"content": {"application/json": {"example": {
                 "force": "kent", "months": [{
                     "month": "2024-03", "run_id": "20240402T090000-ab12cd",
                     "updated_at": "2024-04-02T09:10:00+00:00",
                     "files": {"corrections.csv": {"sha256": "9f86d0...", "bytes": 48213}},
                     "links": {"corrections.csv":
                               "/v1/forces/kent/months/2024-03/corrections.csv"}}]}}}},
                 **_FILE_RESPONSES})
    def list_months(request: Request, force: ForcePath, caller: CallerDep) -> Response:
        if not readable(caller, force):
            return not_found()
        body = json_body({"force": force, "months": month_entries(request, force)})
        return _conditional(request, body, f'"{sha256_hex(body)}"', "application/json")

    @app.get("/v1/forces/{force}/months/{month}", operation_id="getMonth",
             summary="One month's files and checksums",
             responses=_FILE_RESPONSES)
    def get_month(request: Request, force: ForcePath, month: MonthPath,
                  caller: CallerDep) -> Response:
        if not readable(caller, force, month):
            return not_found()
        for entry in month_entries(request, force):
            if entry["month"] == month:
                body = json_body({"force": force, **entry})
                return _conditional(request, body, f'"{sha256_hex(body)}"', "application/json")
        return not_found()

    def serve_file(request: Request, caller: Caller, force: str, month: str, name: str,
                   media_type: str) -> Response:
        if not readable(caller, force, month):
            return not_found()
        data = store.read_month_file(force, month, name)
        if data is None:
            return not_found()
        disposition = f'inline; filename="{force}-{month}-{name}"'
        return _conditional(request, data, f'"{sha256_hex(data)}"', media_type,
                            {"Content-Disposition": disposition})

    @app.get("/v1/forces/{force}/months/{month}/corrections.csv", operation_id="getCorrectionsCsv",
             summary="The month's corrections as CSV",
             responses={200: {"content": {"text/csv": {}}}, **_FILE_RESPONSES},
             response_class=Response)
    def get_corrections_csv(request: Request, force: ForcePath, month: MonthPath,
                            caller: CallerDep) -> Response:
        return serve_file(request, caller, force, month, "corrections.csv",
                          "text/csv; charset=utf-8")

    @app.get("/v1/forces/{force}/months/{month}/corrections.geojson",
             operation_id="getCorrectionsGeojson",
             summary="The month's corrections as GeoJSON (one Feature per CSV row)",
             responses={200: {"content": {"application/geo+json": {}}}, **_FILE_RESPONSES},
             response_class=Response)
    def get_corrections_geojson(request: Request, force: ForcePath, month: MonthPath,
                                caller: CallerDep) -> Response:
        return serve_file(request, caller, force, month, "corrections.geojson",
                          "application/geo+json")

    @app.get("/v1/forces/{force}/months/{month}/summary.json", operation_id="getSummary",
             summary="The month's counts by status and reason",
             responses={200: {"content": {"application/json": {}}}, **_FILE_RESPONSES},
             response_class=Response)
    def get_summary(request: Request, force: ForcePath, month: MonthPath,
                    caller: CallerDep) -> Response:
        return serve_file(request, caller, force, month, "summary.json", "application/json")

    @app.get("/v1/forces/{force}/months/{month}/corrections.json",
             operation_id="getCorrectionsJson",
             summary="The month's corrections as JSON records (derived from the CSV)",
             responses={200: {"content": {"application/json": {}}}, **_FILE_RESPONSES},
             response_class=Response)
    def get_corrections_json(request: Request, force: ForcePath, month: MonthPath,
                             caller: CallerDep) -> Response:
        if not readable(caller, force, month):
            return not_found()
        data = store.read_month_file(force, month, "corrections.csv")
        if data is None:
            return not_found()
        etag = f'"{sha256_hex(data)}-json"'
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        body = json_cache.get(etag, force, month, lambda: corrections_json(data, force, month))
        return Response(body, media_type="application/json", headers={
            "ETag": etag,
            "Content-Disposition": f'inline; filename="{force}-{month}-corrections.json"'})

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _tidy_openapi(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(AccessMiddleware, max_path_length=max_path_length)
    app.state.store = store
    app.state.limiter = limiter
    app.state.authenticator = authenticator
    return app
