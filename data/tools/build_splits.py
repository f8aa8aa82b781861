"""Assemble data/stance/*.jsonl from candidates, labels and adjudications.

    python data/tools/build_splits.py

Splits: `train`; `dev` and `test` (in domain: SaudiNewsNet and the founding article); and
`dev_ood` and `test_ood` (out of domain: the dev and test articles of Al Mayadeen and Arabic
Newspapers, sentences drawn at random, never trained on). Labels come from the first annotator
(`*.a1.jsonl`); the review passes (`review.jsonl`: systematic error patterns of rounds 1-3;
`review4/*.review.jsonl`: round-4 labels re-read under GUIDELINES §12) and then the agreement
studies' adjudications (`adjudicated*.jsonl`) override them. Rows an annotator
marked as not a sentence (tag lists, link lines, garbled text) are left out, and of two
near-identical sentences in different splits the copy in the later split of SPLIT_ORDER is
dropped, so the evaluation sets stay intact.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from train.data_check import ROUND_4, near_duplicates  # noqa: E402

ANNOTATION = ROOT / "data" / "annotation"
# "pool*" also matches pool2 and pool3, the targeted rounds for rare cells.
OUT = ROOT / "data" / "stance"
UNUSABLE = re.compile(r"tag words|not a sentence|garbled|link line|list of|contact|unusable"
                      r"|not arabic|navigation", re.I)
SPLIT_ORDER = {"test": 0, "test_ood": 1, "dev": 2, "dev_ood": 3, "train": 4}
OUTLETS = ("almayadeen", "arabic-newspapers")
TEST_MINIMUM = 15


def read(pattern: str) -> dict[str, dict]:
    """Rows by id from every JSONL file matching `pattern` under data/annotation/."""
    rows = {}
    for path in sorted(glob.glob(str(ANNOTATION / pattern))):
        with open(path, encoding="utf-8") as f:
            rows.update({row["id"]: row for row in map(json.loads, filter(str.strip, f))})
    return rows


def move_rare_cells_to_test(rows: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Move whole train articles into test until every stance cell has TEST_MINIMUM examples.

    Real 2015 Saudi press has very few sentences of Iraq or Iran *backing* another party, so
    after three targeted rounds two test cells stayed short. Moving whole articles keeps
    splits disjoint by doc_id; synthetic rows never move (test stays real text).
    """
    def test_count(actor: str, cell: str) -> int:
        return sum(s == "test" and r["stance"][actor] == cell for s, r in rows)

    split_of_doc = {r["doc_id"]: s for s, r in rows}
    for actor in ("iraq", "iran", "us"):
        for cell in ("escalatory", "deescalatory", "supportive"):
            docs = sorted({r["doc_id"] for s, r in rows if s == "train"
                           and r["stance"][actor] == cell and r["source"] != "synthetic"
                           and not r["id"].startswith(ROUND_4)},
                          key=lambda d: hashlib.sha1(d.encode()).hexdigest())
            while test_count(actor, cell) < TEST_MINIMUM and docs:
                doc = docs.pop(0)
                split_of_doc[doc] = "test"
                rows = [(split_of_doc[r["doc_id"]], r) for _, r in rows]
                print(f"moved {doc} to test for {actor}:{cell}")
    return rows


def main() -> None:
    pool = read("pool*/*.jsonl")
    labels = read("labels*/*.a1.jsonl")
    # Later sources win: the review pass over systematic patterns, then the adjudication.
    final = {**labels, **read("review.jsonl"), **read("review4/*.review.jsonl"),
             **read("adjudicated*.jsonl")}
    rows, dropped = [], {"unlabelled": 0, "unusable": 0, "near-duplicate": 0}
    for rid, cand in pool.items():
        label = final.get(rid)
        if label is None:
            dropped["unlabelled"] += 1
            continue
        note = labels.get(rid, {}).get("note", "")
        if UNUSABLE.search(note):
            dropped["unusable"] += 1
            continue
        source = cand["source"]
        if cand["doc_id"] == "seed":
            source = "seed"
        elif not source.startswith((*OUTLETS, "saudinewsnet/")):
            source = f"saudinewsnet/{source}"  # rounds 1-3 wrote the outlet alone
        split = cand["split"]
        if source.startswith(OUTLETS) and split != "train":
            split += "_ood"
        row = {"id": rid, "text": cand["text"], "stance": label["stance"],
               "sentiment": label["sentiment"], "source": source, "doc_id": cand["doc_id"],
               "date": cand["date"], "url": cand["url"],
               "annotator": label.get("annotator", "a1")}
        if label.get("note"):
            row["note"] = label["note"]
        rows.append((split, row))
    synthetic = ROOT / "data" / "stance" / "synthetic" / "train_synthetic.jsonl"
    if synthetic.is_file():  # written and labelled by hand for rare cells; train only
        with open(synthetic, encoding="utf-8") as f:
            rows += [("train", json.loads(line)) for line in f if line.strip()]
    # The moves were decided on rounds 1-3: round 4 must not change them. A round-4 sentence
    # drawn from a train article that rounds 1-3 moved to test is dropped, not moved.
    old = move_rare_cells_to_test([(s, r) for s, r in rows if not r["id"].startswith(ROUND_4)])
    moved = {r["doc_id"] for s, r in old if s == "test"}
    new = [(s, r) for s, r in rows if r["id"].startswith(ROUND_4)]
    dropped["in a moved article"] = sum(s == "train" and r["doc_id"] in moved for s, r in new)
    rows = old + [(s, r) for s, r in new if not (s == "train" and r["doc_id"] in moved)]
    # Near-duplicates across splits: keep the copy in the evaluation split.
    rows.sort(key=lambda r: SPLIT_ORDER[r[0]])
    drop = set()
    for i, j, _ in near_duplicates([r["text"] for _, r in rows], [s for s, _ in rows]):
        drop.add(j if SPLIT_ORDER[rows[j][0]] >= SPLIT_ORDER[rows[i][0]] else i)
    dropped["near-duplicate"] = len(drop)
    OUT.mkdir(parents=True, exist_ok=True)
    for split in SPLIT_ORDER:
        chosen = sorted((r for k, (s, r) in enumerate(rows) if s == split and k not in drop),
                        key=lambda r: r["id"])
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            for row in chosen:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{split}: {len(chosen)}")
    print("dropped:", dropped)


if __name__ == "__main__":
    main()
