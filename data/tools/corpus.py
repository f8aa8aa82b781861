"""Read the shared news corpora and cut them into sentences (annotation tooling, not runtime)."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from infer.text import Normalizer, arabic_ratio, split_sentences

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora" / "saudinewsnet"
OUTLETS = ("almayadeen", "arabic-newspapers")  # round 4: other outlets, other years


def doc_id(url: str) -> str:
    return "snn-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def articles(corpus: Path = CORPUS) -> Iterator[dict]:
    """Yield every article of every daily zip, with a stable doc_id."""
    for path in sorted(corpus.glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                for article in json.loads(archive.read(name)):
                    url = article.get("url") or f"{path.name}#{article.get('title', '')}"
                    yield {
                        "doc_id": doc_id(url),
                        "url": url,
                        "date": (article.get("date_extracted") or "")[:10],
                        "source": article.get("source", ""),
                        "title": article.get("title") or "",
                        "content": article.get("content") or "",
                    }


def outlet_articles(name: str) -> Iterator[dict]:
    """Yield the articles of `../shared/corpora/<name>/articles.jsonl.gz` in the same shape.

    Arabic Newspapers has no outlet, date or URL upstream: its `source` names the country, and
    its title is the text's first line, so it is not read twice.
    """
    with gzip.open(SHARED / "corpora" / name / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for article in map(json.loads, f):
            newspapers = name == "arabic-newspapers"
            yield {
                "doc_id": article["id"],
                "url": article.get("url") or "",
                "date": article.get("date") or "",
                "source": f"{name}/{article['country']}" if newspapers else name,
                "title": "" if newspapers else article.get("title") or "",
                "content": article.get("text") or "",
            }


def sentences(article: dict, min_words: int = 5, max_words: int = 90) -> Iterator[str]:
    """Sentences of an article (title first) that are long enough and mostly Arabic."""
    clean = Normalizer()
    for text in [article["title"], *split_sentences(article["content"])]:
        text = clean(text)
        if min_words <= len(text.split()) <= max_words and arabic_ratio(text) >= 0.8:
            yield text
