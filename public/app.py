"""The public site and police.uk-compatible API over one output's `public/` dataset.

`create_app(output, gazetteer=..., areas=...)` returns a FastAPI application:

- `/api/...`: police.uk's paths, parameters, shapes and errors (`forces`, `crime-categories`,
  `crime-last-updated`, `crimes-street-dates`, `crimes-street/{category}` by point, polygon
  (GET or POST) or name (`q=`), `crimes-at-location`, `crimes-no-location`,
  `outcomes-for-crime/{id}`), plus `/api/locate?q=` (name -> ranked candidates); lists also as
  `format=csv` (formula-safe) or `format=geojson`;
- pages, server-rendered, working without JavaScript: `/` (a search box), `/search?q=&date=`,
  and one stable page per place, `/street/{id}`, `/area/{code}`, `/force/{code}`, each with
  `?date=YYYY-MM` and `.json`, `.csv` and `.geojson` alternates; maps are SVG drawn here.

Read-only; only public columns are ever read. Every client has its own token bucket (keyed by
its address), so one busy client is slowed without locking out anyone else.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from crimegeo.gazetteer import Gazetteer
from crimegeo.public import policeuk
from crimegeo.public.areas import (
    SiteAreaLayer,
    force_of_boundary,
    load_boundary,
    load_site_layer,
)
from crimegeo.public.dataset import ONE_MILE_M, PublicDataset, box_around
from crimegeo.public.mapsvg import MapPoint, box_of, draw_map
from crimegeo.public.places import Place, Places
from crimegeo.public.policeuk import ApiError

#: police.uk's own limit: 15 requests a second, bursts of 30, per client.
DEFAULT_RATE_PER_SECOND = 15.0
DEFAULT_BURST = 30.0
#: Records listed on a page (all of them are in the page's .csv/.json/.geojson alternates).
PAGE_RECORDS = 200
#: Map points drawn on one map (the busiest), and rows an alternate may carry.
MAP_POINTS = 1500
MAX_ALTERNATE_ROWS = 100_000
FORMATS = ("json", "csv", "geojson")
#: A POSTed form (a long polygon) is refused beyond this size.
MAX_FORM_BYTES = 256 * 1024
#: Answers at least this big are gzipped for clients that accept it, at this level.
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 1
_CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class RateLimiter:
    """A token bucket per client: `rate` tokens a second, holding at most `burst`.

    Buckets are per client key only (no global bucket), so one client over its limit never
    blocks another; the oldest idle buckets are forgotten beyond `max_clients`.
    """

    def __init__(self, rate: float, burst: float, max_clients: int = 100_000) -> None:
        """Tokens a second and the largest burst, both positive."""
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Take a token for `client`: 0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                self._buckets.move_to_end(client)
                while len(self._buckets) > self.max_clients:
                    self._buckets.popitem(last=False)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate


def _csv_cell(value: Any) -> Any:
    """A CSV value a spreadsheet will not run as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_CSV_DANGEROUS):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


CSV_COLUMNS = ("persistent_id", "id", "month", "category", "location_type", "latitude",
               "longitude", "street_id", "street_name", "context", "outcome_category",
               "outcome_date")


