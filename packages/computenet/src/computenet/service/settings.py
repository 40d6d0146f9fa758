"""Service settings: a YAML/env file plus environment variables (COMPUTENET_*)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPUTENET_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var/computenet")
    database_url: str | None = None  # default: SQLite (WAL) in data_dir
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=1, le=65535)
    network: str = "china-hubs"  # a built-in network name or a network YAML path
    policy: str = "backfill"
    tick_s: float = Field(default=0.1, gt=0, le=10)
    # local sites: > 0 refuses device indexes at or beyond it (this machine's devices per
    # node); 0 checks none (the demo's sites model more GPUs than the machine has)
    local_devices_per_node: int = Field(default=0, ge=0)

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'computenet.db').resolve()}"

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / "admin-token"
