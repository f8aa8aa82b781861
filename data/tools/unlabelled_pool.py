"""Unlabelled sentences of the three shared corpora for self-training (`python -m
train.self_training`), none from an evaluation article.

    PYTHONPATH=.:data/tools python data/tools/unlabelled_pool.py [--n 30000] \
        [--out data/unlabelled/pool.jsonl]

Kept: sentences of SaudiNewsNet articles with no sentence in dev or test, and of Al Mayadeen and
Arabic Newspapers articles hashed to train (`sample_outlets.split_of`); dropped: any sentence
whose letters match a labelled sentence of any split (wire copies repeat across articles, and a
copy of a test sentence would leak it). A random `--n` of them, 80% naming an actor (the
regex only stratifies the draw). The file is generated, not committed (about 10 MB).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from corpus import OUTLETS, articles, outlet_articles, sentences
from sample_candidates import dedup_key
from sample_outlets import NO_ACTOR_SHARE, draw, names_actor, split_of

LABELLED = Path("data/stance")
EVAL_SPLITS = ("dev", "test", "dev_ood", "test_ood")


def labelled() -> tuple[set[str], set[str]]:
    """doc_ids of evaluation articles, and the dedup keys of every labelled sentence."""
    eval_docs, keys = set(), set()
    for path in sorted(LABELLED.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            keys.add(dedup_key(record["text"]))
            if path.stem in EVAL_SPLITS:
                eval_docs.add(record.get("doc_id"))
    return eval_docs, keys


def candidates(eval_docs: set[str], keys: set[str], limit: int | None) -> list[dict]:
    """Every usable, unlabelled, de-duplicated sentence of a training-side article."""
    sources = [("saudinewsnet", articles())] + [(name, outlet_articles(name)) for name in OUTLETS]
    seen, rows = set(keys), []
    for name, stream in sources:
        for n, article in enumerate(stream):
            if limit is not None and n >= limit:
                break
            if article["doc_id"] in eval_docs or (
                    name != "saudinewsnet" and split_of(name, article["doc_id"]) != "train"):
                continue
            for text in sentences(article):
                key = dedup_key(text)
                if key not in seen:
                    seen.add(key)
                    rows.append({"text": text, "source": article["source"],
                                 "doc_id": article["doc_id"], "actor": names_actor(text)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--out", type=Path, default=Path("data/unlabelled/pool.jsonl"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, help="articles per corpus (a quick look)")
    args = parser.parse_args()
    rows = candidates(*labelled(), args.limit)
    named = sum(r["actor"] for r in rows)
    print(f"{len(rows)} unlabelled sentences ({named} naming an actor)")
    n = min(args.n, named + round(args.n * NO_ACTOR_SHARE))
    chosen = draw(rows, n, random.Random(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for i, row in enumerate(chosen):
            del row["actor"]
            f.write(json.dumps({"id": f"unl-{i:06d}", **row}, ensure_ascii=False) + "\n")
    print(f"{len(chosen)} sentences -> {args.out}")


if __name__ == "__main__":
    main()
