"""Round 4: held-out evaluation sets from other outlets and years (Al Mayadeen 2023-24, Arabic
Newspapers 2011-13), drawn at random, and the agreement sample.

    python data/tools/sample_outlets.py --out data/annotation/pool4

Articles are assigned to train / dev / test by a hash of their id before any sentence is read,
so no article spans two splits. The out-of-domain dev and test sets are drawn **at random**
among the sentences of dev and test articles: a share naming an actor and a share naming none
(the actor regex only stratifies the draw, it assigns no label and no model is involved), so
their F1 estimates what a user gets on such text. Training candidates from the train articles
are chosen separately, with the model in the loop (`rank_candidates.py`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from corpus import OUTLETS, outlet_articles, sentences
from sample_candidates import ACTOR_HINTS, dedup_key

# The 2015 hints plus the names of 2016-2024 (leaders, ministers, spokesmen).
MODERN_HINTS = {
    "iraq": ACTOR_HINTS["iraq"] + r"|الكاظمي|شياع السوداني|الحلبوسي|فؤاد حسين|عبد المهدي"
    r"|الحكومة العراقية|رئيس الوزراء العراقي",
    "iran": ACTOR_HINTS["iran"] + r"|إبراهيم رئيسي|الرئيس رئيسي|السيد رئيسي|عبد اللهيان|عبداللهيان"
    r"|أمير عبد اللهيان|بزشكيان|كنعاني|باقري|قاآني|الجمهورية الإسلامية",
    "us": ACTOR_HINTS["us"] + r"|بايدن|ترامب|بلينكن|أوستن|سوليفان|كيربي|ميلر|هوكستين|ليندركينغ"
    r"|سنتكوم|القيادة المركزية",
}
ACTORS = {k: re.compile(v) for k, v in MODERN_HINTS.items()}
# Per source: percent of articles in (dev, test); the rest is train. Arabic Newspapers has 474
# articles, so its held-out shares are larger to reach its quota of evaluation sentences.
SHARES = {"almayadeen": (10, 15), "arabic-newspapers": (17, 35)}
QUOTA = {("almayadeen", "test"): 1250, ("almayadeen", "dev"): 500,
         ("arabic-newspapers", "test"): 400, ("arabic-newspapers", "dev"): 200}
NO_ACTOR_SHARE = 0.2
AGREEMENT_SHARE = 0.1
BATCH = 300


def split_of(name: str, doc: str) -> str:
    dev, test = SHARES[name]
    bucket = int(hashlib.sha1(doc.encode()).hexdigest(), 16) % 100
    return "dev" if bucket < dev else "test" if bucket < dev + test else "train"


def names_actor(text: str) -> bool:
    return any(rx.search(text) for rx in ACTORS.values())


def outlet_sentences(name: str) -> Iterator[dict]:
    """Every usable, de-duplicated sentence of a source with its article's split."""
    seen: set[str] = set()
    for article in outlet_articles(name):
        split = split_of(name, article["doc_id"])
        for text in sentences(article):
            key = dedup_key(text)
            if key in seen:
                continue
            seen.add(key)
            row = {k: article[k] for k in ("doc_id", "date", "url", "source")}
            yield {**row, "text": text, "split": split, "actor": names_actor(text)}


def draw(pool: list[dict], n: int, rng: random.Random) -> list[dict]:
    """`n` rows at random: (1 - NO_ACTOR_SHARE) naming an actor, the rest naming none."""
    named = [r for r in pool if r["actor"]]
    unnamed = [r for r in pool if not r["actor"]]
    k = round(n * NO_ACTOR_SHARE)
    return rng.sample(named, min(n - k, len(named))) + rng.sample(unnamed, k)


def write_batches(rows: list[dict], folder: Path, first: int, size: int = BATCH) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(0, len(rows), size):
        with (folder / f"batch_{first + b // size:02d}.jsonl").open("w", encoding="utf-8") as f:
            for row in rows[b : b + size]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("data/annotation/pool4"))
    parser.add_argument("--seed", type=int, default=41)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    chosen = []
    for name in OUTLETS:
        pools = defaultdict(list)
        for row in outlet_sentences(name):
            pools[row["split"]].append(row)
        print(name, {s: (len(p), sum(r["actor"] for r in p)) for s, p in pools.items()},
              "(sentences, naming an actor)")
        for split in ("test", "dev"):
            chosen += draw(pools[split], QUOTA[(name, split)], rng)
    rng.shuffle(chosen)
    for i, row in enumerate(chosen):
        row["id"] = f"ood-{i:05d}"
        del row["actor"]
    rows = [{"id": r.pop("id"), **r} for r in chosen]
    write_batches(rows, args.out, first=40)
    # A random 10% of each source's held-out sentences, labelled again independently.
    by_source = defaultdict(list)
    for row in rows:
        by_source[row["source"].split("/")[0]].append(row)
    again = [r for rs in by_source.values()
             for r in rng.sample(rs, round(len(rs) * AGREEMENT_SHARE))]
    rng.shuffle(again)
    folder = args.out.parent / "agreement4"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "sample.jsonl").open("w", encoding="utf-8") as f:
        for row in again:
            f.write(json.dumps({k: row[k] for k in ("id", "text", "url", "source")},
                               ensure_ascii=False) + "\n")
    print(f"{len(rows)} held-out candidates in {args.out}, {len(again)} for agreement in {folder}")


if __name__ == "__main__":
    main()
