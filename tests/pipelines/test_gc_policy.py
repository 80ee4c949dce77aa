"""A tuned run collects garbage less often, and leaves the collector as it found it."""

from __future__ import annotations

import gc

import pytest

from crimegeo.pipelines.imports import RUN_GC_THRESHOLDS, fewer_collections


def test_fewer_collections_during_the_block_and_restored_after_even_on_error() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    assert frozen_before == 0  # nothing in the test process freezes objects
    with pytest.raises(RuntimeError, match="a failing run"), fewer_collections():
        assert gc.get_threshold() == RUN_GC_THRESHOLDS
        assert gc.get_freeze_count() > frozen_before  # what existed is left alone
        raise RuntimeError("a failing run")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_the_block_are_still_collected() -> None:
    import weakref

    class Node:
        pass

    with fewer_collections():
        node = Node()
        node.self = node  # a cycle: only the collector frees it
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None
