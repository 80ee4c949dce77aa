"""Beam transforms of the monthly and streaming pipelines.

Each element that crosses a Beam boundary is a batch (a pyarrow table of one input file or one
chunk of it), never a single crime record; the work inside is array operations.
"""
