"""Cohen's kappa between the first annotator and the independent second one.

    python data/tools/agreement.py

Reads the second annotator's files (data/annotation/agreement/sample_*.a2.jsonl), compares them
with the first labels, prints kappa per actor and for sentiment, and writes the disagreements to
data/annotation/agreement/disagreements.jsonl for adjudication.
"""

from __future__ import annotations

import json

from build_splits import ANNOTATION, read
from sklearn.metrics import cohen_kappa_score

FOLDER = ANNOTATION / "agreement"
HEADS = ("iraq", "iran", "us", "sentiment")


def value(row: dict, head: str) -> str:
    return row["sentiment"] if head == "sentiment" else row["stance"][head]


def main() -> None:
    first = read("labels*/*.a1.jsonl")
    second = read("agreement/sample_*.a2.jsonl")
    texts = read("agreement/sample_[0-9].jsonl")
    ids = sorted(second)
    print(f"{len(ids)} sentences annotated twice")
    print(f"{'head':<10}{'kappa':>8}{'agree':>8}")
    for head in HEADS:
        a = [value(first[i], head) for i in ids]
        b = [value(second[i], head) for i in ids]
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
        print(f"{head:<10}{cohen_kappa_score(a, b):>8.3f}{agree:>8.1%}")
    with (FOLDER / "disagreements.jsonl").open("w", encoding="utf-8") as f:
        for i in ids:
            diff = [h for h in HEADS if value(first[i], h) != value(second[i], h)]
            if diff:
                row = {"id": i, "text": texts[i]["text"], "heads": diff,
                       "a1": {h: value(first[i], h) for h in diff},
                       "a2": {h: value(second[i], h) for h in diff},
                       "a2_note": second[i].get("note", "")}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
