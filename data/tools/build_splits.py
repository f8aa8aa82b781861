"""Assemble data/stance/{train,dev,test}.jsonl from candidates, labels and adjudications.

    python data/tools/build_splits.py

Labels come from the first annotator (`*.a1.jsonl`); `data/annotation/adjudicated.jsonl`
overrides them where the agreement study or a review changed a label. Rows an annotator marked
as not a sentence (tag lists, link lines, garbled text) are left out, and of two
near-identical sentences in different splits the train (or dev) copy is dropped, so the
evaluation sets stay intact.
"""

from __future__ import annotations

import glob
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from train.data_check import near_duplicates  # noqa: E402

ANNOTATION = ROOT / "data" / "annotation"
OUT = ROOT / "data" / "stance"
UNUSABLE = re.compile(r"tag words|not a sentence|garbled|link line|list of|contact|unusable"
                      r"|not arabic|navigation", re.I)
SPLIT_ORDER = {"test": 0, "dev": 1, "train": 2}


def read(pattern: str) -> dict[str, dict]:
    rows = {}
    for path in sorted(glob.glob(str(ANNOTATION / pattern))):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                rows[row["id"]] = row
    return rows


def main() -> None:
    pool = {**read("pool/*.jsonl"), **read("pool2/*.jsonl")}
    labels = {**read("labels/*.a1.jsonl"), **read("labels2/*.a1.jsonl")}
    final = {**labels, **read("adjudicated.jsonl")}
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
        source = "seed" if cand["doc_id"] == "seed" else f"saudinewsnet/{cand['source']}"
        row = {"id": rid, "text": cand["text"], "stance": label["stance"],
               "sentiment": label["sentiment"], "source": source, "doc_id": cand["doc_id"],
               "date": cand["date"], "url": cand["url"],
               "annotator": label.get("annotator", "a1")}
        if label.get("note"):
            row["note"] = label["note"]
        rows.append((cand["split"], row))
    # Near-duplicates across splits: keep the copy in the evaluation split.
    rows.sort(key=lambda r: SPLIT_ORDER[r[0]])
    drop = set()
    for i, j, _ in near_duplicates([r["text"] for _, r in rows], [s for s, _ in rows]):
        drop.add(j if SPLIT_ORDER[rows[j][0]] >= SPLIT_ORDER[rows[i][0]] else i)
    dropped["near-duplicate"] = len(drop)
    OUT.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        chosen = sorted((r for k, (s, r) in enumerate(rows) if s == split and k not in drop),
                        key=lambda r: r["id"])
        with (OUT / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            for row in chosen:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{split}: {len(chosen)}")
    print("dropped:", dropped)


if __name__ == "__main__":
    main()
