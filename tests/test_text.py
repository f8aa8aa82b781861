"""The shared text layer: normalisation options and the sentence splitter."""

from __future__ import annotations

import json

import pytest

from infer.text import Normalizer, arabic_ratio, split_sentences
from support import ROOT, SEED_ARTICLE


def test_default_normalisation_only_removes_noise():
    text = "\u200fقال  الوزيرُ\u200b إنّ العراقـــي\tيدعم"
    assert Normalizer()(text) == "قال الوزيرُ إنّ العراقي يدعم"


def test_optional_unifications():
    clean = Normalizer(strip_diacritics=True, unify_alef=True, unify_ya=True,
                       unify_ta_marbuta=True, western_digits=True)
    assert clean("إنَّ أمريكا على الطاولة ٢٠١٥") == "ان امريكا علي الطاوله 2015"


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="unify_hamza"):
        Normalizer.from_dict({"unify_hamza": True})


def test_seed_article_sentences_match_checked_in_list():
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    body = text[text.index("بغداد - "):]
    expected = json.loads((ROOT / "tests" / "data" / "seed_sentences.json").read_text())
    assert split_sentences(body) == expected
    assert len(expected) == 16


@pytest.mark.parametrize(("text", "expected"), [
    ("بلغت المساعدات 2.7 مليار دولار. ثم توقفت.", ["بلغت المساعدات 2.7 مليار دولار.", "ثم توقفت."]),
    ("قال د. محمد إن الوضع هادئ. وأضاف م. علي.", ["قال د. محمد إن الوضع هادئ.", "وأضاف م. علي."]),
    ("هل ترد طهران؟ لا أحد يعلم! انتهى؛ حسنا", ["هل ترد طهران؟", "لا أحد يعلم!", "انتهى؛", "حسنا"]),
    ("وقال: «سنرد بقوة.» ثم غادر.", ["وقال: «سنرد بقوة.»", "ثم غادر."]),
    ('وأكد أن "الحوار مستمر". وانتهى اللقاء', ['وأكد أن "الحوار مستمر".', "وانتهى اللقاء"]),
    ("عنوان بلا نقطة\nجملة ثانية.", ["عنوان بلا نقطة", "جملة ثانية."]),
    ("  \n ... \n", []),
])
def test_splitter_cases(text, expected):
    assert split_sentences(text) == expected


def test_arabic_ratio():
    assert arabic_ratio("السلام عليكم") == 1.0
    assert arabic_ratio("hello world") == 0.0
    assert arabic_ratio("123 !!") == 0.0
