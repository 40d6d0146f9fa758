"""Sales tables: one row per (product, channel, region, day); re-imports update in place."""

import datetime as dt

from sqlalchemy import Date, DateTime, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from teaplatform.store.db import Base


class SaleRow(Base):
    __tablename__ = "sales_records"
    __table_args__ = (UniqueConstraint("product", "channel", "region", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(120), index=True)
    channel: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(120))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)  # unit price; NULL when unknown
    source: Mapped[str] = mapped_column(String(200))  # file name, or "demo (SYNTHETIC)"
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
