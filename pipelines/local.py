"""Running on this machine: Beam's local runners named explicitly, and the one switch that
tunes a run for them.

Beam's front door for local runs, `DirectRunner`, first tries (since 2.68) to download and start
the Prism runner, which fails offline and hangs on a network that drops packets. So batch runs
are handed the in-process `FnApiRunner`, as the DirectRunner's own fallback does, and local
streaming runs the `BundleBasedDirectRunner`. Neither is part of Beam's documented API and no
public one avoids the download: this is the one module that reaches for them.

The local-run switch (`Runner.local_tuning` in the settings, `--local-tuning/
--no-local-tuning`, on by default) takes effect only when the pipeline runs step by step in
this process (the in-process DirectRunner, one file at a time): it overlaps I/O with work
inside the DoFns. The next file is read on a thread while the bundle parses and locates the
one before, and a batch's parts are written on a thread while the next is located
(`ProcessMonth(overlap_io=True)`); pyarrow releases the GIL while it reads, encodes and
compresses, so the second core does that work. On a distributed runner workers overlap files
by running bundles in parallel instead, and with parallel files (`--parallel-files`,
`transforms/workers.py`) each worker process takes whole files, so there it has nothing to
do. No process-wide interpreter setting (collector, switch interval, import hooks, exit) is
changed: speed comes from the structure of the work. Must not import Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence

from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)
from apache_beam.runners.runner import PipelineRunner

from crimegeo.pipelines.ahead import IN_PROCESS_NAMES

#: Names of a Dask cluster (`--runner dask`). Beam does not know `DaskRunner` by its short
#: name; it runs `pipelines.dask_runner.ClusterDaskRunner`, Beam's Dask runner completed.
DASK_NAMES = ("dask", "DaskRunner")
DASK_RUNNER_PATH = "crimegeo.pipelines.dask_runner.ClusterDaskRunner"


def runner_arguments(runner: str, beam_options: Sequence[str], dask_address: str | None
                     ) -> list[str]:
    """Beam's arguments for a runner choice: `--runner` as Beam resolves it, the scheduler
    of a Dask cluster (unless Beam's own `--dask_client_address` is given), the rest as
    given. Built as text, so a run that is not on Dask never imports Dask."""
    arguments = list(beam_options)
    if runner in DASK_NAMES or runner == DASK_RUNNER_PATH:
        runner = DASK_RUNNER_PATH
        if dask_address and not any(a.startswith("--dask_client_address")
                                    for a in arguments):
            arguments.append(f"--dask_client_address={dask_address}")
    return ["--runner", runner, *arguments]


def runs_on_dask(options: PipelineOptions) -> bool:
    """True when these options run the pipeline on a Dask cluster."""
    return options.view_as(StandardOptions).runner in (*DASK_NAMES, DASK_RUNNER_PATH)


def local_runner_options(options: PipelineOptions) -> PipelineOptions:
    """Make the in-process DirectRunner explicit unless another runner was chosen."""
    standard = options.view_as(StandardOptions)
    if standard.runner in IN_PROCESS_NAMES:
        standard.runner = "DirectRunner"
    if standard.runner == "DirectRunner":
        direct = options.view_as(DirectOptions)
        if not direct.direct_running_mode:
            direct.direct_running_mode = "in_memory"
    return options


def local_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The runner object for a local batch run, or None to let Beam resolve `--runner`.

    Beam's FnApiRunner, handed the options as the DirectRunner's fallback hands them, so
    `direct_running_mode` (`in_memory`, `multi_threading`, `multi_processing`) and
    `direct_num_workers` apply and nothing is downloaded.
    """
    standard = options.view_as(StandardOptions)
    if standard.runner != "DirectRunner" or standard.streaming:
        return None
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))


def local_streaming_runner(options: PipelineOptions) -> PipelineRunner | None:
    """The runner object for a local streaming run (or a `TestStream`), or None.

    Streaming locally: the `BundleBasedDirectRunner`, named explicitly so Beam does not first
    try to download Prism. A bounded micro-batch: the in-process runner, as monthly runs use.
    """
    standard = options.view_as(StandardOptions)
    if standard.runner not in (*IN_PROCESS_NAMES, "BundleBasedDirectRunner"):
        return None
    if standard.streaming or standard.runner == "BundleBasedDirectRunner":
        from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner

        standard.runner = "BundleBasedDirectRunner"
        return BundleBasedDirectRunner()
    return local_runner(local_runner_options(options))


def runs_in_this_process(options: PipelineOptions) -> bool:
    """True when a batch pipeline with these options runs inside this process."""
    standard = options.view_as(StandardOptions)
    mode = options.view_as(DirectOptions).direct_running_mode
    return (standard.runner == "DirectRunner" and not standard.streaming
            and mode in (None, "in_memory"))


def tuned_for_this_process(local_tuning: bool, options: PipelineOptions) -> bool:
    """Whether the local-run switch applies: it is on and the run is in this process."""
    return local_tuning and runs_in_this_process(options)
