"""Merkle trees: the RFC 9162 definition, inclusion proofs that fail on any change."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teaplatform.trace import merkle

pytestmark = pytest.mark.unit


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, recursively: split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


@pytest.mark.parametrize("n", [*range(18), 31, 32, 33, 100])
def test_root_matches_the_rfc_definition(n: int) -> None:
    assert merkle.root(leaves(n)) == reference_root(leaves(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 64, 65])
def test_every_leaf_has_a_proof_that_verifies(n: int) -> None:
    data = leaves(n)
    root = merkle.root(data)
    for i in range(n):
        proof = merkle.inclusion_proof(data, i)
        assert merkle.verify_inclusion(data[i], i, n, proof, root)


@given(st.integers(2, 80), st.data())
def test_a_proof_fails_for_another_leaf_index_or_root(n: int, data: st.DataObject) -> None:
    items = leaves(n)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(items, i)
    root = merkle.root(items)
    other = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    assert not merkle.verify_inclusion(items[other], i, n, proof, root)
    assert not merkle.verify_inclusion(items[i], other, n, proof, root)
    assert not merkle.verify_inclusion(items[i], i, n, proof, merkle.root(items[:-1]))


def test_index_outside_the_tree_is_an_error() -> None:
    with pytest.raises(IndexError):
        merkle.inclusion_proof(leaves(3), 3)
    assert not merkle.verify_inclusion(leaves(3)[0], 5, 3, [], merkle.root(leaves(3)))
