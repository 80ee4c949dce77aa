"""Running the pipeline on a Dask cluster: Beam's Dask runner, completed for this pipeline.

`--runner dask` runs through Beam's own `apache_beam.runners.dask` (its options, its
translation of `Create` and `Flatten` into `dask.bag`, its result). With `--dask-address
tcp://HOST:PORT` the job is submitted to an existing `dask.distributed` scheduler (started
with `dask scheduler`, workers with `dask worker`); without one, a local cluster sized to this
machine is started once per process and shared by every run in it (a backfill's months).

Beam 2.77's `DaskRunner` gets five things wrong for a pipeline like ours, each reproduced
here on a real scheduler with two workers; `ClusterDaskRunner` fixes them and changes nothing
else:

- a DoFn's tagged outputs (`with_outputs`) all land in one bag, so each consumer receives
  every output of the step (the first locate step got per-file stats instead of batches);
  here each output PCollection gets its own bag, filtered by tag;
- only the last transform's bag is computed, so a branch that does not lead to it (the
  feedback files) never runs; here every leaf is computed, in one graph, and each step once
  whatever reads its outputs (a side input handed over as a collection, or a leaf
  optimised on its own, made Dask copy the steps upstream of it: a month's files were
  read, parsed, located and anonymised three times);
- what a DoFn emits in `finish_bundle` is dropped (collected before it runs); here it is kept;
- `Create` packs 128 elements into a partition, so a month's ~50 files were one task on one
  worker; here each element (an input file) is its own partition unless `--dask_npartitions`
  or `--dask_partition_size` say otherwise;
- `GroupByKey` groups by Python's `hash`, which differs between worker processes for
  strings; here keys are hashed by their pickled bytes, the same on every worker. And its
  task shuffle makes n x n tasks a stage over n partitions (15,500 of a national month's
  19,000 tasks); here the inputs are first concatenated into at most one partition per
  worker thread, then shuffled in one stage.

Side inputs are handed to each task as one computed list, never by computing a bag inside a
task (which a worker with one thread cannot do). Only the global window is supported, as in
every pipeline of this project. Must not import Prefect.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import threading
import typing as t
import zlib
from dataclasses import dataclass

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor, PTransformOverride
from apache_beam.runners.common import (
    DoFnContext,
    DoFnInvoker,
    DoFnSignature,
    Receiver,
    _OutputHandler,
)
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner, DaskRunnerResult
from apache_beam.runners.dask.overrides import _Create, _Flatten, dask_overrides
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

_local_cluster: t.Any = None
_local_cluster_lock = threading.Lock()


def local_cluster_address() -> str:
    """The scheduler of this process's local cluster, started on first use: one worker
    process per CPU, one thread each (the pipeline's work holds the GIL), on loopback."""
    global _local_cluster
    with _local_cluster_lock:
        if _local_cluster is None:
            from dask.distributed import LocalCluster

            _local_cluster = LocalCluster(
                n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None)
            atexit.register(_local_cluster.close)
        return _local_cluster.scheduler_address


#: Per-file partitions concatenated into one task before a GroupByKey's shuffle.
GROUP_INPUTS_PER_TASK = 8


def stable_hash(key: t.Any) -> int:
    """A key's hash that every worker process agrees on (Python salts `hash` of strings)."""
    return zlib.crc32(pickle.dumps(key, protocol=4))


class _GroupByKeyPrimitive(beam.PTransform):
    """`GroupByKey` as one step for this runner (global window only)."""

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        if pcoll.windowing.windowfn != GlobalWindows():
            raise ValueError("the Dask runner here supports only the global window; "
                             f"{pcoll.producer.full_label if pcoll.producer else pcoll} "
                             "is windowed otherwise")
        return pvalue.PCollection.from_(pcoll)


class _GroupByKeyOverride(PTransformOverride):
    def matches(self, applied_ptransform: AppliedPTransform) -> bool:
        return applied_ptransform.transform.__class__ == beam.GroupByKey

    def get_replacement_transform_for_applied_ptransform(
            self, applied_ptransform: AppliedPTransform) -> beam.PTransform:
        return _GroupByKeyPrimitive()


@dataclass
class _TagReceiver(Receiver):
    """Collects a DoFn's outputs for one tag as (tag, value)."""

    tag: str | None
    values: list

    def receive(self, windowed_value: WindowedValue) -> None:
        self.values.append((self.tag, windowed_value.value))


class _Receivers(dict):
    def __init__(self) -> None:
        super().__init__()
        self.values: list = []

    def __missing__(self, tag: str | None) -> _TagReceiver:
        self[tag] = receiver = _TagReceiver(tag, self.values)
        return receiver


def _windowed(value: t.Any) -> WindowedValue:
    return WindowedValue(value, 0, (GlobalWindow(),))


def _run_dofn_bundle(items: t.Iterable, fn: beam.DoFn, label: str, args: list, kwargs: dict,
                     side_specs: list, *side_values: list) -> list:
    """One partition as one bundle: setup, every element, finish_bundle, teardown; returns
    (tag, value) pairs, tag None for the main output."""
    receivers = _Receivers()
    side_inputs = [SideInputMap(view_class, view_options,
                                [_windowed(value) for value in values])
                   for (view_class, view_options), values in zip(side_specs, side_values,
                                                                  strict=True)]
    invoker = DoFnInvoker.create_invoker(
        DoFnSignature(fn),
        _OutputHandler(window_fn=GlobalWindows(), main_receivers=receivers[None],
                       tagged_receivers=receivers, per_element_output_counter=None,
                       output_batch_converter=None, process_yields_batches=False,
                       process_batch_yields_elements=False),
        context=DoFnContext(label, state=None), side_inputs=side_inputs or None,
        input_args=args, input_kwargs=kwargs, user_state_context=None,
        bundle_finalizer_param=beam.DoFn.BundleFinalizerParam())
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(_windowed(item))
    invoker.invoke_finish_bundle()
    invoker.invoke_teardown()
    return receivers.values


def _group_partition(pairs: t.Iterable[tuple[int, list]]) -> list:
    """Groups of one stable hash, split back into their keys: (key, [values])."""
    grouped: dict = {}
    for _, members in pairs:
        for key, value in members:
            grouped.setdefault(key, []).append(value)
    return list(grouped.items())


def _nothing(values: t.Iterable) -> list:
    """A leaf's partition, once computed: nothing to send back to the driver."""
    return []


def _concat(parts: t.Iterable[t.Iterable]) -> list:
    return list(itertools.chain.from_iterable(parts))


def _of_tag(pairs: t.Iterable[tuple], tag: str | None) -> list:
    return [value for got, value in pairs if got == tag]


class _BagBuilder(PipelineVisitor):
    """Turns each leaf transform into `dask.bag` operations, one bag per PCollection."""

    def __init__(self, bag_kwargs: dict, group_partitions: int = 1) -> None:
        self.bag_kwargs = bag_kwargs
        self.group_partitions = group_partitions
        self.bags: dict[pvalue.PCollection, t.Any] = {}
        self.consumed: set[pvalue.PCollection] = set()

    def visit_transform(self, node: AppliedPTransform) -> None:
        import dask.bag as db

        inputs = [self.bags[p] for p in node.main_inputs.values() if p in self.bags]
        self.consumed.update(node.main_inputs.values())
        self.consumed.update(si.pvalue for si in node.side_inputs)
        transform = node.transform
        outputs = node.outputs
        if isinstance(transform, _Create):
            bag = db.from_sequence(transform.values, **self._partitions(transform.values))
        elif isinstance(transform, _Flatten):
            bag = db.concat(inputs) if inputs else db.from_sequence([])
        elif isinstance(transform, _GroupByKeyPrimitive):
            (source,) = inputs
            bag = self._group_by_key(source)
        elif isinstance(transform, beam.ParDo):
            bag = self._par_do(node, inputs)
            if len(outputs) > 1 or None not in outputs:
                for tag, pcoll in outputs.items():
                    self.bags[pcoll] = bag.map_partitions(_of_tag, tag)
                return
            bag = bag.map_partitions(_of_tag, None)
        elif not inputs:
            raise NotImplementedError(
                f"the Dask runner here cannot run {node.full_label} "
                f"({type(transform).__name__}): it reads nothing the runner knows")
        else:  # a transform the runner passes through unchanged (e.g. a Reshuffle)
            bag = inputs[0] if len(inputs) == 1 else db.concat(inputs)
        for pcoll in outputs.values():
            self.bags[pcoll] = bag

    def _group_by_key(self, source: t.Any) -> t.Any:
        """A GroupByKey in few tasks: its inputs concatenated into at most one partition per
        worker thread (and at most `GROUP_INPUTS_PER_TASK` inputs each), then one shuffle
        stage between those partitions.

        Dask's task shuffle makes n x n split tasks per stage for n partitions: over a
        month's ~220 per-file stats partitions that was ~6,750 tasks in two stages per
        GroupByKey, about 15,000 of the month's 19,000 tasks, each costing the scheduler
        and a worker around a millisecond: most of the Dask run's overhead over the
        in-process runner (docs/scaling.md).
        """
        import math

        wanted = max(1, min(math.ceil(source.npartitions / GROUP_INPUTS_PER_TASK),
                            self.group_partitions))
        if wanted < source.npartitions:
            source = source.repartition(npartitions=wanted)
        return (source.groupby(lambda kv: stable_hash(kv[0]), shuffle="tasks",
                               max_branch=max(source.npartitions, 2))
                .map_partitions(_group_partition))

    def _partitions(self, values: t.Sequence) -> dict:
        if self.bag_kwargs:
            return dict(self.bag_kwargs)
        return {"npartitions": max(len(values), 1)}  # one element (an input file) a task

    def _par_do(self, node: AppliedPTransform, inputs: list) -> t.Any:
        transform = t.cast(beam.ParDo, node.transform)
        (source,) = inputs
        args, kwargs = transform.raw_side_inputs
        side_specs, side_items = [], []
        for side in node.side_inputs:
            side_specs.append((type(side), side._view_options()))
            # As a Delayed of the same key, not the bag's Item itself: Dask gives a
            # collection passed as an argument a renamed copy of its whole graph, so every
            # step upstream of a side input (the month's parse, locate and anonymise) ran
            # once more for each one.
            side_items.append(self.bags[side.pvalue].reduction(list, _concat)
                              .to_delayed(optimize_graph=False))
        return source.map_partitions(_run_dofn_bundle, transform.fn, node.full_label,
                                     list(args), dict(kwargs), side_specs, *side_items)

    def leaves(self) -> list:
        """The bags no step reads: computing them computes the whole pipeline."""
        seen, leaves = set(), []
        for pcoll, bag in self.bags.items():
            if pcoll not in self.consumed and bag.name not in seen:
                seen.add(bag.name)
                leaves.append(bag)
        return leaves


class ClusterRunResult(DaskRunnerResult):
    """Beam's Dask result, waiting on its own client (not a process-wide default one, so
    runs in threads, such as a backfill's months, stay apart) and closing it when done."""

    def wait_until_finish(self, duration: float | None = None) -> str:
        import dask.distributed as ddist

        try:
            timeout = duration / 1000 if duration is not None else None
            # Gathering each result raises a worker's error here, on the driver.
            for _ in ddist.as_completed(self.futures, timeout=timeout, with_results=True,
                                        loop=self.client.loop):
                pass
            self._state = PipelineState.DONE
        except BaseException:
            self._state = PipelineState.FAILED
            raise
        finally:
            self.client.close()
        return self._state


class ClusterDaskRunner(DaskRunner):
    """Beam's `DaskRunner` with every output, every branch and every file's task kept."""

    def run_pipeline(self, pipeline: beam.Pipeline, options: PipelineOptions
                     ) -> ClusterRunResult:
        import dask.bag as db
        import dask.distributed as ddist

        dask_options = options.view_as(DaskOptions).get_all_options(
            drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        if not dask_options.get("address") and not dask_options.get("scheduler_file"):
            dask_options["address"] = local_cluster_address()
        client = ddist.Client(set_as_default=False, **dask_options)
        pipeline.replace_all([_GroupByKeyOverride(), *dask_overrides()])
        # A GroupByKey's partitions: at most one per worker thread, so its consumers (the
        # feedback writers) still run on every worker.
        threads = sum(client.nthreads().values()) or 1
        builder = _BagBuilder(bag_kwargs, group_partitions=threads)
        pipeline.visit(builder)
        # One collection that ends every leaf, computed (and optimised) as one graph. Each
        # collection given to `compute` is optimised on its own, with its steps fused and
        # renamed, so a step several leaves read ran again for some of them (a test's step
        # with a side input ran four times). Only an empty list per partition comes back;
        # a worker's error still reaches the driver.
        done = db.concat([leaf.map_partitions(_nothing) for leaf in builder.leaves()])
        return ClusterRunResult(client, [client.compute(done)])
