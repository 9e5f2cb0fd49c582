"""Benchmarks runnable from the command line: ``python -m bench [NAME] [--quick]``.

Each benchmark is a module ``bench/<name>.py`` with a docstring (its first line is the
listing) and ``run(quick: bool) -> Iterable[dict]`` yielding result rows; ``bench.emit``
prints each as one JSON object per line.
"""
