"""Round 4 review pass: pick the first-annotator labels that GUIDELINES §12 may change.

    python data/tools/select_review.py

The adjudication of round 4 turned recurring open questions into decisions (GUIDELINES §12),
some of which the first annotators decided the other way (Iraqi-named factions, bases named
alone, the outlet's framing nouns, backing "the resistance", former officeholders, support for
a state at war, rapprochement nouns). These regexes only choose which labelled sentences a
reviewer re-reads, with the section to apply; the reviewer decides every label by reading.
Writes data/annotation/review4/batch_XX.jsonl (id, text, url, the first labels, sections).
"""

from __future__ import annotations

import json
import re

from build_splits import ANNOTATION, read

AMERICAN = r"(?:ميرك|مريك)ي"  # أميركي / أمريكي and their feminine forms


def word(name: str) -> str:
    """`name` as a whole word, so that حرير does not match تحرير, nor التنف التنفيذ."""
    return rf"(?<![\u0621-\u064a]){name}(?![\u0621-\u064a])"


SECTIONS = {
    "§12.1": rf"الداعم|دعم واشنطن|الدعم الأ{AMERICAN}|بدعم أ{AMERICAN}|أسلحة|ذخائر"
             r"|مساعدات عسكرية|شحنات",
    "§12.2": r"(إيران|طهران|الإيراني).*(المقاومة|المحور|حزب الله|حماس|الفصائل)"
             r"|(المقاومة|المحور|حزب الله|حماس|الفصائل).*(إيران|طهران|الإيراني)",
    "§12.4": rf"الاحتلال الأ{AMERICAN}|العدوان الأ{AMERICAN}|الاعتداءات الأ{AMERICAN}",
    "§12.5": r"المقاومة الإسلامية في العراق|كتائب حزب الله|النجباء|فصائل المقاومة في العراق"
             r"|المقاومة العراقية|سيد الشهداء|الفصائل العراقية",
    "§12.6": "|".join([r"عين الأسد", word("حرير"), word("التنف"), r"الشدادي", r"كونيكو",
                       r"حقل العمر"]),
    "§12.7": "|".join([r"ترامب", r"أوباما", r"هاريس", r"بزشكيان", r"كلينتون", word("بوش"),
                       word("فانس"), word("ظريف")]),
    "§12.10": r"التقارب|المصالحة",
    "§12.11": r"فيتو|النقض|مجلس الأمن",
}
RULES = {k: re.compile(v) for k, v in SECTIONS.items()}
BATCH = 205


def main() -> None:
    pool = read("pool4/*.jsonl")
    labels = read("labels4/*.a1.jsonl")
    adjudicated = read("adjudicated4.jsonl")
    rows = []
    for rid, label in labels.items():
        if rid in adjudicated or rid not in pool:
            continue
        text = pool[rid]["text"]
        sections = [k for k, rx in RULES.items() if rx.search(text)]
        if sections:
            rows.append({"id": rid, "text": text, "url": pool[rid].get("url", ""),
                         "first_labels": {"stance": label["stance"],
                                          "sentiment": label["sentiment"]},
                         "check": sections})
    folder = ANNOTATION / "review4"
    folder.mkdir(exist_ok=True)
    for b in range(0, len(rows), BATCH):
        with (folder / f"batch_{b // BATCH:02d}.jsonl").open("w", encoding="utf-8") as f:
            for row in rows[b : b + BATCH]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = {k: sum(k in r["check"] for r in rows) for k in SECTIONS}
    print(f"{len(rows)} sentences to re-read in {folder}: {counts}")


if __name__ == "__main__":
    main()
