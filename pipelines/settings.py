"""The settings a run is configured by, and the pipeline arguments they become.

Kept apart from `pipelines.monthly` so that the command line and the watcher can build settings
without importing Beam. Must not import Beam or Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """What every run of the pipeline takes: where to read and write, and how to locate."""

    input: str
    output: str
    gazetteer: str | None = None
    profiles: tuple[str, ...] = ()
    min_geocode_score: float = 0.8
    far_from_street_m: float = 1000.0
    boundaries: tuple[str, ...] = ()
    boundary_tolerance_m: float = 250.0
    areas: tuple[str, ...] = ()
    map_points: str | None = None
    min_public_count: int = 1
    beam_options: tuple[str, ...] = ()

    def option_args(self) -> list[str]:
        """The pipeline's command-line arguments for these settings."""
        args = ["--input", self.input, "--output", self.output,
                "--min_geocode_score", str(self.min_geocode_score),
                "--far_from_street_m", str(self.far_from_street_m),
                "--boundary_tolerance_m", str(self.boundary_tolerance_m),
                "--min_public_count", str(self.min_public_count)]
        for flag, value in (("--gazetteer", self.gazetteer), ("--map_points", self.map_points)):
            if value:
                args += [flag, value]
        for flag, values in (("--profiles", self.profiles), ("--boundaries", self.boundaries),
                             ("--areas", self.areas)):
            for value in values:
                args += [flag, value]
        return args + list(self.beam_options)


@dataclass(frozen=True, kw_only=True)
class RunSettings(PipelineSettings):
    """Everything a monthly run is configured by, as the flow and CLI pass it on."""

    month: str
    runner: str = "DirectRunner"

    def to_args(self) -> list[str]:
        """The pipeline's command-line arguments for these settings."""
        return ["--month", self.month, "--runner", self.runner, *self.option_args()]
