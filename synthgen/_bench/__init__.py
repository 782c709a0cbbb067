"""The parts of ``synthgen benchmark``: what runs (``cases``), one run in a child process
(``worker``), and the table, JSON, Markdown and figure of the results (``output``).

The public entry point is :mod:`synthgen.benchmarking`.
"""
