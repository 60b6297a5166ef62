"""RFC 9162 hashing and proofs against the Certificate Transparency known answers.

The leaf inputs, roots and proofs are the classic vectors of Google's CT and trillian code
(transparency-dev/merkle ``testonly/constants.go`` and ``proof/verify_test.go``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

LEAF_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
LEAF_HASHES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]
ROOTS = {
    size: bytes.fromhex(value)
    for size, value in enumerate(
        [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
    )
}
LEAF_HASH_VECTORS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]


def h(value: str) -> bytes:
    return bytes.fromhex(value)


# (leaf index, tree size, proof); indexes here are 0-based.
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_leaf_hashes_match_known_answers() -> None:
    assert [leaf.hex() for leaf in LEAF_HASHES] == LEAF_HASH_VECTORS


@pytest.mark.parametrize("size", range(9))
def test_root_matches_known_answer_for_every_size(size: int) -> None:
    assert merkle.root_hash(LEAF_HASHES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_compact_range_root_matches_known_answer(size: int) -> None:
    compact = merkle.CompactRange()
    compact.extend(LEAF_HASHES[:size])
    assert compact.root() == ROOTS[size]


def test_compact_range_reports_every_interior_node_once() -> None:
    compact = merkle.CompactRange()
    completed = [node for leaf in LEAF_HASHES for node in compact.append(leaf)]
    assert [(level, index) for level, index, _ in completed] == [
        (1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (2, 1), (3, 0),
    ]  # fmt: skip
    assert completed[-1][2] == ROOTS[8]


def test_compact_range_resumes_from_stored_frontier() -> None:
    lookup = merkle._in_memory_lookup(LEAF_HASHES)
    resumed = merkle.CompactRange(7, [lookup(node) for node in merkle.frontier(7)])
    resumed.append(LEAF_HASHES[7])
    assert resumed.root() == ROOTS[8]


def test_compact_range_refuses_a_frontier_of_the_wrong_length() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.CompactRange(3, [SOME_HASH])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_known_answer(index: int, size: int, proof: list[bytes]) -> None:
    assert merkle.inclusion_proof(LEAF_HASHES, index, size) == proof
    assert merkle.verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_known_answer(
    first: int, second: int, proof: list[bytes]
) -> None:
    assert merkle.consistency_proof(LEAF_HASHES, first, second) == proof
    assert merkle.verify_consistency(first, second, proof, ROOTS[first], ROOTS[second])


def _corrupted_inclusion(index: int, size: int, proof: list[bytes]) -> dict[str, tuple]:  # type: ignore[type-arg]
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    probes = {
        "index - 1": (index - 1, size, leaf, proof, root),
        "index + 1": (index + 1, size, leaf, proof, root),
        "index ^ 2": (index ^ 2, size, leaf, proof, root),
        "size * 2": (index, size * 2, leaf, proof, root),
        "size / 2": (index, size // 2, leaf, proof, root),
        "wrong leaf": (index, size, merkle.leaf_hash(b"WrongLeaf"), proof, root),
        "short leaf": (index, size, b"WrongLeaf", proof, root),
        "empty root": (index, size, leaf, proof, merkle.EMPTY_ROOT),
        "random root": (index, size, leaf, proof, SOME_HASH),
        "trailing garbage": (index, size, leaf, [*proof, b""], root),
        "trailing root": (index, size, leaf, [*proof, root], root),
        "preceding garbage": (index, size, leaf, [b"", *proof], root),
        "preceding root": (index, size, leaf, [root, *proof], root),
    }
    if proof:
        probes["truncated"] = (index, size, leaf, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted"] = (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS[:4])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[bytes]) -> None:
    accepted = [
        name
        for name, probe in _corrupted_inclusion(index, size, proof).items()
        if merkle.verify_inclusion(*probe)
    ]
    assert accepted == []


def _corrupted_consistency(first: int, second: int, proof: list[bytes]) -> dict[str, tuple]:  # type: ignore[type-arg]
    one, two = ROOTS[first], ROOTS[second]
    return {
        "first - 1": (first - 1, second, proof, one, two),
        "first + 1": (first + 1, second, proof, one, two),
        "first ^ 2": (first ^ 2, second, proof, one, two),
        "second * 2": (first, second * 2, proof, one, two),
        "second / 2": (first, second // 2, proof, one, two),
        "wrong first root": (first, second, proof, SOME_HASH, two),
        "wrong second root": (first, second, proof, one, SOME_HASH),
        "swapped roots": (first, second, proof, two, one),
        "empty proof": (first, second, [], one, two),
        "trailing garbage": (first, second, [*proof, b""], one, two),
        "trailing first root": (first, second, [*proof, one], one, two),
        "trailing second root": (first, second, [*proof, two], one, two),
        "preceding garbage": (first, second, [b"", *proof], one, two),
        "preceding first root": (first, second, [one, *proof], one, two),
        "preceding second root": (first, second, [two, *proof], one, two),
        "preceding proof[0]": (first, second, [proof[0], *proof], one, two),
        "truncated": (first, second, proof[:-1], one, two),
    }


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS[1:])
def test_corrupted_consistency_proofs_fail(first: int, second: int, proof: list[bytes]) -> None:
    accepted = [
        name
        for name, probe in _corrupted_consistency(first, second, proof).items()
        if merkle.verify_consistency(*probe)
    ]
    assert accepted == []


def test_empty_tree_is_consistent_with_every_tree_but_takes_no_proof() -> None:
    assert merkle.verify_consistency(0, 5, [], merkle.EMPTY_ROOT, ROOTS[5])
    assert not merkle.verify_consistency(0, 5, [SOME_HASH], merkle.EMPTY_ROOT, ROOTS[5])


def test_time_travel_is_not_consistent() -> None:
    assert not merkle.verify_consistency(5, 2, [], ROOTS[5], ROOTS[2])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 3)])
def test_inclusion_ranges_refuse_leaves_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_ranges(index, size)


def test_consistency_ranges_refuse_a_shrinking_tree() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(5, 4)


def _leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


def _flip_bit(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8 % len(value)] ^= 1 << (bit % 8)
    return bytes(flipped)


@st.composite
def tree_and_leaf(draw: Callable[..., int]) -> tuple[int, int]:
    size = draw(st.integers(min_value=1, max_value=300))
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def two_sizes(draw: Callable[..., int]) -> tuple[int, int]:
    second = draw(st.integers(min_value=1, max_value=300))
    return draw(st.integers(min_value=1, max_value=second)), second


@settings(max_examples=150, deadline=None)
@given(tree_and_leaf(), st.integers(min_value=0, max_value=10_000))
def test_every_inclusion_proof_verifies_and_any_bit_flip_fails(
    case: tuple[int, int], bit: int
) -> None:
    size, index = case
    leaves = _leaves(size)
    root = merkle.root_hash(leaves)
    proof = merkle.inclusion_proof(leaves, index, size)
    assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    assert not merkle.verify_inclusion(index, size, _flip_bit(leaves[index], bit), proof, root)
    assert not merkle.verify_inclusion(index, size, leaves[index], proof, _flip_bit(root, bit))
    if proof:
        position = bit % len(proof)
        tampered = [*proof[:position], _flip_bit(proof[position], bit), *proof[position + 1 :]]
        assert not merkle.verify_inclusion(index, size, leaves[index], tampered, root)


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.integers(min_value=0, max_value=10_000))
def test_every_consistency_proof_verifies_and_any_bit_flip_fails(
    sizes: tuple[int, int], bit: int
) -> None:
    first, second = sizes
    leaves = _leaves(second)
    first_root, second_root = merkle.root_hash(leaves[:first]), merkle.root_hash(leaves)
    proof = merkle.consistency_proof(leaves, first, second)
    assert merkle.verify_consistency(first, second, proof, first_root, second_root)
    assert not merkle.verify_consistency(
        first, second, proof, _flip_bit(first_root, bit), second_root
    )
    assert not merkle.verify_consistency(
        first, second, proof, first_root, _flip_bit(second_root, bit)
    )
    if proof:
        position = bit % len(proof)
        tampered = [*proof[:position], _flip_bit(proof[position], bit), *proof[position + 1 :]]
        assert not merkle.verify_consistency(first, second, tampered, first_root, second_root)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2_000))
def test_compact_range_agrees_with_level_by_level_root(size: int) -> None:
    leaves = _leaves(size)
    compact = merkle.CompactRange()
    compact.extend(leaves)
    assert compact.root() == merkle.root_hash(leaves)
