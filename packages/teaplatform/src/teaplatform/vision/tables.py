"""The model registry's table: trained model versions, their metrics, which one serves."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from teaplatform.store.db import Base


class ModelVersion(Base):
    __tablename__ = "vision_model_versions"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # detector | classifier
    version: Mapped[str] = mapped_column(String(64))
    # "builtin:<kind>" for the weights shipped in the package, else an absolute directory
    path: Mapped[str] = mapped_column(String(1024))
    onnx_sha256: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
