"""Store errors.

StoreError                 a store operation that cannot be done
├── DuplicateError         a name or id that is already taken (HTTP 409)
│   └── DuplicateJobError  a job id that is already taken
└── NotFoundError          a referenced row does not exist (HTTP 404)
"""

from collections.abc import Iterable


class StoreError(Exception):
    """A store operation that cannot be done."""


class DuplicateError(StoreError):
    """A name or id that is already taken."""

    def __init__(self, kind: str, names: Iterable[str]) -> None:
        self.kind = kind
        self.names = sorted(set(names))
        shown = ", ".join(repr(n) for n in self.names[:10])
        more = f" and {len(self.names) - 10} more" if len(self.names) > 10 else ""
        if len(self.names) == 1:
            super().__init__(f"{kind} {shown} already exists")
        else:
            super().__init__(f"{kind}s {shown}{more} already exist")


class DuplicateJobError(DuplicateError):
    """A job id that is already taken."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__("job", names)


class NotFoundError(StoreError, LookupError):
    """A referenced row (a tenant, a job) does not exist."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"{kind} {name!r} does not exist")

    def __str__(self) -> str:
        return str(self.args[0])
