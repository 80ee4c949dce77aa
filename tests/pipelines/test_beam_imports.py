"""A local run imports Beam without its cloud connectors (and the Dataflow and MongoDB clients),
and still runs; other runs get them.

Each case runs in a fresh interpreter: this test process imported Beam long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import live_parts

ROOT = Path(__file__).resolve().parents[2]
CONNECTORS = ["apache_beam.io.gcp.bigquery", "apache_beam.io.gcp.pubsub",
              "google.cloud.bigquery", "google.cloud.storage", "google.cloud.dataflow",
              "google.api_core", "apitools", "pymongo"]


def _python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["stderr"] = done.stderr
    return found


def test_cli_pipeline_runs_a_month_without_loading_the_cloud_connectors(
        demo_month: dict, tmp_path: Path) -> None:
    found = _python(f"""
        import json, sys
        from crimegeo.flows.cli import app
        try:
            app(["pipeline", "--month", "2024-03", "--input", {str(demo_month["input"])!r},
                 "--output", {str(tmp_path / "out")!r},
                 "--gazetteer", {demo_month["gazetteer"]!r}, "--json"])
        except SystemExit as done:
            assert not done.code, done.code
        print(json.dumps({{name: name in sys.modules for name in {CONNECTORS!r}}}))
    """)
    stderr = found.pop("stderr")
    assert not any(found.values()), found
    assert "bson" not in stderr  # Beam's warning for an absent MongoDB client is not shown
    forces = {path.rsplit("/", 2)[1] for path in live_parts(tmp_path / "out")
              if path.startswith("restricted/")}
    assert len(forces) == 4  # the demo month's four forces


def test_connectors_load_on_demand_after_a_local_import() -> None:
    found = _python("""
        import json, sys
        from crimegeo.pipelines.imports import beam_imports
        with beam_imports(local=True):
            import apache_beam
        left_out = "apache_beam.io.gcp.pubsub" not in sys.modules
        from apache_beam.io.gcp.pubsub import ReadFromPubSub  # the streaming source
        print(json.dumps({"left_out": left_out, "loaded_later": ReadFromPubSub is not None,
                          "finders": [type(f).__name__ for f in sys.meta_path]}))
    """)
    assert found["left_out"] and found["loaded_later"]
    assert "_NotNow" not in found["finders"]


def test_a_run_elsewhere_imports_beam_as_usual() -> None:
    found = _python("""
        import json, sys
        from crimegeo.pipelines.imports import beam_imports
        with beam_imports(local=False):
            import apache_beam
        print(json.dumps({"pubsub": "apache_beam.io.gcp.pubsub" in sys.modules}))
    """)
    assert found["pubsub"]


def test_without_local_tuning_beam_is_imported_whole(demo_month: dict, tmp_path: Path) -> None:
    found = _python(f"""
        import json, sys
        from crimegeo.flows.cli import app
        try:
            app(["pipeline", "--month", "2024-03", "--input", {str(demo_month["input"])!r},
                 "--output", {str(tmp_path / "out")!r}, "--no-local-tuning", "--json"])
        except SystemExit as done:
            assert not done.code, done.code
        print(json.dumps({{name: name in sys.modules for name in {CONNECTORS!r}}}))
    """)
    found.pop("stderr")
    assert found["apache_beam.io.gcp.bigquery"], found  # the switch is off: plain Beam
