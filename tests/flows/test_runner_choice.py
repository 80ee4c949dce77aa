"""`--runner` names, aliases and the options each runner cannot do without."""

from __future__ import annotations

import pytest

from crimegeo.flows.runners import RunnerChoiceError, option_value, resolve_runner


def test_in_process_is_the_default_and_passes_options_through() -> None:
    choice = resolve_runner("DirectRunner", ["--experiments=foo"])
    assert choice.runner == "DirectRunner"
    assert choice.beam_options == ("--experiments=foo",)


def test_multi_process_alias_and_explicit_flags() -> None:
    alias = resolve_runner("multi-process", [])
    assert alias.runner == "DirectRunner"
    assert option_value(alias.beam_options, "direct_running_mode") == "multi_processing"
    assert option_value(alias.beam_options, "direct_num_workers") == "0"  # one per CPU
    explicit = resolve_runner("DirectRunner", ["--direct_running_mode=multi_processing",
                                               "--direct_num_workers", "2"])
    assert option_value(explicit.beam_options, "direct_num_workers") == "2"


def test_workers_without_a_parallel_mode_is_refused() -> None:
    with pytest.raises(RunnerChoiceError, match="multi_processing"):
        resolve_runner("DirectRunner", ["--direct_num_workers", "4"])


def test_portable_runner_needs_a_job_endpoint() -> None:
    with pytest.raises(RunnerChoiceError, match="--job_endpoint"):
        resolve_runner("PortableRunner", [])
    choice = resolve_runner("portable", ["--job_endpoint", "localhost:8099"])
    assert choice.runner == "PortableRunner"


def test_dataflow_needs_project_staging_code_and_remote_paths() -> None:
    with pytest.raises(RunnerChoiceError, match="--project, --region, --temp_location"):
        resolve_runner("DataflowRunner", [])
    base = ["--project", "p", "--region", "europe-west2", "--temp_location", "gs://b/tmp"]
    with pytest.raises(RunnerChoiceError, match="--setup_file"):
        resolve_runner("DataflowRunner", base)
    with pytest.raises(RunnerChoiceError, match="/data/in"):
        resolve_runner("DataflowRunner", [*base, "--setup_file", "./pyproject.toml"],
                       urls=["/data/in", "gs://b/out"])
    choice = resolve_runner("dataflow", [*base, "--sdk_container_image", "img"],
                            urls=["gs://b/in", "gs://b/out", None])
    assert choice.runner == "DataflowRunner"


def test_flink_and_spark_warn_about_jar_downloads() -> None:
    assert resolve_runner("FlinkRunner", ["--flink_master", "localhost:8081"]).warnings
    assert not resolve_runner("SparkRunner", ["--spark_job_server_jar", "/x.jar"]).warnings


def test_unknown_runner_names_the_choices() -> None:
    with pytest.raises(RunnerChoiceError, match="DataflowRunner"):
        resolve_runner("TurboRunner", [])


def test_dask_takes_a_scheduler_address_and_nothing_else_does() -> None:
    choice = resolve_runner("dask", [], dask_address="tcp://127.0.0.1:8786")
    assert choice.runner == "DaskRunner"
    assert resolve_runner("DaskRunner", []).runner == "DaskRunner"  # a local cluster
    with pytest.raises(RunnerChoiceError, match="--dask-address is for --runner dask"):
        resolve_runner("DirectRunner", [], dask_address="tcp://127.0.0.1:8786")
    with pytest.raises(RunnerChoiceError, match="tcp://HOST:PORT"):
        resolve_runner("dask", [], dask_address="127.0.0.1:8786")


def test_dask_becomes_beams_full_runner_name_with_the_address() -> None:
    from crimegeo.pipelines.local import DASK_RUNNER_PATH, runner_arguments

    assert runner_arguments("DaskRunner", ["--dask_npartitions=4"], "tcp://h:1") == [
        "--runner", DASK_RUNNER_PATH, "--dask_npartitions=4", "--dask_client_address=tcp://h:1"]
    # Beam's own option, given directly, stands.
    assert runner_arguments("dask", ["--dask_client_address=tcp://a:2"], "tcp://h:1") == [
        "--runner", DASK_RUNNER_PATH, "--dask_client_address=tcp://a:2"]
    assert runner_arguments("DirectRunner", [], None) == ["--runner", "DirectRunner"]
