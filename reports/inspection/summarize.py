"""Print the accuracy and mean probabilities of the `factdyn predict` files in this folder."""

import gzip
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


for population in ("train", "unseen"):
    with gzip.open(HERE / f"quickstart_seed0_step2000_{population}.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    n, correct, values = len(rows), sum(r["correct"] for r in rows), sum(r["is_value"] for r in rows)
    print(
        f"{population}: {correct}/{n} correct; answers that are a value of the attribute: {values}/{n}; "
        f"mean p_answer {mean([r['p_answer'] for r in rows]):.3f}, "
        f"mean p_truth {mean([r['p_truth'] for r in rows]):.3f}"
    )
    by_attribute = defaultdict(list)
    for r in rows:
        by_attribute[r["attribute"]].append(r)
    for attribute, group in by_attribute.items():
        correct = sum(r["correct"] for r in group)
        p_answer = mean([r["p_answer"] for r in group])
        print(f"  {attribute:17s} {correct:3d}/{len(group)}  mean p_answer {p_answer:.3f}")