def crimes_csv(crimes: Sequence[dict]) -> str:
    """police.uk crimes as formula-safe CSV, one row per crime."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in crimes:
        loc, outcome = c.get("location"), c.get("outcome_status")
        writer.writerow([_csv_cell(v) for v in (
            c["persistent_id"], c["id"], c["month"], c["category"], c["location_type"],
            loc and loc["latitude"], loc and loc["longitude"], loc and loc["street"]["id"],
            loc and loc["street"]["name"], c["context"], outcome and outcome["category"],
            outcome and outcome["date"])])
    return out.getvalue()


def crimes_geojson(crimes: Sequence[dict]) -> dict:
    """police.uk crimes as a GeoJSON FeatureCollection (no-location crimes have no geometry)."""
    features = []
    for c in crimes:
        loc = c.get("location")
        geometry = None if loc is None else {
            "type": "Point", "coordinates": [float(loc["longitude"]), float(loc["latitude"])]}
        features.append({"type": "Feature", "id": c["id"], "geometry": geometry,
                         "properties": {k: v for k, v in c.items() if k != "location"} | {
                             "street": loc and loc["street"]}})
    return {"type": "FeatureCollection", "features": features}


def _formatted(crimes: list[dict], fmt: str | None, name: str = "crimes") -> Response:
    if fmt in (None, "", "json"):
        return JSONResponse(crimes)
    if fmt == "csv":
        return Response(crimes_csv(crimes), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "geojson":
        return JSONResponse(crimes_geojson(crimes), media_type="application/geo+json")
    raise ApiError(400, "format must be json, csv or geojson")


class PublicSite:
    """What the handlers share: the dataset, the places, the area layers, the templates."""

    def __init__(self, dataset: PublicDataset, places: Places,
                 layers: tuple[SiteAreaLayer, ...], boundaries: dict[str, Any]) -> None:
        self.dataset, self.places, self.layers, self.boundaries = (dataset, places, layers,
                                                                   boundaries)
        self.templates = Environment(loader=PackageLoader("crimegeo.public", "templates"),
                                     autoescape=select_autoescape(["html"]))

    # -- police.uk lists ---------------------------------------------------------------------

    def month(self, date: str | None) -> str:
        """The month asked for (latest by default); 404 when it is not published."""
        month = policeuk.parse_month(date, self.dataset.latest_month())
        if not self.dataset.has_month(month):
            raise ApiError(404, f"no data published for {month}")
        return month

    def crimes_where(self, month: str, where: str, params: Sequence[Any],
                     category: str | None, *, box: Any = None, force: str | None = None
                     ) -> list[dict]:
        """police.uk crimes of `month` matching `where`; 503 beyond 10,000. `box` and
        `force` hold every match (see `PublicDataset.query`)."""
        if category is not None:
            where, params = f"({where}) AND crime_type = ?", [*params, category]
        rows = self.dataset.query(month, where, params, order="location_id, persistent_id",
                                  limit=policeuk.MAX_CRIMES + 1, box=box, force=force)
        if rows.num_rows > policeuk.MAX_CRIMES:
            raise ApiError(503, f"more than {policeuk.MAX_CRIMES:,} crimes in this area; ask "
                                "for a smaller area")
        return policeuk.crimes(rows)

    def resolve(self, q: str) -> Place:
        """The one place a name means; 404 for none, 300 with the choices for several."""
        found, ambiguous = self.places.locate(q)
        if not found:
            raise ApiError(404, f"no place found for {q[:80]!r}")
        if ambiguous:
            raise AmbiguousNameError(q, found)
        return found[0]

    # -- pages -------------------------------------------------------------------------------

    def summary(self, place: Place, month: str) -> dict:
        """Everything a place's page shows for a month."""
        where, params = place.where, list(place.params)
        scope = {"box": place.prune_box, "force": place.prune_force}
        total = self.dataset.count(month, where, params, **scope)
        by_category = self.dataset.query(
            month, where, params, select="crime_type, count(*) AS n", group_by="crime_type",
            order="n DESC, crime_type", **scope).to_pylist() if total else []
        points = self.dataset.query(
            month, where + " AND location_id IS NOT NULL", params,
            select="location_id, any_value(public_label) AS label, "
                   "any_value(public_lon) AS lon, any_value(public_lat) AS lat, count(*) AS n",
            group_by="location_id", order="n DESC, location_id", limit=MAP_POINTS,
            **scope).to_pylist() if total else []
        records = self.dataset.query(
            month, where, params, order="public_label NULLS LAST, crime_type, persistent_id",
            limit=PAGE_RECORDS, **scope).to_pylist() if total else []
        return {"total": total, "by_category": by_category, "points": points,
                "records": records}

    def map_svg(self, place: Place, summary: dict, month: str) -> str:
        """The place's map for the month, as inline SVG."""
        points = [MapPoint(p["lon"], p["lat"], p["n"], p["label"] or "",
                           f"/street/{p['location_id']}?date={month}")
                  for p in summary["points"]]
        box = box_of(points, place.extent)
        if place.extent is not None and place.kind != "force":  # the whole area, and its points
            box = (min(box[0], place.extent[0]), min(box[1], place.extent[1]),
                   max(box[2], place.extent[2]), max(box[3], place.extent[3]))
        outlines, highlight = [], None
        for layer in self.layers:
            for index in layer.in_box(box)[:400]:
                label = f"{layer.names[index]} ({layer.codes[index]})"
                outlines.append((label, layer.outlines[index]))
                if place.kind == layer.name and str(layer.codes[index]) == place.id:
                    highlight = label
        boundary = self.boundaries.get(place.id) if place.kind == "force" else None
        total = summary["total"]
        return draw_map(box, points, title=f"Map of {place.name}, {month}",
                        description=(f"{total} {'crime' if total == 1 else 'crimes'} at "
                                     f"{len(points)} public map points; each circle's size is "
                                     "its count. The same points are listed in the table "
                                     "below the map."),
                        outlines=outlines, boundary=boundary, highlight=highlight)

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """A page from its template (autoescaped)."""
        return HTMLResponse(self.templates.get_template(name).render(**context),
                            status_code=status_code)

    def month_links(self, month: str, url: Callable[[str], str]) -> dict:
        """Month navigation: previous and next published months and every month."""
        months = self.dataset.months()
        earlier = [m for m in months if m < month]
        later = [m for m in months if m > month]
        return {"month": month, "months": list(reversed(months)),
                "previous": earlier[-1] if earlier else None,
                "next": later[0] if later else None, "url": url}


