"""Ed25519 keys of organisations: identities, validity periods (rotation), revocation.

An organisation holds several keys over time. A key signs what is recorded inside its validity
period [not_before, not_after); rotating sets the old key's not_after and starts a new one.
Revoking (a key believed stolen) makes every signature dated at or after `revoked_at` fail,
while older ones keep verifying — the period the key was trusted stays trusted.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def key_id_of(public_key: bytes) -> str:
    """A key's id: the first 16 bytes of SHA-256 of its raw 32-byte public key, in hex."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Signer:
    """What signs events: an organisation and one of its private keys."""

    org: str
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


class KeyProblem(StrEnum):
    UNKNOWN_KEY = "unknown_key"
    WRONG_ORG = "wrong_org"
    KEY_NOT_YET_VALID = "key_not_yet_valid"
    KEY_EXPIRED = "key_expired"
    KEY_REVOKED = "key_revoked"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A public key with its validity period (what verifiers know; no secret in here)."""

    key_id: str
    org: str
    public_key: bytes
    not_before: datetime
    not_after: datetime | None = None
    revoked_at: datetime | None = None

    def problem_at(self, org: str, moment: datetime) -> KeyProblem | None:
        """Why this key may not sign for `org` at `moment`, or None when it may."""
        if org != self.org:
            return KeyProblem.WRONG_ORG
        if self.revoked_at is not None and moment >= self.revoked_at:
            return KeyProblem.KEY_REVOKED
        if moment < self.not_before:
            return KeyProblem.KEY_NOT_YET_VALID
        if self.not_after is not None and moment >= self.not_after:
            return KeyProblem.KEY_EXPIRED
        return None


def key_problem(
    keys: dict[str, KeyInfo], key_id: str, org: str, moment: datetime
) -> KeyProblem | None:
    key = keys.get(key_id)
    if key is None:
        return KeyProblem.UNKNOWN_KEY
    return key.problem_at(org, moment)


@lru_cache(maxsize=1024)
def _public(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when `signature` is `public_key`'s Ed25519 signature of `message`."""
    try:
        _public(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
