"""The run directories a cluster backend (Slurm, Ray) keeps under its spool: one folder per run
holding the launch request (``spec.json``) and the files the run leaves behind."""

import json
from pathlib import Path
from typing import Any

from computenet.backends import _wrapper as w
from computenet.backends.base import UnknownRun, is_valid_run_id


def read_stripped(path: Path) -> str | None:
    """A small state file's text, or None while it does not exist."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


class RunSpecs:
    """The launch requests of the runs under `runs_dir`, read from disk once and cached."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._cache: dict[str, dict[str, Any]] = {}

    def get(self, run_id: str) -> dict[str, Any] | None:
        spec = self._cache.get(run_id)
        if spec is None and is_valid_run_id(run_id):
            text = read_stripped(self.runs_dir / run_id / w.SPEC)
            if text is None:
                return None
            spec = json.loads(text)
            self._cache[run_id] = spec
        return spec

    def __getitem__(self, run_id: str) -> dict[str, Any]:
        return self._cache[run_id]

    def __setitem__(self, run_id: str, spec: dict[str, Any]) -> None:
        self._cache[run_id] = spec

    def pop(self, run_id: str, default: None = None) -> dict[str, Any] | None:
        return self._cache.pop(run_id, default)

    def known_dir(self, run_id: str) -> Path:
        """The folder of a run this backend launched; `UnknownRun` otherwise."""
        if not is_valid_run_id(run_id) or self.get(run_id) is None:
            raise UnknownRun(run_id)
        return self.runs_dir / run_id
