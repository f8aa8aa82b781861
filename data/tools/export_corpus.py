"""Export a deterministic slice of SaudiNewsNet as JSONL, ready for `python -m infer score`.

    python data/tools/export_corpus.py --articles 700 --out reports/demo/corpus.jsonl

Each line is one article: {"id": doc_id, "text": title + newline + content, "date", "source",
"url"}. The title goes on its own line because `--split-sentences` breaks at newlines and
headlines have no final full stop.

The slice is spread over every collection day and every outlet: the articles are grouped by
(day, outlet), each group gets one article first (so no day or outlet is missing from the
demo), and the rest is shared out in proportion to the group's size (so the slice keeps the
corpus's mix of outlets). Inside a group the articles are taken in the order of a hash of their
doc_id: a fixed pseudo-random order, so the same arguments always give the same file.

This tool reads the zips directly and does not need the `infer` package or a model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

# The corpus ships with the project checkout, one level up (see data/tools/corpus.py).
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "saudinewsnet"


def doc_id(url: str) -> str:
    """The same stable id as data/tools/corpus.py, so exported and annotated rows line up."""
    return "snn-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def read_articles(corpus: Path) -> Iterator[dict]:
    """Every article of every daily zip with text, as an export record (first copy of a URL)."""
    zips = sorted(corpus.glob("*.zip"))
    if not zips:
        raise SystemExit(f"error: no SaudiNewsNet zips in {corpus}; pass --corpus DIR")
    seen: set[str] = set()
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                for article in json.loads(archive.read(name)):
                    title = (article.get("title") or "").strip()
                    content = (article.get("content") or "").strip()
                    url = article.get("url") or f"{path.name}#{title}"
                    key = doc_id(url)
                    if not content or key in seen:
                        continue
                    seen.add(key)
                    yield {
                        "id": key,
                        "text": f"{title}\n{content}" if title else content,
                        # date_extracted is the collection time; the day is what the report needs
                        "date": (article.get("date_extracted") or "")[:10] or path.stem,
                        "source": article.get("source") or "unknown",
                        "url": url,
                    }


def quotas(sizes: dict[tuple[str, str], int], total: int) -> dict[tuple[str, str], int]:
    """How many articles each group gives: one each first, the rest in proportion to size.

    With fewer articles wanted than groups, the first `total` groups (in sorted order, i.e.
    chronological) give one each.
    """
    groups = sorted(sizes)
    share = {g: 0 for g in groups}
    for g in groups[:total]:
        share[g] = 1
    left = total - sum(share.values())
    if left <= 0:
        return share
    room = {g: sizes[g] - share[g] for g in groups}
    pool = sum(room.values())
    if pool <= left:  # asked for (nearly) everything
        return {g: sizes[g] for g in groups}
    exact = {g: left * room[g] / pool for g in groups}
    for g in groups:
        share[g] += int(exact[g])
    # Largest remainder: the articles lost to rounding down go to the groups that lost most.
    by_remainder = sorted(groups, key=lambda g: (-(exact[g] - int(exact[g])), g))
    for g in by_remainder[: total - sum(share.values())]:
        share[g] += 1
    return share


def select(articles: list[dict], total: int) -> list[dict]:
    """The slice: `total` articles spread over (day, outlet), in date, outlet, id order."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for article in articles:
        groups[(article["date"], article["source"])].append(article)
    for members in groups.values():
        members.sort(key=lambda a: hashlib.sha1(a["id"].encode()).hexdigest())
    share = quotas({g: len(m) for g, m in groups.items()}, total)
    chosen = [a for g, members in groups.items() for a in members[: share[g]]]
    return sorted(chosen, key=lambda a: (a["date"], a["source"], a["id"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3000,
                        help="how many articles to export (default: 3000)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help=f"folder of the daily zips (default: {DEFAULT_CORPUS})")
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    chosen = select(list(read_articles(args.corpus)), args.articles)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for article in chosen:
            f.write(json.dumps(article, ensure_ascii=False) + "\n")
    days = len({a["date"] for a in chosen})
    outlets = len({a["source"] for a in chosen})
    print(f"wrote {len(chosen)} articles ({days} days, {outlets} outlets) to {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
