"""Second-round candidates for the rare stance cells (Iraq's three stances, Iran supportive).

Round one (sample_candidates.py) left these cells short of the corpus targets. Regexes here
pair an actor with cues of the missing stance; as in round one they only choose what
annotators read. Articles already used keep their split; new articles are split by hash with
a larger test share, so the test set reaches the per-cell minimum (see data/README.md).

    python data/tools/sample_targeted.py --out data/annotation/pool2
    python data/tools/sample_targeted.py --out data/annotation/pool3 --only iraq_sup_wide \
        iran_sup --quota 260 --test-share 45 --prefix snn3 --first-batch 30 \
        --previous "data/annotation/pool*/*.jsonl"
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from corpus import articles, sentences
from sample_candidates import dedup_key

IRAQ = r"العراق|العراقي|العراقية|بغداد|العبادي|الجعفري|معصوم|أربيل|كردستان|البارزاني|الحشد الشعبي" \
    r"|المالكي|البرلمان العراقي|مجلس النواب"
IRAN = r"إيران|ايران|الإيراني|طهران|روحاني|خامنئي|ظريف|الحرس الثوري|سليماني"
TARGETS = {
    "iraq_deesc": (IRAQ, r"إصلاح|الإصلاحات|المتظاهرين|مطالب|الحوار|التهدئة|حل سياسي|المصالحة"
                   r"|وساطة|يدعو|دعا|تخفيف|إلغاء|انسحاب|تسوية|التفاوض"),
    "iraq_esc": (IRAQ, r"اتهم|يتهم|استدع|هاجم|يهاجم|تهدد|هدد|توعد|قمع|اعتقال|طرد|حظر|يرفض|رفض"
                 r"|انسحاب القوات|الحشد الشعبي|انتهاكات|تصعيد|إعدام|قصف|غارات"),
    "iraq_sup": (IRAQ, r"دعم|يدعم|تأييد|يؤيد|ترحيب|رحب|يرحب|تضامن|تعاون|اتفاقية|مذكرة تفاهم|تقف"
                 r"|مساعدات|أشاد|شكر|التنسيق"),
    # Round three: wider cues for Iraq backing others (solidarity, condolences, welcoming).
    "iraq_sup_wide": (IRAQ, r"تعاز|تعزية|يشيد|أشاد|ترحيب|رحب|يرحب|تضامن|يقف|وقوف|مساند|يساند"
                      r"|الاتفاق|شكر|يهنئ|هنأ|تهنئة|دعم|يدعم|مساعد|التعاون|اتفاق"),
    "iran_sup": (IRAN, r"دعم|يدعم|تأييد|يؤيد|ترحيب|رحب|يرحب|تضامن|تعاون|اتفاقية|مذكرة تفاهم"
                 r"|مساعدات|أشاد|حليف|الأسد|النظام السوري|التنسيق"),
}
QUOTA = {"iraq_deesc": 260, "iraq_esc": 300, "iraq_sup": 260, "iran_sup": 220,
         "iraq_sup_wide": 0}
PER_DOC_CAP = 2


def split_of_new(doc: str, test_share: int) -> str:
    bucket = int(hashlib.sha1(doc.encode()).hexdigest(), 16) % 100
    return "dev" if bucket < 10 else "test" if bucket < 10 + test_share else "train"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("data/annotation/pool2"))
    parser.add_argument("--previous", default="data/annotation/pool/*.jsonl")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--only", nargs="*", help="target names to sample (default: all)")
    parser.add_argument("--quota", type=int, help="candidates per target (default: QUOTA)")
    parser.add_argument("--test-share", type=int, default=32, help="percent of new articles")
    parser.add_argument("--prefix", default="snn2")
    parser.add_argument("--first-batch", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seen, split_by_doc = set(), {}
    for path in glob.glob(args.previous):
        with open(path, encoding="utf-8") as f:
            for row in map(json.loads, f):
                seen.add(dedup_key(row["text"]))
                split_by_doc[row["doc_id"]] = row["split"]
    names = args.only or list(TARGETS)
    rules = {k: (re.compile(a), re.compile(c)) for k, (a, c) in TARGETS.items() if k in names}
    quota = {k: args.quota or QUOTA[k] for k in names}
    pools: dict[str, list[dict]] = defaultdict(list)
    for article in articles():
        for text in sentences(article, max_words=70):
            key = dedup_key(text)
            if key in seen:
                continue
            for name, (actor, cue) in rules.items():
                if actor.search(text) and cue.search(text):
                    seen.add(key)
                    split = (split_by_doc.get(article["doc_id"])
                             or split_of_new(article["doc_id"], args.test_share))
                    row = {k: article[k] for k in ("doc_id", "date", "url", "source")}
                    pools[name].append({**row, "text": text, "split": split, "target": name})
                    break
    chosen = []
    for name, rows in pools.items():
        rng.shuffle(rows)
        per_doc: dict[str, int] = defaultdict(int)
        picked = []
        for row in rows:
            if len(picked) == quota[name]:
                break
            if per_doc[row["doc_id"]] < PER_DOC_CAP:
                per_doc[row["doc_id"]] += 1
                picked.append(row)
        print(f"{name}: {len(rows)} candidates, {len(picked)} picked")
        chosen += picked
    rng.shuffle(chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    for b in range(0, len(chosen), 260):
        path = args.out / f"batch_{b // 260 + args.first_batch:02d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for i, row in enumerate(chosen[b : b + 260], start=b):
                row = {"id": f"{args.prefix}-{i:05d}", **row}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(len(chosen), "candidates written to", args.out)


if __name__ == "__main__":
    main()
