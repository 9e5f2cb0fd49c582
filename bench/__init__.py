"""Benchmarks runnable from the command line: ``python -m bench [NAME] [--quick]``.

Each benchmark is a module ``bench/<name>.py`` with a docstring (its first line is the
listing) and ``run(quick: bool) -> Iterable[dict]`` yielding result rows; ``bench.emit``
prints each as one JSON object per line.

A row for an issue's target carries the target (``target_ms``, ``target_ratio``…) and
``meets_target``, a plain comparison of the figure with it. Timings never fail a run (a
busy machine is not a bug); a wrong answer, such as Schulze winners that differ from
pref_voting's, does.
"""