class AmbiguousNameError(ApiError):
    """A name that means several places: answered with the choices (HTTP 300)."""

    def __init__(self, q: str, places: list[Place]) -> None:
        super().__init__(300, f"{q!r} names {len(places)} places: choose one")
        self.q, self.places = q, places


def _api_error(status: int, message: str, headers: dict[str, str] | None = None
               ) -> JSONResponse:
    """An API error as JSON (`{"status", "message"}`): clients that check the content type
    before reading the answer (R's ukpolice stops on anything but application/json) can
    still show why the request failed."""
    return JSONResponse({"status": status, "message": message}, status_code=status,
                        headers=headers)


def _refusal(request: Request, status: int, message: str,
             headers: dict[str, str] | None = None) -> Response:
    """A request refused before routing: JSON under /api/, plain text for pages."""
    if request.url.path.startswith("/api/"):
        return _api_error(status, message, headers)
    return PlainTextResponse(message, status_code=status, headers=headers)


def _client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_app(output: str, *, gazetteer: str | None = None, areas: Sequence[str] = (),
               boundaries: Sequence[str] = (), rate_per_second: float = DEFAULT_RATE_PER_SECOND,
               burst: float = DEFAULT_BURST, refresh_seconds: float = 5.0) -> FastAPI:
    """The site and API over `output`'s public dataset (see the module docstring)."""
    layers = tuple(load_site_layer(spec) for spec in areas)
    area_columns = tuple(c for layer in layers if layer.name != "lsoa"
                         for c in (f"{layer.name}_code", f"{layer.name}_name"))
    dataset = PublicDataset(output, refresh_seconds=refresh_seconds, area_columns=area_columns)
    gaz = Gazetteer.load(gazetteer) if gazetteer else None
    force_boundaries = {}
    for url in boundaries:
        force = force_of_boundary(url)
        force_boundaries[force] = load_boundary(url)
    site = PublicSite(dataset, Places(dataset, gaz, layers), layers, force_boundaries)
    threading.Thread(target=dataset.warm, name="warm-point-index", daemon=True).start()
    limiter = RateLimiter(rate_per_second, burst)
    app = FastAPI(title="crimegeo public search", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.site = site
    app.state.limiter = limiter

    async def guarded(request: Request, call_next: Callable) -> Response:
        length = len(request.url.path) + len(request.url.query) + 1
        if request.method == "GET" and length > policeuk.MAX_GET_LENGTH:
            return _refusal(request, 400, f"request too long ({length} characters; at most "
                                          f"{policeuk.MAX_GET_LENGTH}): send a long poly by "
                                          "POST")
        wait = limiter.take(_client_key(request))
        if wait:
            return _refusal(request, 429, "too many requests; slow down",
                            {"Retry-After": str(max(1, math.ceil(wait)))})
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Access-Control-Allow-Origin"] = "*"  # police.uk's API is open too
        return response

    @app.middleware("http")
    async def guard(request: Request, call_next):  # noqa: ANN202 - starlette's signature
        path = request.url.path
        if path.startswith("/api/") and len(path) > len("/api/") and path.endswith("/"):
            # `/api/forces/` is `/api/forces`, answered in place: a redirect would lose a
            # POSTed polygon with some clients and costs every client a round trip.
            request.scope["path"] = path.rstrip("/")
        if request.method != "HEAD":
            return await guarded(request, call_next)
        # HEAD is answered as the GET it asks about, without the body. The method is put back
        # before the answer leaves: the server frames a HEAD answer by it.
        request.scope["method"] = "GET"
        try:
            response = await guarded(request, call_next)
            if hasattr(response, "body_iterator"):  # let the handler finish its answer
                async for _ in response.body_iterator:
                    pass
        finally:
            request.scope["method"] = "HEAD"
        return Response(b"", status_code=response.status_code, headers=dict(response.headers))

    # Browsers' preflight (OPTIONS) for cross-origin JavaScript clients; simple requests get
    # their Access-Control-Allow-Origin from `guard`. Answers over 1 kB are gzipped when the
    # client accepts it, as police.uk's are, at the fastest level: measured on a 985-crime
    # answer (405 kB), level 1 took 3.0 ms for 5.5x smaller, Starlette's default 9 took 11 ms
    # for 6.4x (docs/public.md).
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "HEAD"],
                       allow_headers=["*"])
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES,
                       compresslevel=GZIP_LEVEL)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # An unknown /api/ path (police.uk's neighbourhood or stop-and-search methods, which
        # crimegeo does not have) or method answers in the API's own error shape.
        if request.url.path.startswith("/api/"):
            return _api_error(error.status_code, str(error.detail), error.headers)
        return await http_exception_handler(request, error)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if isinstance(error, AmbiguousNameError) and request.url.path.startswith("/api/"):
            return JSONResponse({"error": error.message, "ambiguous": True,
                                 "choices": [p.to_dict() for p in error.places]},
                                status_code=300)
        if request.url.path.startswith("/api/"):
            return _api_error(error.status, error.message)
        if request.url.path.rsplit(".", 1)[-1] in FORMATS:
            return PlainTextResponse(error.message, status_code=error.status)
        return site.render("error.html", status_code=error.status, status=error.status,
                           message=error.message, q="")

    _add_api(app, site)
    _add_pages(app, site)
    return app


