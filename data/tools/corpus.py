"""Read SaudiNewsNet articles and cut them into sentences (annotation tooling, not runtime)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from infer.text import Normalizer, arabic_ratio, split_sentences

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = SHARED / "corpora" / "saudinewsnet"


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


def sentences(article: dict, min_words: int = 5, max_words: int = 90) -> Iterator[str]:
    """Sentences of an article (title first) that are long enough and mostly Arabic."""
    clean = Normalizer()
    for text in [article["title"], *split_sentences(article["content"])]:
        text = clean(text)
        if min_words <= len(text.split()) <= max_words and arabic_ratio(text) >= 0.8:
            yield text
