"""Fuzzy linkage benchmark: precision, recall and F1 at the default threshold, and encoding rate.

    python bench/linkage_bench.py [--people 20000] [--seed 7] [--threshold 0.80]

The population and its corruption model are those of ``bench/synthetic_people.py``. Pairs are
generated exactly as the gateway generates candidates (records sharing a blocking key), so a
true pair that blocking never brings together counts against recall. A pair is predicted to be
the same person when its Dice similarity reaches the threshold.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_people import Record, population

from gateway.identity.interfaces import Identifiers
from gateway.linkage.encoding import DEFAULT_THRESHOLD, BloomEncoder, Encoding, dice

SWEEP = (0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90)


def encode_all(records: list[Record]) -> tuple[list[Encoding], float]:
    encoder = BloomEncoder(secrets.token_bytes(32))
    identities = [Identifiers(**r.identifiers) for r in records]  # type: ignore[typeddict-item]
    started = time.perf_counter()
    encodings = [encoder.encode(i) for i in identities]
    elapsed = time.perf_counter() - started
    assert all(e is not None for e in encodings)
    return [e for e in encodings if e is not None], len(records) / elapsed


def candidate_scores(encodings: list[Encoding]) -> dict[tuple[int, int], float]:
    buckets: dict[str, list[int]] = defaultdict(list)
    for index, encoding in enumerate(encodings):
        for key in encoding.blocks:
            buckets[key].append(index)
    scores: dict[tuple[int, int], float] = {}
    for members in buckets.values():
        for pair in combinations(members, 2):
            if pair not in scores:
                scores[pair] = dice(encodings[pair[0]].bloom, encodings[pair[1]].bloom)
    return scores


def report(records: list[Record], scores: dict[tuple[int, int], float], threshold: float,
           true_pairs: int) -> tuple[float, float, float]:
    predicted = [pair for pair, score in scores.items() if score >= threshold]
    correct = sum(records[a].person == records[b].person for a, b in predicted)
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / true_pairs
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    arguments = parser.parse_args()
    records = population(arguments.people, arguments.seed)
    encodings, rate = encode_all(records)
    started = time.perf_counter()
    scores = candidate_scores(encodings)
    compare_seconds = time.perf_counter() - started
    true_pairs = arguments.people
    blocked = sum(records[a].person == records[b].person for a, b in scores)
    print(f"records {len(records):,} ({arguments.people:,} persons, one corrupted duplicate each)")
    print(f"encoding rate           {rate:>12,.0f} identities/s")
    print(f"candidate pairs scored  {len(scores):>12,}  in {compare_seconds:.2f} s "
          f"(all pairs: {len(records) * (len(records) - 1) // 2:,})")
    print(f"blocking recall         {blocked / true_pairs:>12.4f}")
    print("threshold  precision  recall   F1")
    for threshold in sorted({*SWEEP, arguments.threshold}):
        precision, recall, f1 = report(records, scores, threshold, true_pairs)
        marker = "  <- default" if threshold == arguments.threshold else ""
        print(f"{threshold:9.2f}  {precision:9.4f}  {recall:6.4f}  {f1:6.4f}{marker}")


if __name__ == "__main__":
    main()
