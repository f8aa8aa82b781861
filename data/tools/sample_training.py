"""Round 4 training candidates from the train articles of the new outlets (and SaudiNewsNet for
the scarce cells), chosen in two stages; annotators see only the sentences.

    python data/tools/sample_training.py cues                     # random + cue-targeted
    python data/tools/sample_training.py iraq                     # Iraq's cells, narrower cues
    python data/tools/sample_training.py random                   # a second random draw
    python data/tools/sample_training.py iraq2                    # Iraq's cells, any Iraqi name
    python data/tools/sample_training.py model --model models/default   # the model in the loop
    python data/tools/sample_training.py iraq3 --batch 200        # every unread Iraqi-state name

`cues`: a random draw (at least 20% of the new training sentences) and, for the scarce cells
(Iraq escalatory / deescalatory / supportive, Iran deescalatory / supportive, US escalatory),
sentences pairing an actor with cues of that stance. `model`: the sentences the current model is
least sure of (smallest margin between an actor's two likeliest values, or between the two
likeliest sentiments) and those where it disagrees with the TF-IDF baseline trained on the same
labels. `iraq`: after the first two stages Iraq's three cells were still short of 150 real
training sentences (the broad cues mostly found Iraqi factions, which are not the state), so
this stage pairs the Iraqi *state* (government, ministries, forces) with each cell's acts.
`iraq3` (after `iraq2`, Iraq escalatory and supportive still short): every unread sentence of a
train article that names an office of the Iraqi state (a wider list: the PMF, the KRG, Iraqi
verbs of statement), without a cue, in Al Mayadeen and Arabic Newspapers, whose acts the cues
had missed; in SaudiNewsNet, whose Iraq of 2015 is mostly the war on ISIS (rule 5), only those
that also carry an escalatory or supportive cue.
Regexes and models only choose *which* sentences are read; `selection4.jsonl` records
why each was chosen, and no prediction is written where annotators look.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

from corpus import OUTLETS, articles, sentences
from sample_candidates import dedup_key
from sample_outlets import ACTORS, outlet_sentences, write_batches
from sample_targeted import split_of_new

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = ROOT / "data" / "annotation"
SELECTION = ANNOTATION / "selection4.jsonl"
CUES = {
    "iraq_esc": ("iraq", r"استدع|إخراج|خروج القوات|انسحاب القوات|مغادرة القوات|قصف|هدد|يهدد|توعد"
                 r"|حظر|اعتقال|قمع|طرد|رفض|يرفض|الرد على|رداً|ردا"),
    "iraq_deesc": ("iraq", r"وساطة|الحوار|التهدئة|خفض التصعيد|التوتر|ضبط النفس|المفاوضات|محادثات"
                   r"|يستضيف|استضاف|التقريب|تسوية|وقف إطلاق النار|منع|تجنيب|إبعاد"),
    "iraq_sup": ("iraq", r"دعم|يدعم|مساعدات|تضامن|يقف|وقوف|مساند|تعاون|اتفاق|مذكرة تفاهم|أشاد"
                 r"|ترحيب|رحب|قافلة|إغاثة|شحنات|تعاز|تعزية"),
    "iran_deesc": ("iran", r"الحوار|المفاوضات|الاتفاق النووي|التهدئة|خفض التصعيد|محادثات"
                   r"|استئناف العلاقات|الوساطة|التقارب|بكين|وقف إطلاق النار|ضبط النفس"),
    "iran_sup": ("iran", r"دعم|يدعم|مساعدات|تضامن|تقف|وقوف|مساند|تعاون|اتفاق|مذكرة تفاهم|أشاد"
                 r"|ترحيب|رحب|حليف|تعاز|تعزية"),
    "us_esc": ("us", r"عقوبات|غارات|قصف|ضربات|استهداف|هجوم|تهديد|هدد|توعد|عدوان|الرد|رداً"),
}
IRAQI_STATE = (r"الحكومة العراقية|رئيس الوزراء العراقي|رئيس الحكومة العراقية|الخارجية العراقية"
               r"|وزير الخارجية العراقي|فؤاد حسين|شياع السوداني|الكاظمي|المالكي|العبادي"
               r"|الجيش العراقي|القوات العراقية|قوات الأمن العراقية|البرلمان العراقي"
               r"|مجلس النواب العراقي|الرئيس العراقي|رئيس الجمهورية العراقي|بغداد")
IRAQ_CUES = {
    "iraq_state_esc": (IRAQI_STATE, r"استدع|إخراج|إنهاء مهمة|إنهاء وجود|انسحاب قوات|جدولة"
                       r"|مغادرة القوات|طرد|قمع|اعتقال|اقتحام|قصف|هدد|تهدد|توعد|قطع|رواتب"
                       r"|حظر|احتجاج|شكوى|يتهم|اتهم|تحمل|يحمل|الرد"),
    "iraq_state_sup": (IRAQI_STATE, r"تضامن|مساعدات|إغاثة|قافلة|شحنة|طائرة|تعز|يعزي|تهنئ|يهنئ"
                       r"|مذكرة تفاهم|اتفاقية|وقع|التعاون|دعم|يدعم|تقف|يقف|مساند|أشاد|يشيد"),
    "iraq_state_deesc": (IRAQI_STATE, r"وساطة|الحوار|التهدئة|التصعيد|ضبط النفس|وقف إطلاق النار"
                         r"|التوتر|يرفض أن يكون|ساحة|تجنيب|إبعاد|محادثات|التفاوض|المصالحة"),
}
RULES = {name: (ACTORS[actor], re.compile(cue)) for name, (actor, cue) in CUES.items()}
IRAQ_RULES = {name: (re.compile(actor), re.compile(cue))
              for name, (actor, cue) in IRAQ_CUES.items()}
# The last pass: any Iraqi name with the same acts, leaving out sentences whose Iraq is an armed
# group's name (GUIDELINES §12.5), which the broad cues had mostly found.
FACTIONS = re.compile(r"المقاومة الإسلامية في العراق|المقاومة العراقية|الفصائل العراقية"
                      r"|كتائب حزب الله|النجباء|سيد الشهداء|فصائل المقاومة في العراق")
IRAQ_ANY_RULES = {name.replace("_state", ""): (ACTORS["iraq"], cue)
                  for name, (_, cue) in IRAQ_RULES.items()}
IRAQI_STATE_WIDE = re.compile(
    IRAQI_STATE + r"|السوداني|وزارة الخارجية العراقية|السفارة العراقية|الحكومة الاتحادية"
    r"|الحشد الشعبي|البيشمركة|إقليم كردستان|حكومة الإقليم|البارزاني|الطالباني"
    r"|العراق (?:يدعو|يطالب|يدين|يرفض|يؤكد|يعلن|يرحب|يوقع|يستدعي)"
    r"|بغداد (?:تدعو|تطالب|ترفض|تؤكد|تعلن|ترحب|توقع)")
WIDE_CUES = re.compile(
    r"استدع|إنهاء|انسحاب|مغادرة|طرد|قمع|اعتقال|مذكرة|اقتحام|قصف|هدد|تهدد|توعد|قطع|حظر|شكوى"
    r"|يتهم|اتهم|تحمل|يحمل|الرد|منع|إغلاق|عقوب|أوقف|تجميد|سحب|ترحيل|يهاجم|هاجم|حملة"
    r"|تضامن|مساعد|إغاثة|قافلة|شحن|تعز|يعزي|تهنئ|يهنئ|اتفاق|وقع|يوقع|التعاون|دعم|يدعم|تقف"
    r"|يقف|مساند|أشاد|يشيد|شكر|يشكر|ترحب|يرحب|رحب|تبرع|منح|قرض|استثمار|شراكة|أرسل|يرسل|ترسل")
# Candidates per source and stage; the model stage splits its share between uncertainty and
# disagreement with the baseline.
RANDOM = {"almayadeen": 700, "arabic-newspapers": 150}
CUED = {"almayadeen": 1000, "arabic-newspapers": 100, "saudinewsnet": 400}
MODEL = {"almayadeen": 700, "arabic-newspapers": 150, "saudinewsnet": 350}
IRAQ = {"almayadeen": 950, "arabic-newspapers": 150, "saudinewsnet": 300}
IRAQ_ANY = {"almayadeen": 500, "arabic-newspapers": 100, "saudinewsnet": 80}
RANDOM_AGAIN = {"almayadeen": 560, "arabic-newspapers": 120}
NO_ACTOR_SHARE = 0.15  # of the random draw
BATCH = 340  # sentences per annotator batch


def already_read() -> set[str]:
    seen = set()
    for path in glob.glob(str(ANNOTATION / "pool*" / "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            seen.update(dedup_key(json.loads(line)["text"]) for line in f if line.strip())
    return seen


def snn_train_sentences(seen: set[str]) -> list[dict]:
    """SaudiNewsNet sentences naming an actor from articles that are not in dev or test."""
    split_by_doc = {}
    for path in glob.glob(str(ANNOTATION / "pool*" / "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for row in map(json.loads, filter(str.strip, f)):
                if "doc_id" in row and "split" in row:
                    split_by_doc[row["doc_id"]] = row["split"]
    rows = []
    for article in articles():
        doc = article["doc_id"]
        if split_by_doc.get(doc, split_of_new(doc, 0)) != "train":
            continue
        for text in sentences(article, max_words=70):
            if dedup_key(text) not in seen and any(rx.search(text) for rx in ACTORS.values()):
                row = {k: article[k] for k in ("doc_id", "date", "url")}
                rows.append({**row, "source": f"saudinewsnet/{article['source']}",
                             "text": text, "split": "train", "actor": True})
    return rows


def train_pools(seen: set[str]) -> dict[str, list[dict]]:
    pools = {name: [r for r in outlet_sentences(name) if r["split"] == "train"
                    and dedup_key(r["text"]) not in seen] for name in OUTLETS}
    pools["saudinewsnet"] = snn_train_sentences(seen)
    return pools


def cued(rows: list[dict], n: int, rng: random.Random,
         rules: dict = RULES) -> list[tuple[dict, str]]:
    """`n` rows spread evenly over the cue rules, at most 2 per article."""
    by_rule = defaultdict(list)
    for row in rows:
        for name, (actor, cue) in rules.items():
            if actor.search(row["text"]) and cue.search(row["text"]):
                by_rule[name].append(row)
    picked, taken, per_doc = [], set(), defaultdict(int)
    for rule_rows in by_rule.values():
        rng.shuffle(rule_rows)
    names = list(by_rule)
    while len(picked) < n and any(by_rule.values()):
        for name in names:
            while by_rule[name]:
                row = by_rule[name].pop()
                key = dedup_key(row["text"])
                if key not in taken and per_doc[row["doc_id"]] < 2:
                    taken.add(key)
                    per_doc[row["doc_id"]] += 1
                    picked.append((row, f"cue:{name}"))
                    break
            if len(picked) == n:
                break
    return picked


def drawn(rows: list[dict], n: int, rng: random.Random) -> list[tuple[dict, str]]:
    """`n` rows at random, NO_ACTOR_SHARE of them naming no actor."""
    named = [r for r in rows if r["actor"]]
    unnamed = [r for r in rows if not r["actor"]]
    k = round(n * NO_ACTOR_SHARE)
    return [(r, "random") for r in rng.sample(named, n - k) + rng.sample(unnamed, k)]


def stage_cues(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    pools = train_pools(already_read())
    chosen = []
    for name, rows in pools.items():
        print(name, len(rows), "unread train sentences,", sum(r["actor"] for r in rows),
              "naming an actor")
        if name in RANDOM:
            chosen += drawn(rows, RANDOM[name], rng)
        taken = {dedup_key(r["text"]) for r, _ in chosen}
        chosen += cued([r for r in rows if dedup_key(r["text"]) not in taken], CUED[name], rng)
    return chosen


def stage_random(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    pools = train_pools(already_read())
    return [pick for name, n in RANDOM_AGAIN.items() for pick in drawn(pools[name], n, rng)]


def stage_iraq(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    return [pick for name, rows in train_pools(already_read()).items()
            for pick in cued(rows, IRAQ[name], rng, IRAQ_RULES)]


def stage_iraq_any(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    pools = {name: [r for r in rows if not FACTIONS.search(r["text"])]
             for name, rows in train_pools(already_read()).items()}
    return [pick for name, rows in pools.items()
            for pick in cued(rows, IRAQ_ANY[name], rng, IRAQ_ANY_RULES)]


def stage_iraq_state(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    picks = []
    for name, rows in train_pools(already_read()).items():
        for row in rows:
            text = row["text"]
            if FACTIONS.search(text) or not IRAQI_STATE_WIDE.search(text):
                continue
            if name == "saudinewsnet" and not WIDE_CUES.search(text):
                continue
            picks.append((row, "iraq-state"))
    return picks


def stage_model(args: argparse.Namespace, rng: random.Random) -> list[tuple[dict, str]]:
    sys.path.insert(0, str(ROOT))
    from model_in_the_loop import rank  # noqa: PLC0415 (needs torch; only this stage does)

    samples = {}
    for name, rows in train_pools(already_read()).items():
        named = [r for r in rows if r["actor"]]
        samples[name] = rng.sample(named, min(len(named), args.scan))
    return rank(samples, MODEL, args.model, rng)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=("cues", "iraq", "random", "model", "iraq2", "iraq3"))
    parser.add_argument("--out", type=Path, default=ANNOTATION / "pool4")
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--scan", type=int, default=3000,
                        help="unlabelled sentences per source that the model scores")
    parser.add_argument("--seed", type=int, default=43)
    parser.add_argument("--batch", type=int, default=BATCH, help="sentences per batch file")
    args = parser.parse_args()
    stages = {"cues": (stage_cues, "r4c", 50, 0), "model": (stage_model, "r4m", 60, 1),
              "iraq": (stage_iraq, "r4i", 70, 2), "random": (stage_random, "r4r", 75, 3),
              "iraq2": (stage_iraq_any, "r4j", 80, 4), "iraq3": (stage_iraq_state, "r4k", 90, 5)}
    stage, prefix, first, offset = stages[args.stage]
    rng = random.Random(args.seed + offset)
    chosen = stage(args, rng)
    rng.shuffle(chosen)
    rows = []
    with SELECTION.open("a", encoding="utf-8") as f:
        for i, (row, why) in enumerate(chosen):
            rid = f"{prefix}-{i:05d}"
            rows.append({"id": rid, **{k: row[k] for k in ("doc_id", "date", "url", "source",
                                                            "text", "split")}})
            f.write(json.dumps({"id": rid, "why": why}) + "\n")
    write_batches(rows, args.out, first, size=args.batch)
    counts = defaultdict(int)
    for _, why in chosen:
        counts[why] += 1
    print(len(rows), "candidates:", dict(counts))


if __name__ == "__main__":
    main()
