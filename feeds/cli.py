"""The ``crimegeo feeds`` commands: serve the force feeds, and manage their API keys.

``app`` is a Typer app meant to be mounted as ``crimegeo feeds``; it also runs on its own as
``python -m crimegeo.feeds``::

    crimegeo feeds serve --output OUTPUT --keys keys.json [--host 127.0.0.1 --port 8080]
    crimegeo feeds keys add kent --keys keys.json      # the key is the last line printed
    crimegeo feeds keys add '*' --keys keys.json       # an operator key: reads every force
    crimegeo feeds keys revoke kent --keys keys.json
    crimegeo feeds keys list --keys keys.json
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from crimegeo.feeds.keys import (
    DEFAULT_ITERATIONS,
    MIN_ITERATIONS,
    OPERATOR,
    add_key,
    load_keys,
    revoke_keys,
)

app = typer.Typer(
    help="Serve each force its corrected-location feedback over HTTP, and manage API keys.",
    no_args_is_help=True, add_completion=False,
)
keys_app = typer.Typer(help="Make, revoke and list the forces' API keys.",
                       no_args_is_help=True, add_completion=False)
app.add_typer(keys_app, name="keys")

KeysOpt = Annotated[str, typer.Option(
    "--keys", help="The keys file (JSON of salted key hashes); created if absent.")]
ForceArg = Annotated[str, typer.Argument(
    help="The force's registry code (e.g. kent), or '*' (or 'operator') for an operator key "
         "that reads every force.")]


def _check_force(force: str) -> str:
    """The force code to store: a registry code, or '*' for an operator."""
    if force in (OPERATOR, "operator"):
        return OPERATOR
    from crimegeo.standards.registry import UnknownForceError, load_registry

    try:
        return load_registry().get(force).code
    except UnknownForceError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@app.command()
def serve(
    output: Annotated[str, typer.Option(
        "--output", help="The run output root (local path or fsspec URL, e.g. gs://bucket/out).")],
    keys: KeysOpt,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    rate_limit: Annotated[float, typer.Option(
        "--rate-limit", help="Requests per minute per key.")] = 60.0,
    burst: Annotated[float | None, typer.Option(
        "--burst", help="Largest burst per key (default: the per-minute rate).")] = None,
    auth_failures: Annotated[float, typer.Option(
        "--auth-failures",
        help="Failed authentications per minute allowed per client address and key id.")] = 30.0,
    trusted_proxy: Annotated[str | None, typer.Option(
        "--trusted-proxy",
        help="Address(es) of the TLS proxy in front of the service, comma-separated: its "
             "X-Forwarded-For then gives each client's own address.")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "info",
) -> None:
    """Serve the feedback under OUTPUT/feedback over HTTP, read-only, per-force access."""
    import uvicorn

    from crimegeo.feeds.app import create_app

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    application = create_app(output, keys, rate_limit=rate_limit, burst=burst,
                             auth_failures_per_minute=auth_failures)
    typer.echo(f"serving {output} on http://{host}:{port} (OpenAPI at /openapi.json)", err=True)
    uvicorn.run(application, host=host, port=port, access_log=False, log_level=log_level,
                server_header=False, proxy_headers=trusted_proxy is not None,
                forwarded_allow_ips=trusted_proxy)


@keys_app.command("add")
def keys_add(
    force: ForceArg,
    keys: KeysOpt,
    label: Annotated[str | None, typer.Option(
        "--label", help="A note stored with the key, e.g. who it was given to.")] = None,
    iterations: Annotated[int, typer.Option(
        "--iterations", min=MIN_ITERATIONS,
        help="PBKDF2-HMAC-SHA256 iterations for this key's hash.")] = DEFAULT_ITERATIONS,
) -> None:
    """Make a new key for FORCE; the key is printed once, as the last line."""
    code = _check_force(force)
    entry, key = add_key(keys, code, label=label, iterations=iterations)
    who = "operator (every force)" if code == OPERATOR else f"force {code}"
    typer.echo(f"made key {entry.key_id} for {who} in {keys}")
    typer.echo("this is the only time the key is shown; give it to its holder now:")
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(
    force: ForceArg,
    keys: KeysOpt,
    key_id: Annotated[str | None, typer.Option(
        "--key-id", help="Revoke only this key (see `keys list`); default: all of FORCE's.")
    ] = None,
) -> None:
    """Revoke FORCE's active keys (or one of them); a running server refuses them at once."""
    code = _check_force(force)
    revoked = revoke_keys(keys, code, key_id=key_id)
    if not revoked:
        typer.echo(f"no active key to revoke for {force}" +
                   (f" with id {key_id}" if key_id else ""), err=True)
        raise typer.Exit(1)
    for entry in revoked:
        typer.echo(f"revoked key {entry.key_id} of {entry.force} at {entry.revoked_at}")


@keys_app.command("list")
def keys_list(keys: KeysOpt) -> None:
    """List the keys (id, force, label, created, revoked); never the keys or their hashes."""
    store = load_keys(keys)
    typer.echo("key_id\tforce\tcreated_at\trevoked_at\tlabel")
    for entry in store.entries:
        typer.echo("\t".join([entry.key_id, entry.force, entry.created_at,
                              entry.revoked_at or "-", entry.label or "-"]))


def main() -> None:
    """Run the feeds command line on its own."""
    app()
