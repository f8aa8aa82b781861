"""Pick candidate sentences from SaudiNewsNet for annotation.

Regexes only *choose* which sentences annotators read (so that rare stances are not drowned in
routine news); they never assign a label. Articles are assigned to train/dev/test by a hash of
their doc_id before sampling, so no article spans two splits, and near-identical sentences
(wire copies printed by several outlets) are collapsed first.

    python data/tools/sample_candidates.py --out data/annotation/pool --seed 13
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from corpus import articles, sentences

ACTOR_HINTS = {
    "iraq": r"العراق|عراقي|بغداد|العبادي|الجعفري|معصوم|أربيل|كردستان|البارزاني|الحشد الشعبي",
    "iran": r"إيران|ايران|إيراني|ايراني|طهران|روحاني|خامنئي|ظريف|الحرس الثوري|فيلق القدس"
    r"|سليماني|الملالي|الفارسي",
    "us": r"الولايات المتحدة|أمريكي|أميركي|امريكي|اميركي|أمريكا|أميركا|واشنطن|أوباما|اوباما"
    r"|كيري|البيت الأبيض|البنتاغون|البنتاجون|الكونغرس|الكونجرس",
}
CUE_HINTS = {
    "esc": r"هجوم|هجمات|قصف|غارة|غارات|تهديد|يهدد|هدد|توعد|ثأر|انتقام|عقوبات|تصعيد|تحريض|تدخل"
    r"|اتهم|يتهم|إرهاب|تسليح|أسلحة|ضرب|عدوان|استدعا|يرفض|رفض|حرب",
    "deesc": r"تهدئة|التوتر|حوار|ضبط النفس|وساطة|مفاوضات|انسحاب|الاتفاق النووي|اتفاق|سلام"
    r"|حل سياسي|الحل السياسي|رفع العقوبات|تخفيف|مصالحة|إصلاحات|الحوار",
    "sup": r"دعم|يدعم|مساعدات|مساعدة|تقف إلى جانب|تعاون|شراكة|إشادة|أشاد|تضامن|تدريب|تسليم"
    r"|صفقة|يؤيد|تأييد|ترحيب|رحب",
}
HARD_NEGATIVE_HINTS = r"البغدادي|السعودية|المملكة|تركيا|روسيا|إسرائيل|الحوثي|داعش|سوريا|اليمن" \
    r"|الدولار|مصر|قطر|الكويت|الإمارات"
ACTORS = {k: re.compile(v) for k, v in ACTOR_HINTS.items()}
CUES = {k: re.compile(v) for k, v in CUE_HINTS.items()}
HARD_NEGATIVE = re.compile(HARD_NEGATIVE_HINTS)
NOT_LETTERS = re.compile(r"[^\u0621-\u064a]")
TARGETS = {"train": 2550, "dev": 500, "test": 620}
NO_ACTOR_SHARE = 0.18
PER_DOC_CAP = 3


def split_of(doc: str) -> str:
    bucket = int(hashlib.sha1(doc.encode()).hexdigest(), 16) % 100
    return "dev" if bucket < 14 else "test" if bucket < 31 else "train"


def dedup_key(text: str) -> str:
    """Letters only, so wire copies differing in punctuation or spacing collide."""
    return NOT_LETTERS.sub("", text.replace("أ", "ا").replace("إ", "ا").replace("ة", "ه"))[:120]


def weight(text: str, actors: list[str]) -> float:
    """Oversample sentences likely to carry a stance, and those naming several actors."""
    cues = [k for k, rx in CUES.items() if rx.search(text)]
    return (1 + 2 * len(cues)) * (1 + len(actors))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("data/annotation/pool"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    seen: set[str] = set()
    pools: dict[tuple[str, str], list[tuple[float, dict]]] = defaultdict(list)
    for article in articles():
        split = split_of(article["doc_id"])
        for text in sentences(article):
            key = dedup_key(text)
            if key in seen:
                continue
            seen.add(key)
            actors = [k for k, rx in ACTORS.items() if rx.search(text)]
            kind = "actor" if actors else "hard" if HARD_NEGATIVE.search(text) else "other"
            row = {k: article[k] for k in ("doc_id", "date", "url", "source")}
            row.update(text=text, split=split)
            # Weighted sampling without replacement: sort by u**(1/w) (Efraimidis-Spirakis).
            w = weight(text, actors) if actors else 1.0
            pools[(split, kind)].append((rng.random() ** (1 / w), row))

    chosen = []
    for split, total in TARGETS.items():
        no_actor = int(total * NO_ACTOR_SHARE)
        hard = no_actor // 2
        quota = {"actor": total - no_actor, "hard": hard, "other": no_actor - hard}
        for kind, n in quota.items():
            per_doc: dict[str, int] = defaultdict(int)
            taken = 0
            for _, row in sorted(pools[(split, kind)], key=lambda p: -p[0]):
                if taken == n:
                    break
                if per_doc[row["doc_id"]] >= PER_DOC_CAP:
                    continue
                per_doc[row["doc_id"]] += 1
                chosen.append(row)
                taken += 1
    rng.shuffle(chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    batch_size = 300
    for b in range(0, len(chosen), batch_size):
        batch = chosen[b : b + batch_size]
        path = args.out / f"batch_{b // batch_size:02d}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for i, row in enumerate(batch, start=b):
                row = {"id": f"snn-{i:05d}", **row}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(chosen)} candidates in {args.out}")


if __name__ == "__main__":
    main()
