"""``python -m bench`` lists the benchmarks; ``python -m bench NAME [--quick]`` runs one."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from bench._util import emit


def _names() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", nargs="?", help="benchmark to run; omit to list them")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    args = parser.parse_args(argv)
    names = _names()
    if not args.name:
        for name in names:
            doc = (importlib.import_module(f"bench.{name}").__doc__ or "").strip()
            print(f"{name:16} {doc.splitlines()[0] if doc else ''}")
        return 0
    if args.name not in names:
        parser.error(f"unknown benchmark {args.name!r}; choose from {', '.join(names)}")
    module = importlib.import_module(f"bench.{args.name}")
    for result in module.run(quick=args.quick):
        emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
