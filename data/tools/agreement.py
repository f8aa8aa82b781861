"""Cohen's kappa between the first annotator and the independent second one, per source.

    python data/tools/agreement.py                 # round 4: other outlets (agreement4/)
    python data/tools/agreement.py --round 1       # rounds 1-3: SaudiNewsNet (agreement/)

Reads the second annotator's labels, compares them with the first labels, prints kappa and raw
agreement per actor and for sentiment, for each source and overall, and writes the
disagreements (`disagreements.jsonl` beside the sample) for adjudication.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

from build_splits import ANNOTATION, OUTLETS, read
from sklearn.metrics import cohen_kappa_score

HEADS = ("iraq", "iran", "us", "sentiment")
ROUNDS = {  # first labels, second labels, sample texts, folder
    "1": ("labels*/*.a1.jsonl", "agreement/sample_*.a2.jsonl", "agreement/sample_[0-9].jsonl",
          "agreement"),
    "4": ("labels4/*.a1.jsonl", "agreement4/sample.a2.jsonl", "agreement4/sample.jsonl",
          "agreement4"),
}


def value(row: dict, head: str) -> str:
    return row["sentiment"] if head == "sentiment" else row["stance"][head]


def table(ids: list[str], first: dict, second: dict) -> list[tuple[str, float, float]]:
    """(head, kappa, raw agreement) for each head over `ids`."""
    rows = []
    for head in HEADS:
        a = [value(first[i], head) for i in ids]
        b = [value(second[i], head) for i in ids]
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
        rows.append((head, cohen_kappa_score(a, b), agree))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--round", choices=sorted(ROUNDS), default="4")
    args = parser.parse_args()
    first_glob, second_glob, texts_glob, folder = ROUNDS[args.round]
    first, second, texts = read(first_glob), read(second_glob), read(texts_glob)
    ids = sorted(i for i in second if i in first)
    by_source = defaultdict(list)
    for i in ids:
        source = texts[i].get("source", "")
        by_source[source.split("/")[0] if source.startswith(OUTLETS) else "saudinewsnet"].append(i)
    groups = {**by_source, "all": ids} if len(by_source) > 1 else {"all": ids}
    print(f"{len(ids)} sentences annotated twice")
    print(f"{'source':<20}{'n':>5}{'head':>11}{'kappa':>8}{'agree':>8}")
    for source, group in groups.items():
        for head, kappa, agree in table(group, first, second):
            print(f"{source:<20}{len(group):>5}{head:>11}{kappa:>8.3f}{agree:>8.1%}")
    with (ANNOTATION / folder / "disagreements.jsonl").open("w", encoding="utf-8") as f:
        for i in ids:
            diff = [h for h in HEADS if value(first[i], h) != value(second[i], h)]
            if diff:
                row = {"id": i, "text": texts[i]["text"], "heads": diff,
                       "a1": {h: value(first[i], h) for h in diff},
                       "a2": {h: value(second[i], h) for h in diff},
                       "a1_note": first[i].get("note", ""), "a2_note": second[i].get("note", "")}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
