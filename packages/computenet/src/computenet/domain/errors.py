"""Domain errors.

DomainError              invalid domain data (a bad value, an inconsistent spec)
└── UnknownNameError     a name that is not in a registry; lists the valid names
"""

from collections.abc import Iterable


class DomainError(ValueError):
    """Invalid domain data."""


class UnknownNameError(DomainError, KeyError):
    """A name that is not known; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:
        return str(self.args[0])
