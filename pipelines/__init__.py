"""Runnable Beam pipelines, assembled from `transforms`, with their options."""
