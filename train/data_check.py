"""Validate the labelled corpus and print its counts.

    python -m train.data_check data/stance

Fails (exit 1) on anything that would corrupt training or evaluation: schema errors, unknown
values, repeated ids, an article (doc_id) in two splits, near-duplicate sentences across splits,
synthetic text outside train. Corpus targets (sizes, cell counts) are printed as checks.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer

from infer.labels import (
    SENTIMENT_VALUES,
    STANCE_CELLS,
    STANCE_VALUES,
    LabelError,
    LabelSchema,
    read_records,
)
from infer.text import Normalizer

SPLITS = ("train", "dev", "test")
NEAR_DUPLICATE = 0.9  # cosine of character n-gram TF-IDF vectors


def near_duplicates(texts: list[str], owners: list[str]) -> list[tuple[int, int, float]]:
    """Pairs of rows from different owners (splits) whose texts are nearly the same."""
    clean = Normalizer(strip_diacritics=True, unify_alef=True, unify_ya=True)
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(
        [clean(t) for t in texts]
    )
    similar = (vectors @ vectors.T).tocoo()
    return [
        (i, j, float(s)) for i, j, s in zip(similar.row, similar.col, similar.data, strict=True)
        if i < j and s >= NEAR_DUPLICATE and owners[i] != owners[j]
    ]


def check(folder: Path, actors: tuple[str, ...]) -> list[str]:
    """Print the tables; return the list of hard errors."""
    schema = LabelSchema.stance(actors)
    errors: list[str] = []
    data: dict[str, list[dict]] = {}
    for split in SPLITS:
        path = folder / f"{split}.jsonl"
        try:
            data[split] = read_records(path, schema)
        except (LabelError, OSError) as e:
            errors.append(str(e))
    if errors:
        return errors

    ids, docs = {}, {}
    for split, records in data.items():
        for r in records:
            if r["id"] in ids:
                errors.append(f"id {r['id']!r} is in both {ids[r['id']]} and {split}")
            ids[r["id"]] = split
            doc = r.get("doc_id")
            if doc and docs.setdefault(doc, split) != split:
                errors.append(f"doc_id {doc!r} is in both {docs[doc]} and {split}")
            if r.get("source") == "synthetic" and split != "train":
                errors.append(f"{split}: {r['id']} is synthetic; dev and test must be real text")
    rows = [(s, r) for s, records in data.items() for r in records]
    for i, j, sim in near_duplicates([r["text"] for _, r in rows], [s for s, _ in rows]):
        errors.append(f"near-duplicates across splits ({sim:.2f}): {rows[i][1]['id']} "
                      f"({rows[i][0]}) and {rows[j][1]['id']} ({rows[j][0]})")

    print_counts(data, actors)
    print_targets(data, actors)
    return errors


def print_counts(data: dict[str, list[dict]], actors: tuple[str, ...]) -> None:
    print(f"{'':<24}" + "".join(f"{s:>8}" for s in SPLITS) + f"{'all':>8}")
    def line(name: str, counts: list[int]) -> None:
        print(f"{name:<24}" + "".join(f"{c:>8}" for c in counts) + f"{sum(counts):>8}")
    line("sentences", [len(data[s]) for s in SPLITS])
    for actor in actors:
        for value in STANCE_VALUES:
            line(f"{actor}:{value}", [sum(r["stance"][actor] == value for r in data[s])
                                      for s in SPLITS])
    for value in SENTIMENT_VALUES:
        line(f"sentiment:{value}", [sum(r["sentiment"] == value for r in data[s]) for s in SPLITS])
    line("no actor mentioned", [sum(all(v == "absent" for v in r["stance"].values())
                                    for r in data[s]) for s in SPLITS])
    line("synthetic", [sum(r.get("source") == "synthetic" for r in data[s]) for s in SPLITS])
    sources = Counter(r.get("source", "?") for s in SPLITS for r in data[s])
    print("sources:", dict(sources.most_common()))


def print_targets(data: dict[str, list[dict]], actors: tuple[str, ...]) -> None:
    n = {s: len(data[s]) for s in SPLITS}
    none = sum(all(v == "absent" for v in r["stance"].values()) for s in SPLITS for r in data[s])
    synthetic = sum(r.get("source") == "synthetic" for r in data["train"])
    targets = [
        ("at least 3,000 sentences", sum(n.values()) >= 3000),
        ("dev >= 400", n["dev"] >= 400),
        ("test >= 500", n["test"] >= 500),
        ("no-actor sentences >= 15%", none >= 0.15 * sum(n.values())),
        ("synthetic <= 20% of train", synthetic <= 0.2 * n["train"]),
    ]
    for actor in actors:
        for cell in STANCE_CELLS:
            tr = sum(r["stance"][actor] == cell for r in data["train"])
            te = sum(r["stance"][actor] == cell for r in data["test"])
            targets.append((f"{actor}:{cell} train {tr} >= 50, test {te} >= 15",
                            tr >= 50 and te >= 15))
    print("\ntargets:")
    for name, ok in targets:
        print(f"  [{'ok' if ok else 'SHORT'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.data_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=Path("data/stance"))
    parser.add_argument("--actors", nargs="+", default=["iraq", "iran", "us"])
    args = parser.parse_args(argv)
    errors = check(args.folder, tuple(args.actors))
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print("data-check:", "FAILED" if errors else "passed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
