"""Arabic text clean-up and sentence splitting, shared by training and inference.

Training imports this module too, so whatever the model saw while learning is exactly what it
sees when predicting: the normalisation settings are saved with every model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

# Harakat, tanween, shadda, sukun, superscript alef and Quranic marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
# Bidi controls and zero-width characters that copy-paste from the web leaves behind.
_INVISIBLES = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_ALEFS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass(frozen=True)
class Normalizer:
    """Configurable Arabic normalisation.

    The base encoders were pretrained on unnormalised news text, so the defaults only remove
    noise (invisible characters, tatweel, runs of spaces); the orthographic unifications are
    opt-in and should be kept only if they raise dev scores.
    """

    strip_diacritics: bool = False
    strip_tatweel: bool = True
    unify_alef: bool = False
    unify_ya: bool = False
    unify_ta_marbuta: bool = False
    western_digits: bool = False

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = _INVISIBLES.sub("", text)
        if self.strip_diacritics:
            text = _DIACRITICS.sub("", text)
        if self.strip_tatweel:
            text = text.replace(_TATWEEL, "")
        if self.unify_alef:
            text = text.translate(_ALEFS)
        if self.unify_ya:
            text = text.replace("ى", "ي")
        if self.unify_ta_marbuta:
            text = text.replace("ة", "ه")
        if self.western_digits:
            text = text.translate(_DIGITS)
        return _SPACES.sub(" ", text).strip()

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, options: dict | None) -> Normalizer:
        options = dict(options or {})
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            known = ", ".join(sorted(cls.__dataclass_fields__))
            raise ValueError(f"unknown normalisation option(s) {sorted(unknown)}; known: {known}")
        return cls(**options)


_TERMINATORS = ".!?؟؛;…"
_CLOSERS = "\"'»”’)]}"
# Abbreviations that end in a dot but do not end a sentence («د.» doctor, «م.» engineer or
# year, «أ.» professor, «ص.» page ...): any single letter, plus these longer ones.
_ABBREVIATIONS = {"ق.م", "ه", "هـ", "ت", "ج", "ش.م", "mr", "dr", "st", "no", "vs", "etc"}
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(text: str, dot: int) -> bool:
    match = _WORD_BEFORE.search(text[:dot])
    if not match:
        return False
    word = match.group(1).strip(".").lower()
    return len(word) == 1 or word in _ABBREVIATIONS


def _ends_sentence(text: str, i: int) -> bool:
    char = text[i]
    if char != ".":
        return True
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if before.isdigit() and after.isdigit():  # 2.7 مليار
        return False
    if after == ".":  # an ellipsis written as dots ends where the dots end
        return False
    return not _is_abbreviation(text, i)


def split_sentences(text: str) -> list[str]:
    """Split Arabic text into sentences.

    Breaks after . ! ? ؟ ؛ ; … and at newlines, keeping closing quotes and brackets with the
    sentence they close. Decimals (2.7) and abbreviations («د.», «ق.م.») do not break. Lines
    are never joined, because news headlines and bylines come without final punctuation.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        i = 0
        while i < len(line):
            if line[i] in _TERMINATORS and _ends_sentence(line, i):
                end = i + 1
                while end < len(line) and (line[end] in _TERMINATORS or line[end] in _CLOSERS):
                    end += 1
                sentences.append(line[start:end])
                start = i = end
                continue
            i += 1
        sentences.append(line[start:])
    return [s.strip() for s in sentences if s.strip() and not _is_punctuation(s)]


def _is_punctuation(sentence: str) -> bool:
    return not any(ch.isalnum() for ch in sentence)


_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\ufb50-\ufdff\ufe70-\ufefc]")


def arabic_ratio(text: str) -> float:
    """Share of letters that are Arabic; 0.0 for text without letters."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(bool(_ARABIC_LETTER.match(ch)) for ch in letters) / len(letters)