def _one(params: Any, name: str) -> str | None:
    value = params.get(name)
    return value if value is None else str(value)


def _add_api(app: FastAPI, site: PublicSite) -> None:
    dataset = site.dataset

    @app.get("/api/forces")
    def forces() -> JSONResponse:
        """Every territorial force, as police.uk lists them."""
        return JSONResponse(policeuk.forces_list())

    @app.get("/api/forces/{force_id}")
    def force(force_id: str) -> JSONResponse:
        """One force; 404 when unknown."""
        return JSONResponse(policeuk.force_detail(policeuk.parse_force(force_id)))

    @app.get("/api/forces/{force_id}/people")
    def force_people(force_id: str) -> JSONResponse:
        """A force's senior officers: crimegeo holds none, so an empty list (404 when the
        force is unknown), which police.uk clients read as a force with no officers listed."""
        policeuk.parse_force(force_id)
        return JSONResponse([])

    @app.get("/api/crime-categories")
    def crime_categories(date: str | None = None) -> JSONResponse:
        """The crime categories (with `all-crime`)."""
        if policeuk.given(date):
            policeuk.parse_month(date, None)
        return JSONResponse(policeuk.categories(date))

    @app.get("/api/crime-last-updated")
    def last_updated() -> JSONResponse:
        """The newest published month, as police.uk's `YYYY-MM-01` date."""
        latest = dataset.latest_month()
        return JSONResponse({"date": f"{latest}-01" if latest else None})

    @app.get("/api/crimes-street-dates")
    def street_dates() -> JSONResponse:
        """Published months, newest first (crimegeo has no stop-and-search data)."""
        return JSONResponse([{"date": m, "stop-and-search": []}
                             for m in reversed(dataset.months())])

    async def crimes_street(category: str, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":  # a form body (police.uk's way to send a long poly)
            body = await request.body()
            if len(body) > MAX_FORM_BYTES:
                raise ApiError(400, f"form body over {MAX_FORM_BYTES:,} bytes")
            form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=20)
            params.update({k: v[-1] for k, v in form.items()})
        name = policeuk.parse_category(category)
        fmt = _one(params, "format")
        month = site.month(_one(params, "date"))
        if params.get("q"):
            place = site.resolve(str(params["q"]))
            return _formatted(site.crimes_where(month, place.where, place.params, name,
                                                box=place.prune_box, force=place.prune_force),
                              fmt)
        if params.get("poly"):
            polygon = policeuk.parse_polygon(str(params["poly"]))
            return _formatted(_crimes_in_polygon(site, month, polygon, name), fmt)
        lat = policeuk.parse_coordinate(_one(params, "lat"), "lat", 90)
        lng = policeuk.parse_coordinate(_one(params, "lng"), "lng", 180)
        where, values = PublicDataset.within_radius(lng, lat, ONE_MILE_M)
        return _formatted(site.crimes_where(month, where, values, name,
                                            box=box_around(lng, lat, ONE_MILE_M)), fmt)

    app.add_api_route("/api/crimes-street/{category}", crimes_street, methods=["GET", "POST"])

    @app.get("/api/crimes-at-location")
    def crimes_at_location(request: Request) -> Response:
        """Crimes at one map point: by `location_id`, nearest to `lat`/`lng`, or a name."""
        params = request.query_params
        month = site.month(params.get("date"))
        if params.get("location_id") is not None:
            point = policeuk.parse_location_id(params.get("location_id"))
        elif params.get("q"):
            place = site.resolve(params["q"])
            return _formatted(site.crimes_where(month, place.where, place.params, None,
                                                box=place.prune_box, force=place.prune_force),
                              params.get("format"))
        else:
            lat = policeuk.parse_coordinate(params.get("lat"), "lat", 90)
            lng = policeuk.parse_coordinate(params.get("lng"), "lng", 180)
            point = dataset.nearest_point(month, lng, lat)
            if point is None:
                return _formatted([], params.get("format"))
        where, values, box = dataset.at_point(month, point)
        return _formatted(site.crimes_where(month, where, values, None, box=box),
                          params.get("format"))

    @app.get("/api/crimes-no-location")
    def crimes_no_location(request: Request) -> Response:
        """A force's crimes published without a location."""
        params = request.query_params
        name = policeuk.parse_category(params.get("category") or policeuk.ALL_CRIME)
        force = policeuk.parse_force(params.get("force"))
        month = site.month(params.get("date"))
        crimes = site.crimes_where(month, "force = ? AND location_id IS NULL", [force.code],
                                   name, force=force.code)
        for crime in crimes:
            crime["location_type"] = None
        return _formatted(crimes, params.get("format"))

    @app.get("/api/outcomes-for-crime/{persistent_id}")
    def outcomes_for_crime(persistent_id: str) -> JSONResponse:
        """A crime and its last outcome; 404 when no published crime has the id."""
        rows = dataset.find_persistent_id(policeuk.parse_persistent_id(persistent_id))
        if rows.num_rows == 0:
            raise ApiError(404, "no published crime has this id")
        return JSONResponse(policeuk.outcomes(rows))

    @app.get("/api/locate")
    def locate(request: Request) -> Response:
        """Places a name may mean, best first; `ambiguous` when it means several."""
        q = request.query_params.get("q") or ""
        if not q.strip():
            raise ApiError(400, "q is required")
        found, ambiguous = site.places.locate(q)
        candidates = [p.to_dict() for p in found]
        fmt = request.query_params.get("format")
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(("id", "uri", "name", "type", "latitude", "longitude", "score",
                             "match_type", "within", "page"))
            for c in candidates:
                point = c["point"] or {}
                writer.writerow([_csv_cell(v) for v in (
                    c["id"], c["uri"], c["name"], c["type"], point.get("latitude"),
                    point.get("longitude"), c["score"], c["match_type"], c["within"],
                    c["page"])])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        if fmt == "geojson":
            return JSONResponse({"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": None if c["point"] is None else {
                    "type": "Point", "coordinates": [c["point"]["longitude"],
                                                     c["point"]["latitude"]]},
                 "properties": c} for c in candidates]}, media_type="application/geo+json")
        if fmt not in (None, "", "json"):
            raise ApiError(400, "format must be json, csv or geojson")
        return JSONResponse({"query": q, "ambiguous": ambiguous, "candidates": candidates})


