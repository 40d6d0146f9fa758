"""teaplatform benchmarks: each figure of product.md beside its goal.

    .venv/bin/python packages/teaplatform/benchmarks/run.py [--only NAME ...] [--json]

NAME is a ``bench_NAME.py`` beside this file (ingest, vision, trace, sales). Each runs in its
own process (its own table and goals); ``--json`` collects their JSON outputs in one object.
Data come from $SHARED_DATA (default ../shared/data next to the repository).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main() -> int:
    names = available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=names, help="run only these")
    parser.add_argument("--json", action="store_true", help="one JSON object for machines")
    args = parser.parse_args()
    failed = 0
    results: dict[str, object] = {}
    for name in args.only or names:
        cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *(["--json"] if args.json else [])]
        if args.json:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            sys.stderr.write(done.stderr)
            results[name] = json.loads(done.stdout) if done.returncode == 0 else None
        else:
            print(f"\n== {name} ==", flush=True)
            done = subprocess.run(cmd, check=False)
        failed += done.returncode != 0
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
