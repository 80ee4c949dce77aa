"""crimegeo public: the public search site and police.uk-compatible API over `public/`.

`crimegeo public serve --output OUTPUT --gazetteer GAZ [--areas [NAME=]URI]` serves, read-only,
the anonymised public dataset only (never `restricted/`, `rejected/` or `feedback/`): police.uk's
API paths and shapes under `/api/`, search by street or area name (`/api/locate`, `q=`), and
server-rendered pages with stable URIs (`/street/{id}`, `/area/{code}`, `/force/{code}`) and
maps drawn as SVG here. Modules: `dataset` (DuckDB over the GeoParquet), `policeuk` (shapes and
parameter rules), `places` (names to places), `areas` (area layers), `mapsvg` (maps), `app`
(the FastAPI application), `cli`. May import `standards`, `gazetteer` and `store`; never Beam,
Prefect, `feeds` or `pipelines`.
"""
