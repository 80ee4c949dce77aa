"""The command line's run options, derived from the settings model.

Every command that runs the pipeline takes the same settings (`pipelines.settings.RunSettings`):
their flags, help texts, defaults and limits are read from the model here, so each is written
once. `takes_settings` gives a command those options and hands it one `RunSettings`; arguments
after the options pass through to Beam. No Beam, no Prefect.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import typer
from pydantic import ValidationError

from crimegeo.pipelines.settings import (
    FLOW_ONLY,
    CommandLineSetting,
    RunSettings,
    command_line_settings,
    settings_from_options,
)

__all__ = ["BEAM_PASSTHROUGH", "FLOW_ONLY", "SettingsError", "build_settings", "takes_settings"]

#: Typer settings of a command whose extra arguments pass through to Beam.
BEAM_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


class SettingsError(ValueError):
    """Command-line values that do not make valid settings, said in one line."""


def _limits(item: CommandLineSetting) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for rule in item.info.metadata:
        for attribute, option in (("ge", "min"), ("le", "max")):
            if getattr(rule, attribute, None) is not None:
                limits[option] = getattr(rule, attribute)
    return limits


def _parameter(item: CommandLineSetting) -> inspect.Parameter:
    kind = item.info.annotation
    if item.repeatable:
        kind, default = list[str] | None, None
    elif item.required:
        default = ...
    else:
        default = item.info.default
    # A switch is given both ways (`--local-tuning/--no-local-tuning`): an unknown
    # `--no-...` would otherwise pass through to Beam unnoticed.
    flag = f"{item.flag}/--no-{item.flag[2:]}" if kind is bool else item.flag
    return inspect.Parameter(
        item.name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
        default=typer.Option(default, flag, help=item.info.description, **_limits(item)))


def build_settings(values: dict[str, Any], beam_options: Iterable[str]) -> RunSettings:
    """`RunSettings` from option values, or a one-line `SettingsError` saying what is wrong."""
    try:
        return settings_from_options(values, beam_options)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
            for problem in error.errors())
        raise SettingsError(f"invalid settings: {problems}") from None


def takes_settings(exclude: Iterable[str] = ()) -> Callable[[Callable[..., Any]],
                                                            Callable[..., Any]]:
    """Give a typer command the run options and call it with `(ctx, settings, ...)`.

    The command is written as `def run(ctx: typer.Context, settings: RunSettings, *, month:
    MonthOpt, ...)`; its own options follow the settings'. `exclude` names options the
    command does not take (e.g. `FLOW_ONLY`).
    """
    generated = [_parameter(item) for item in command_line_settings(exclude)]
    names = {parameter.name for parameter in generated}

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = list(inspect.signature(command, eval_str=True).parameters.values())
        context, rest = own[0], [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                                 for p in own[2:]]

        @functools.wraps(command)
        def with_settings(ctx: typer.Context, **values: Any) -> Any:
            options = {name: values.pop(name) for name in list(values) if name in names}
            try:
                settings = build_settings(options, ctx.args)
            except SettingsError as error:
                raise typer.BadParameter(str(error)) from None
            return command(ctx, settings, **values)

        del with_settings.__wrapped__  # typer must read the signature below, not the command's
        parameters = [context, *generated, *rest]
        with_settings.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        with_settings.__annotations__ = {p.name: p.annotation for p in parameters}
        return with_settings

    return decorate
