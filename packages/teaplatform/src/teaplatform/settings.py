"""Settings: a ``.env``-style file plus environment variables (TEAPLATFORM_*)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DB_FILE = "teaplatform.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEAPLATFORM_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var/teaplatform")
    database_url: str | None = None  # default: SQLite (WAL) in data_dir
    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=1, le=65535)
    # base URL printed in QR codes and links (what a consumer's phone reaches)
    public_url: str = "http://127.0.0.1:8480"
    # bearer token for writes; unset = writes open (the zero-setup local default)
    api_token: str | None = None
    # MQTT broker for garden and processing telemetry; no host = no MQTT bridge
    mqtt_host: str | None = None
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_topic_prefix: str = "tea"
    # where outgoing alert notifications are POSTed (JSON); unset = none
    alert_webhook_url: str | None = None
    # traceability: organisations' Ed25519 private keys (files, 0600); default data_dir/trace-keys
    trace_keys_dir: Path | None = None
    # encrypts those key files (PKCS#8) when set; unset = plain files readable by the owner only
    trace_key_passphrase: SecretStr | None = None
    # a package code scanned more often than this, or from more than one place, is flagged
    trace_scan_limit: int = Field(default=10, ge=1)

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DB_FILE).absolute()}"
