"""Merkle trees over a day's event hashes, as in Certificate Transparency (RFC 9162, 2.1).

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01), so a leaf can never pass
for a node; an inclusion proof is the list of sibling hashes from the leaf up to the root.
"""

import hashlib
from collections.abc import Sequence

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = _sha256(b"").digest()


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over `leaves` (each leaf is the data, not yet hashed), leaf
    hashes first, the root last. Level by level, an unpaired last node moves up unchanged:
    that yields RFC 9162's tree (left subtree = the largest power of two) without recursion."""
    level = [_sha256(b"\x00" + leaf).digest() for leaf in leaves]
    out = [level]
    while len(level) > 1:
        paired = [
            _sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        out.append(level)
    return out


def root(leaves: Sequence[bytes]) -> bytes:
    """The RFC 9162 Merkle tree hash of `leaves`."""
    return levels(leaves)[-1][0] if leaves else EMPTY_ROOT


def path(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 9162, 2.1.3.1), bottom-up, from `levels`."""
    if not 0 <= index < len(tree[0]):
        raise IndexError(f"leaf {index} not in a tree of {len(tree[0])}")
    proof: list[bytes] = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    return path(levels(leaves), index) if leaves else path([[]], index)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162, 2.1.3.2: does `proof` place `leaf` at `index` of a `size`-leaf tree with root?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    digest = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            digest = node_hash(sibling, digest)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and digest == expected_root
