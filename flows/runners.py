"""Choosing a Beam runner at the edge: names, aliases, and the options each one needs.

The pipeline itself is the same on every runner; what differs is where its workers run and
what they need to see. This module turns `--runner` plus the Beam options that follow the
command's own options into a runner name and an option list, and refuses combinations that
would fail late or quietly reach for the internet (a `PortableRunner` with no job endpoint
starts Prism or Docker; Dataflow workers cannot read this machine's disk). It does not run
anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Runner names Beam knows, with what each is for here.
RUNNERS: dict[str, str] = {
    "DirectRunner": "this machine: in-process by default; several processes with "
                    "--direct_running_mode=multi_processing --direct_num_workers N",
    "DaskRunner": "a dask.distributed cluster: the scheduler at --dask-address tcp://HOST:PORT, "
                  "or a local cluster sized to this machine",
    "PortableRunner": "any Beam job service at --job_endpoint HOST:PORT (Beam's Python job "
                      "service, or a Flink or Spark job server)",
    "DataflowRunner": "Google Cloud Dataflow (--project, --region, --temp_location gs://..., "
                      "and --setup_file or --sdk_container_image)",
    "FlinkRunner": "Apache Flink through its Beam job server (--flink_master HOST:PORT)",
    "SparkRunner": "Apache Spark through its Beam job server (--spark_master_url URL)",
}

#: Short names accepted by `--runner`, with the Beam options they imply.
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "in-process": ("DirectRunner", ("--direct_running_mode=in_memory",)),
    "direct": ("DirectRunner", ()),
    "multi-process": ("DirectRunner", ("--direct_running_mode=multi_processing",)),
    "dask": ("DaskRunner", ()),
    "portable": ("PortableRunner", ()),
    "dataflow": ("DataflowRunner", ()),
    "flink": ("FlinkRunner", ()),
    "spark": ("SparkRunner", ()),
}


class RunnerChoiceError(ValueError):
    """A runner was named that does not exist, or without an option it cannot run without."""


@dataclass(frozen=True)
class RunnerChoice:
    """A resolved runner: Beam's name for it, the Beam options to pass, and any warnings."""

    runner: str
    beam_options: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def option_value(options: Sequence[str], name: str) -> str | None:
    """The value of `--name` in a Beam option list (`--name=v` or `--name v`), else None."""
    flag = f"--{name.lstrip('-')}"
    for index, item in enumerate(options):
        if item == flag and index + 1 < len(options):
            return options[index + 1]
        if item.startswith(flag + "="):
            return item.split("=", 1)[1]
    return None


def runs_on_this_machine(runner: str) -> bool:
    """True for the DirectRunner and its aliases (in-process or this machine's processes)."""
    return ALIASES.get(runner, (runner, ()))[0] == "DirectRunner"


def _is_local_path(url: str | None) -> bool:
    return bool(url) and ("://" not in url or url.startswith("file://"))


#: How a dask.distributed scheduler's address starts (`--dask-address`).
DASK_PROTOCOLS = ("tcp://", "tls://", "ucx://", "ws://", "wss://")


def resolve_runner(runner: str, beam_options: Sequence[str] = (), *,
                   urls: Sequence[str | None] = (), dask_address: str | None = None
                   ) -> RunnerChoice:
    """Resolve `--runner` and its Beam options, or raise `RunnerChoiceError` saying why not.

    `urls` are the input, output and resource locations the workers must read or write:
    a runner whose workers are not on this machine cannot use local paths. `dask_address`
    is `--dask-address`, which only a Dask run takes.
    """
    options = list(beam_options)
    name = runner
    if runner in ALIASES:
        name, implied = ALIASES[runner]
        for item in implied:
            if option_value(options, item.split("=", 1)[0]) is None:
                options.append(item)
    elif runner not in RUNNERS and "." not in runner:  # a dotted path is a custom runner
        raise RunnerChoiceError(
            f"unknown runner {runner!r}; choose one of "
            + ", ".join([*RUNNERS, *ALIASES]))
    warnings: list[str] = []
    if dask_address and name != "DaskRunner":
        raise RunnerChoiceError(f"--dask-address is for --runner dask, not {runner}")
    if name == "DaskRunner":
        address = dask_address or option_value(options, "dask_client_address")
        if address and not address.startswith(DASK_PROTOCOLS):
            raise RunnerChoiceError(
                f"--dask-address {address!r} is not a scheduler address; give "
                "tcp://HOST:PORT (what `dask scheduler` prints as 'Scheduler at')")
    elif name == "DirectRunner":
        mode = option_value(options, "direct_running_mode")
        workers = option_value(options, "direct_num_workers")
        if workers not in (None, "1") and mode in (None, "in_memory"):
            raise RunnerChoiceError(
                "--direct_num_workers needs --direct_running_mode=multi_processing (or "
                "multi_threading); the in-process mode runs one worker")
        if mode == "multi_processing" and workers is None:
            options.append("--direct_num_workers=0")  # Beam: 0 = one per CPU
    elif name == "PortableRunner":
        if option_value(options, "job_endpoint") is None:
            raise RunnerChoiceError(
                "PortableRunner needs --job_endpoint HOST:PORT of a running job service "
                "(e.g. `python -m apache_beam.runners.portability.local_job_service_main "
                "--port 8099`); without one Beam would try to start Prism or Docker")
    elif name == "DataflowRunner":
        missing = [flag for flag in ("project", "region", "temp_location")
                   if option_value(options, flag) is None]
        if missing:
            raise RunnerChoiceError("DataflowRunner needs " + ", ".join(
                f"--{flag}" for flag in missing))
        if not option_value(options, "temp_location").startswith("gs://"):
            raise RunnerChoiceError("DataflowRunner needs --temp_location gs://BUCKET/...")
        if not (option_value(options, "setup_file")
                or option_value(options, "sdk_container_image")):
            raise RunnerChoiceError(
                "Dataflow workers need crimegeo's code: pass --setup_file ./pyproject.toml "
                "or --sdk_container_image IMAGE (see docs/scaling.md)")
        local = [url for url in urls if _is_local_path(url)]
        if local:
            raise RunnerChoiceError(
                "Dataflow workers cannot read this machine's disk; use gs:// URLs for "
                + ", ".join(local))
    elif name in ("FlinkRunner", "SparkRunner"):
        jar_flag = "flink_job_server_jar" if name == "FlinkRunner" else "spark_job_server_jar"
        if option_value(options, jar_flag) is None:
            warnings.append(
                f"{name} without --{jar_flag}: Beam downloads its job server jar from Maven "
                "Central on first use (see docs/scaling.md to use a local jar)")
    return RunnerChoice(name, tuple(options), tuple(warnings))
