"""Validate the labelled corpus and print its counts, per split and per source.

    python -m train.data_check data/stance

Splits: train, dev, test (in domain) and, where present, dev_ood and test_ood (other outlets
and years, never trained on). Fails (exit 1) on anything that would corrupt training or
evaluation: schema errors, unknown values, repeated ids, an article (doc_id) in two splits,
near-duplicate sentences across splits, synthetic text outside train. Corpus targets (sizes,
cell counts) are printed as checks.
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
OOD_SPLITS = ("dev_ood", "test_ood")  # read when present
ROUND_4 = ("ood-", "r4")  # id prefixes of the sentences labelled in corpus round 2 (round 4)
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
    present = [*SPLITS, *(s for s in OOD_SPLITS if (folder / f"{s}.jsonl").is_file())]
    for split in present:
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


def no_actor(record: dict) -> bool:
    return all(v == "absent" for v in record["stance"].values())


def source_family(record: dict) -> str:
    """`almayadeen`, `arabic-newspapers`, `saudinewsnet`, `seed` or `synthetic`."""
    return record.get("source", "?").split("/")[0]


def print_counts(data: dict[str, list[dict]], actors: tuple[str, ...]) -> None:
    splits = list(data)
    print(f"{'':<24}" + "".join(f"{s:>9}" for s in splits) + f"{'all':>9}")

    def line(name: str, counts: list[int]) -> None:
        print(f"{name:<24}" + "".join(f"{c:>9}" for c in counts) + f"{sum(counts):>9}")

    line("sentences", [len(data[s]) for s in splits])
    for actor in actors:
        for value in STANCE_VALUES:
            line(f"{actor}:{value}", [sum(r["stance"][actor] == value for r in data[s])
                                      for s in splits])
    for value in SENTIMENT_VALUES:
        line(f"sentiment:{value}", [sum(r["sentiment"] == value for r in data[s]) for s in splits])
    line("no actor mentioned", [sum(map(no_actor, data[s])) for s in splits])
    line("synthetic", [sum(r.get("source") == "synthetic" for r in data[s]) for s in splits])
    line("labelled in round 4", [sum(r["id"].startswith(ROUND_4) for r in data[s])
                                 for s in splits])
    print("\nsentences per source:")
    families = Counter(source_family(r) for s in splits for r in data[s])
    for family, _ in families.most_common():
        line(f"  {family}", [sum(source_family(r) == family for r in data[s]) for s in splits])


def print_targets(data: dict[str, list[dict]], actors: tuple[str, ...]) -> None:
    """The corpus targets of the corpus issues, as checks that print (they do not fail)."""
    everything = [r for records in data.values() for r in records]
    new = [r for r in everything if r["id"].startswith(ROUND_4)]
    train = data["train"]
    synthetic = sum(r.get("source") == "synthetic" for r in train)
    by_family = Counter(source_family(r) for r in new)
    test_ood, dev_ood = data.get("test_ood", []), data.get("dev_ood", [])
    targets = [
        (f"at least 11,000 sentences ({len(everything)})", len(everything) >= 11_000),
        (f"at least 6,000 labelled in round 4 ({len(new)})", len(new) >= 6000),
        (f"almayadeen >= 3,500 ({by_family['almayadeen']})", by_family["almayadeen"] >= 3500),
        (f"arabic-newspapers >= 800 ({by_family['arabic-newspapers']})",
         by_family["arabic-newspapers"] >= 800),
        (f"test_ood >= 1,500 ({len(test_ood)})", len(test_ood) >= 1500),
        (f"test_ood no-actor >= 15% ({sum(map(no_actor, test_ood))})",
         sum(map(no_actor, test_ood)) >= 0.15 * max(len(test_ood), 1)),
        (f"dev_ood >= 600 ({len(dev_ood)})", len(dev_ood) >= 600),
        (f"synthetic <= 10% of train ({synthetic})", synthetic <= 0.1 * len(train)),
    ]
    for actor in actors:
        for cell in STANCE_CELLS:
            real = sum(r["stance"][actor] == cell and r.get("source") != "synthetic"
                       for r in train)
            targets.append((f"{actor}:{cell} real train sentences {real} >= 150", real >= 150))
    print("\ntargets:")
    for name, ok in targets:
        print(f"  [{'ok' if ok else 'SHORT'}] {name}")
    if test_ood:
        print("\nout-of-domain test per cell (cells with >= 25 examples read with less noise):")
        cells = [(a, c, sum(r["stance"][a] == c for r in test_ood))
                 for a in actors for c in STANCE_CELLS]
        for actor, cell, n in cells:
            print(f"  {actor}:{cell:<14}{n:>5}{'' if n >= 25 else '   < 25'}")
        print(f"  {sum(n >= 25 for *_, n in cells)} of {len(cells)} cells reach 25 examples")


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
