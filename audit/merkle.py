"""RFC 9162 Merkle tree hashing, tree heads and proofs, in pure Python.

Leaves hash as ``SHA-256(0x00 || entry)`` and interior nodes as ``SHA-256(0x01 || left || right)``
(RFC 9162 §2.1.1), so a leaf can never be passed off as a node. The tree head of ``n`` leaves
splits at the largest power of two smaller than ``n``.

Large trees are handled without recursion over leaves:

* :func:`root_hash` hashes level by level, promoting an odd last node unchanged, which yields
  exactly the RFC's head for any ``n``;
* :class:`CompactRange` keeps only the perfect subtrees covering ``[0, size)`` (one per set bit
  of ``size``), so streaming a million leaves costs one leaf hash and about one node hash each;
* proofs are described as leaf ranges (:func:`inclusion_ranges`, :func:`consistency_ranges`)
  whose hashes are assembled from stored perfect subtrees by :func:`range_hash`, so a store
  answers any proof with ``O(log² n)`` node reads instead of reading every leaf.

A node is named ``(level, index)``: it covers leaves ``[index << level, (index + 1) << level)``.
This module imports nothing from the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeId = tuple[int, int]
Range = tuple[int, int]


class ProofError(ValueError):
    """A proof was requested for sizes or indexes that do not describe one."""


def leaf_hash(entry: bytes) -> bytes:
    return sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162 §2.1.1: the largest power of two strictly smaller than ``n > 1``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves, computed level by level."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [
            sha256(_NODE_PREFIX + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def frontier(size: int) -> list[NodeId]:
    """The perfect subtrees covering ``[0, size)``, largest (leftmost) first."""
    nodes = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, (size >> level) - 1))
    return nodes


class CompactRange:
    """The frontier of a growing tree: enough to append leaves and compute the head at any size."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ProofError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
        self.size = size
        self._hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the interior nodes it completes as (level, index, hash)."""
        completed = []
        current = leaf
        position = self.size
        level = 0
        while position & 1:
            current = node_hash(self._hashes.pop(), current)
            position >>= 1
            level += 1
            completed.append((level, position, current))
        self._hashes.append(current)
        self.size += 1
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add many leaf hashes without reporting nodes: the verifier's hot loop."""
        hashes = self._hashes
        size = self.size
        for leaf in leaves:
            current = leaf
            position = size
            while position & 1:
                current = sha256(_NODE_PREFIX + hashes.pop() + current).digest()
                position >>= 1
            hashes.append(current)
            size += 1
        self.size = size

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        current = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            current = node_hash(left, current)
        return current


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Leaf ranges whose heads form PATH(index, D[size]) (RFC 9162 §2.1.3.1), bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    ranges = []
    start, end = 0, size
    while end - start > 1:
        split = start + largest_power_of_two_below(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """Leaf ranges whose heads form PROOF(first, D[second]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from {first} to {second} leaves")
    if first in (0, second):
        return []
    ranges = []
    start, end = 0, second
    remaining = first
    started_left = True
    while remaining != end - start:
        split = largest_power_of_two_below(end - start)
        if remaining <= split:
            ranges.append((start + split, end))
            end = start + split
        else:
            ranges.append((start, start + split))
            start += split
            remaining -= split
            started_left = False
    if not started_left:
        ranges.append((start, end))
    return ranges[::-1]


def perfect_subtrees(start: int, end: int) -> Iterator[NodeId]:
    """The stored nodes :func:`range_hash` needs for MTH(D[start:end])."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        yield (level, start >> level)
        return
    split = start + largest_power_of_two_below(size)
    yield from perfect_subtrees(start, split)
    yield from perfect_subtrees(split, end)


def range_hash(start: int, end: int, lookup: Callable[[NodeId], bytes]) -> bytes:
    """MTH(D[start:end]) from the hashes of the perfect subtrees it splits into."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return lookup((size.bit_length() - 1, start >> (size.bit_length() - 1)))
    split = start + largest_power_of_two_below(size)
    return node_hash(range_hash(start, split, lookup), range_hash(split, end, lookup))


def _in_memory_lookup(leaf_hashes: Sequence[bytes]) -> Callable[[NodeId], bytes]:
    def lookup(node: NodeId) -> bytes:
        level, index = node
        return root_hash(leaf_hashes[index << level : (index + 1) << level])

    return lookup


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) over leaves held in memory."""
    lookup = _in_memory_lookup(leaf_hashes[:size])
    return [range_hash(start, end, lookup) for start, end in inclusion_ranges(index, size)]


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) over leaves held in memory."""
    lookup = _in_memory_lookup(leaf_hashes[:second])
    return [range_hash(start, end, lookup) for start, end in consistency_ranges(first, second)]


def _well_formed(*hashes: bytes) -> bool:
    return all(len(item) == HASH_SIZE for item in hashes)


def _shift_while_even(first: int, second: int) -> tuple[int, int]:
    while first and not first & 1:
        first >>= 1
        second >>= 1
    return first, second


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size or not _well_formed(leaf, root, *proof):
        return False
    fn, sn = index, size - 1
    current = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            fn, sn = _shift_while_even(fn, sn)
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and current == root


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``first_root`` a prefix of the tree ``second_root``?

    The empty tree is a prefix of every tree, so ``first == 0`` needs an empty proof only.
    """
    if not 0 <= first <= second or not _well_formed(*proof):
        return False
    if first == 0:
        return not proof
    if not _well_formed(first_root, second_root):
        return False
    if first == second:
        return not proof and first_root == second_root
    return bool(proof) and _fold_consistency(first, second, proof, first_root, second_root)


def _fold_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = _shift_while_odd(first - 1, second - 1)
    first_hash = second_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_hash = node_hash(node, first_hash)
            second_hash = node_hash(node, second_hash)
            fn, sn = _shift_while_even(fn, sn)
        else:
            second_hash = node_hash(second_hash, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_hash == first_root and second_hash == second_root


def _shift_while_odd(first: int, second: int) -> tuple[int, int]:
    while first & 1:
        first >>= 1
        second >>= 1
    return first, second
