"""Private keys on disk: one PKCS#8 PEM file per key under the keys directory.

Files are created 0600 in a 0700 directory and refused when group or others can read them
(as ssh does). With ``TEAPLATFORM_TRACE_KEY_PASSPHRASE`` set they are also encrypted
(PKCS#8 with the strongest scheme `cryptography` offers); the database holds public keys only.
"""

import os
import stat
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from teaplatform.settings import Settings
from teaplatform.trace.signing import key_id_of, raw_public


class KeyStoreError(RuntimeError):
    """A private key that is missing, unreadable, too open, or not Ed25519."""


def keys_dir(settings: Settings) -> Path:
    return settings.trace_keys_dir or settings.data_dir / "trace-keys"


def _passphrase(settings: Settings) -> bytes | None:
    secret = settings.trace_key_passphrase
    return secret.get_secret_value().encode() if secret else None


def create_key(settings: Settings) -> tuple[str, bytes]:
    """Generate a key pair, write the private half; return (key id, raw public key)."""
    key = Ed25519PrivateKey.generate()
    public = raw_public(key)
    key_id = key_id_of(public)
    passphrase = _passphrase(settings)
    pem = key.private_bytes(
        Encoding.PEM,
        PrivateFormat.PKCS8,
        BestAvailableEncryption(passphrase) if passphrase else NoEncryption(),
    )
    folder = keys_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    fd = os.open(folder / f"{key_id}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key_id, public


def load_key(settings: Settings, key_id: str) -> Ed25519PrivateKey:
    """The private key `key_id`; cached per file version (decrypting can take milliseconds)."""
    path = keys_dir(settings) / f"{key_id}.pem"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyStoreError(f"no private key file {path}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path} is readable by others: chmod 600 it")
    return _load(str(path), info.st_mtime_ns, _passphrase(settings), key_id)


@lru_cache(maxsize=64)
def _load(path: str, _mtime: int, passphrase: bytes | None, key_id: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"cannot read {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey) or key_id_of(raw_public(key)) != key_id:
        raise KeyStoreError(f"{path} does not hold Ed25519 key {key_id}")
    return key
