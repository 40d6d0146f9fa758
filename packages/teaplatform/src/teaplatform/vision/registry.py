"""The model registry: trained versions with their metrics; one active version per kind.

A version points at a model directory (``model.onnx`` + ``card.json``); the shipped defaults
are ``builtin:<kind>`` so a registry row survives the package moving. With no active version
the shipped default serves, so detection and grading work on an empty store.
"""

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.vision.artifacts import builtin_dir, load_card
from teaplatform.vision.config import KINDS, Kind
from teaplatform.vision.tables import ModelVersion

BUILTIN_PREFIX = "builtin:"


class RegistryError(ValueError):
    """A registry request that cannot be met (unknown id, wrong kind, bad directory)."""


def resolve(path: str) -> Path:
    """The model directory a registry path names."""
    if path.startswith(BUILTIN_PREFIX):
        kind = path.removeprefix(BUILTIN_PREFIX)
        if kind not in KINDS:
            raise RegistryError(f"unknown builtin model {kind!r}")
        return builtin_dir(kind)
    return Path(path)


def _stored_path(directory: Path, kind: Kind) -> str:
    if directory.resolve() == builtin_dir(kind).resolve():
        return BUILTIN_PREFIX + kind
    return str(directory.resolve())


def register(
    session: Session,
    directory: Path,
    now: datetime,
    version: str | None = None,
    activate: bool = False,
) -> ModelVersion:
    """Add the model in `directory` (idempotent for the same kind and version)."""
    try:
        card = load_card(directory)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{directory}: not a model directory ({exc})") from None
    name = (
        version
        or f"{'builtin' if _stored_path(directory, card.kind).startswith(BUILTIN_PREFIX) else 'trained'}-{card.onnx_sha256[:10]}"
    )
    row = session.scalar(
        select(ModelVersion).where(ModelVersion.kind == card.kind, ModelVersion.version == name)
    )
    if row is None:
        row = ModelVersion(
            kind=card.kind,
            version=name,
            path=_stored_path(directory, card.kind),
            onnx_sha256=card.onnx_sha256,
            metrics=card.metrics,
            card=card.model_dump(mode="json"),
            active=False,
            created_at=now,
        )
        session.add(row)
        session.flush()
    if activate:
        set_active(session, row.id)
    return row


def set_active(session: Session, version_id: int) -> ModelVersion:
    """Make a version the one that serves its kind (the previous one steps down)."""
    row = session.get(ModelVersion, version_id)
    if row is None:
        raise RegistryError(f"no model version {version_id}")
    for other in session.scalars(
        select(ModelVersion).where(ModelVersion.kind == row.kind, ModelVersion.active)
    ):
        other.active = False
    session.flush()
    row.active = True
    session.flush()
    return row


def versions(session: Session, kind: Kind | None = None) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.kind, ModelVersion.id)
    if kind is not None:
        query = query.where(ModelVersion.kind == kind)
    return list(session.scalars(query))


def active(session: Session, kind: Kind) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.active)
    )


def serving_dir(session: Session | None, kind: Kind) -> Path:
    """The directory of the version that serves `kind`: the active one, else the shipped one."""
    row = active(session, kind) if session is not None else None
    return resolve(row.path) if row is not None else builtin_dir(kind)
