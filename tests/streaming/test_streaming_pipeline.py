"""The streaming pipeline's assembly: Pub/Sub on Dataflow is the same pipeline, another source."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions

from crimegeo.pipelines.local import local_streaming_runner
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.pipelines.streaming import build_streaming_pipeline, main, streaming_options


def _labels(pipeline: beam.Pipeline) -> set[str]:
    labels: set[str] = set()

    class Visitor(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            labels.add(node.full_label)

        def visit_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            labels.add(node.full_label)

    pipeline.visit(Visitor())
    return labels


def test_pubsub_and_micro_batches_share_the_ingest_steps() -> None:
    args = ["--input", "gs://forces-in/incoming", "--output", "gs://forces-in/output",
            "--streaming",
            "--subscription", "projects/my-project/subscriptions/crimegeo-arrivals"]
    # Built (not run) with the local streaming runner: validating Dataflow options needs the
    # network; the graph is the same.
    pubsub, _ = build_streaming_pipeline(settings_from_argv(args))
    labels = _labels(pubsub)
    assert {"Notifications", "ParseNotifications", "IngestArrivals/IngestFile",
            "IngestArrivals/RefreshFeedback"} <= labels
    local, _ = build_streaming_pipeline(
        settings_from_argv(["--input", "/in", "--output", "/out"]), arrivals=[])
    shared = {label for label in _labels(local) if label.startswith("IngestArrivals")}
    assert shared and shared <= labels  # the same steps, under the same stable names
    assert type(local.runner).__name__ == "FnApiRunner"


def test_no_subscription_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="--subscription or --topic"):
        build_streaming_pipeline(settings_from_argv(
            ["--streaming", "--input", "gs://b/in", "--output", "gs://b/out"]))


def test_local_streaming_uses_the_bundle_based_runner_explicitly() -> None:
    options = streaming_options(settings_from_argv(["--streaming", "--input", "i",
                                                    "--output", "o"]))
    runner = local_streaming_runner(options)
    assert type(runner).__name__ == "BundleBasedDirectRunner"
    assert options.view_as(StandardOptions).runner == "BundleBasedDirectRunner"


def test_the_launcher_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    text = capsys.readouterr().out
    assert "--subscription" in text and "--gazetteer" in text