def _crimes_in_polygon(site: PublicSite, month: str, polygon: list[tuple[float, float]],
                       category: str | None) -> list[dict]:
    import shapely

    shape = shapely.Polygon(polygon)
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
    where, params = PublicDataset.within_box(shape.bounds)
    if category is not None:
        where, params = f"({where}) AND crime_type = ?", [*params, category]
    rows = site.dataset.query(month, where, params, order="location_id, persistent_id",
                              box=shape.bounds)
    if rows.num_rows:
        import numpy as np

        lon = np.asarray(rows["public_lon"].to_numpy(zero_copy_only=False), dtype=float)
        lat = np.asarray(rows["public_lat"].to_numpy(zero_copy_only=False), dtype=float)
        rows = rows.filter(shapely.contains_xy(shape, lon, lat))
    if rows.num_rows > policeuk.MAX_CRIMES:
        raise ApiError(503, f"more than {policeuk.MAX_CRIMES:,} crimes in this area; ask for a "
                            "smaller area")
    return policeuk.crimes(rows)


def _split_format(value: str) -> tuple[str, str | None]:
    for fmt in FORMATS:
        if value.endswith(f".{fmt}"):
            return value[: -len(fmt) - 1], fmt
    return value, None


def _add_pages(app: FastAPI, site: PublicSite) -> None:
    dataset = site.dataset

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        """The search box."""
        return site.render("index.html", q="", months=list(reversed(dataset.months())))

    @app.get("/search", response_class=HTMLResponse)
    def search(request: Request) -> HTMLResponse:
        """A name's place and its crimes for a month, or the places to choose from."""
        q = " ".join((request.query_params.get("q") or "").split())[:200]
        date = request.query_params.get("date") or None
        if not q:
            return site.render("index.html", q="", months=list(reversed(dataset.months())))
        found, ambiguous = site.places.locate(q)
        month = site.month(date) if dataset.months() else None
        if not found or ambiguous:
            return site.render("choices.html", status_code=200 if found else 404, q=q,
                               places=found, month=month)
        return _place_page(site, found[0], month, None, q=q)

    def place_route(kind: str) -> Callable[..., Response]:
        def handler(key: str, request: Request) -> Response:
            key, fmt = _split_format(key)
            place = _place_by(site, kind, key, request.query_params.get("date"))
            month = site.month(request.query_params.get("date"))
            return _place_page(site, place, month, fmt)
        handler.__doc__ = f"The stable page of one {kind}, with .json/.csv/.geojson alternates."
        return handler

    app.add_api_route("/street/{key}", place_route("street"), methods=["GET"])
    app.add_api_route("/area/{key:path}", place_route("area"), methods=["GET"])
    app.add_api_route("/force/{key}", place_route("force"), methods=["GET"])

    @app.get("/static/site.css")
    def css() -> Response:
        """The site's style sheet."""
        return Response(_static("site.css"), media_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/static/site.js")
    def js() -> Response:
        """The site's one small script (progressive enhancement only)."""
        return Response(_static("site.js"), media_type="text/javascript",
                        headers={"Cache-Control": "max-age=3600"})


def _static(name: str) -> str:
    from importlib.resources import files

    return (files("crimegeo.public") / "static" / name).read_text(encoding="utf-8")


def _place_by(site: PublicSite, kind: str, key: str, date: str | None) -> Place:
    if kind == "street":
        point = policeuk.parse_location_id(key)
        month = policeuk.parse_month(date, site.dataset.latest_month())
        place = site.places.street(point, month)
    elif kind == "force":
        place = site.places.force(key)
    else:
        if len(key) > 200:
            raise ApiError(400, "not an area code")
        place = site.places.area(key)
    if place is None:
        raise ApiError(404, f"no {kind} {key[:80]!r} is known here")
    return site.places.with_force(place)


def _place_page(site: PublicSite, place: Place, month: str | None, fmt: str | None,
                q: str = "") -> Response:
    if month is None:
        return site.render("place.html", place=place, q=q, summary=None, map_svg="",
                           nav=None, links=_links(place, None), base=place.page)
    if fmt is not None:
        rows = site.dataset.query(month, place.where, list(place.params),
                                  order="location_id, persistent_id", box=place.prune_box,
                                  force=place.prune_force,
                                  limit=MAX_ALTERNATE_ROWS + 1)
        if rows.num_rows > MAX_ALTERNATE_ROWS:
            raise ApiError(503, "too many crimes for one file; use the public Parquet")
        crimes = policeuk.crimes(rows)
        if fmt == "json":
            return JSONResponse({"place": place.to_dict(), "month": month,
                                 "total": len(crimes), "crimes": crimes})
        return _formatted(crimes, fmt, name=f"{place.kind}-{place.id}-{month}")
    summary = site.summary(place, month)
    base = place.page if not q else "/search"

    def url(m: str) -> str:
        from urllib.parse import urlencode

        query = {"q": q, "date": m} if q else {"date": m}
        return f"{base}?{urlencode(query)}"

    return site.render("place.html", place=place, q=q, summary=summary,
                       map_svg=site.map_svg(place, summary, month),
                       nav=site.month_links(month, url), links=_links(place, month),
                       base=place.page, month=month)


def _links(place: Place, month: str | None) -> list[tuple[str, str]]:
    """Where this place is elsewhere: police.uk, and ONS for an LSOA."""
    links = []
    if place.kind == "force":
        links.append(("This force on police.uk's API", place.uri or ""))
    elif place.lat is not None:
        date = f"&date={month}" if month else ""
        links.append(("The same area on police.uk (its API, one mile around)",
                      f"https://data.police.uk/api/crimes-street/all-crime?lat={place.lat:.6f}"
                      f"&lng={place.lon:.6f}{date}"))
    if place.kind == "lsoa" and place.uri:
        links.append(("This LSOA at the ONS", place.uri))
    elif place.uri:
        links.append(("This place in the gazetteer's source", place.uri))
    return links


__all__ = ["RateLimiter", "create_app", "crimes_csv", "crimes_geojson"]
