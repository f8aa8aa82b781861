"""Actors by name and alias list, and where a sentence mentions them.

An actor is a name (`iran`) and the words that refer to it: the country, its adjective, its
capital, leaders and institutions (إيران، الإيراني، طهران، خامنئي، الحرس الثوري). Aliases are
matched as word beginnings after optional proclitics and article (و، ف، ب، ل، ك، ال، لل), so
«وبطهران», «للعراق» and «الإيرانية» count and «مطهران» does not; the comparison folds the spelling
variants that news text mixes (أ/إ/آ/ا, ى/ي, ة/ه) without changing string length, so spans
index the text as given. Training and inference both find mentions here, on the normalised
text, so that they agree on what the model reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# The default actors of LABELS.md. State offices only: the rules keep militias, clerics and
# private citizens out, and a mention is only where the model looks, never a label.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "iraq": ("العراق", "عراقي", "بغداد", "الكاظمي", "شياع السوداني", "العبادي", "المالكي",
             "فؤاد حسين", "الحشد الشعبي", "البيشمركة", "إقليم كردستان", "أربيل", "البارزاني"),
    "iran": ("إيران", "إيراني", "طهران", "خامنئي", "روحاني", "رئيسي", "ظريف", "عبد اللهيان",
             "الحرس الثوري", "فيلق القدس", "سليماني", "قاآني"),
    "us": ("أمريكا", "أميركا", "أمريكي", "أميركي", "الولايات المتحدة", "واشنطن", "البيت الأبيض",
           "البنتاغون", "الكونغرس", "بايدن", "ترامب", "أوباما", "بلينكن", "كيري", "أوستن",
           "سوليفان", "القيادة المركزية", "سنتكوم"),
}
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_WORD_START = r"(?<![\w])"


def _alias_pattern(alias: str) -> str:
    """An alias after up to two proclitics (و ف ب ل ك) and the article, which «ل» fuses with:
    «العراق» also matches «وبالعراق» and «للعراق»; «إيراني» also «والإيرانية»."""
    alias = fold(alias.strip())
    if alias.startswith("ال") and len(alias) > 3:
        return "(?:[وفبك]{0,2}ال|[وف]?لل)" + re.escape(alias[2:])
    return "(?:[وفبلك]{0,2}(?:ال|لل)?)" + re.escape(alias)


def fold(text: str) -> str:
    """The spelling used for matching; same length as `text`, so offsets carry over."""
    return text.translate(_FOLD)


class ActorAliases:
    """Actor name -> aliases, and the character spans where each actor is mentioned."""

    def __init__(self, aliases: Mapping[str, Sequence[str]]) -> None:
        self.aliases = {name: tuple(words) for name, words in aliases.items()}
        for name, words in self.aliases.items():
            if not words or not all(isinstance(w, str) and w.strip() for w in words):
                raise ValueError(f"actor {name!r}: give a list of non-empty aliases, got "
                                 f"{list(words)!r}")
        self._patterns = {
            name: re.compile(_WORD_START + "(?:" + "|".join(
                _alias_pattern(w) for w in sorted(words, key=len, reverse=True)) + ")")
            for name, words in self.aliases.items()
        }

    @classmethod
    def for_actors(cls, actors: Sequence[str] | Mapping[str, Sequence[str]]) -> ActorAliases:
        """Aliases of a config's `actors`: a mapping of name -> aliases, or a list of names whose
        aliases are the defaults (an actor without defaults must be given as a mapping)."""
        if isinstance(actors, Mapping):
            return cls(actors)
        missing = [a for a in actors if a not in DEFAULT_ALIASES]
        if missing:
            raise ValueError(f"no default aliases for actor(s) {missing}; give them in the "
                             "config as `actors: {name: [alias, ...]}`")
        return cls({a: DEFAULT_ALIASES[a] for a in actors})

    @property
    def names(self) -> list[str]:
        return list(self.aliases)

    def spans(self, text: str) -> dict[str, list[tuple[int, int]]]:
        """Per actor, the (start, end) character spans of its mentions in `text`."""
        folded = fold(text)
        return {name: [m.span() for m in rx.finditer(folded)]
                for name, rx in self._patterns.items()}

    def mark(self, text: str) -> str:
        """`text` with typed entity markers around each mention, «@ * إيران * طهران @»: the
        punctuation form of Zhou and Chen (2021), which needs no new tokens. The type word is
        the actor's first alias, so a leader's or a capital's name (a new one, in a later year's
        news) reaches the encoder beside the name of the state it speaks for."""
        found = sorted((start, end, name) for name, spans in self.spans(text).items()
                       for start, end in spans)
        pieces, done = [], 0
        for start, end, name in found:
            if start < done:  # inside a longer mention already marked
                continue
            pieces += [text[done:start], f"@ * {self.aliases[name][0]} * {text[start:end]} @"]
            done = end
        return "".join(pieces) + text[done:]

    def token_masks(self, text: str, offsets: Sequence[tuple[int, int]]) -> list[list[int]]:
        """Per actor, 1 for each token (by its character offsets) inside a mention, else 0."""
        masks = []
        for spans in self.spans(text).values():
            masks.append([int(end > start and any(s < end and start < e for s, e in spans))
                          for start, end in offsets])
        return masks

    def to_dict(self) -> dict[str, list[str]]:
        return {name: list(words) for name, words in self.aliases.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorAliases) and self.aliases == other.aliases

    def __repr__(self) -> str:
        return f"ActorAliases({self.names})"


def read_actor_file(path: str | Path) -> dict[str, list[str]]:
    """Actors to add to a trained model, from a JSON file of name -> aliases:
    `{"turkey": ["تركيا", "تركي", "أنقرة", "أردوغان"]}`. ValueError naming what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"cannot read the actor file {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}, line {e.lineno}, column {e.colno}: not JSON ({e.msg}); write "
                         '{"name": ["alias", ...], ...}') from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f'{path}: expected an object of actor name -> alias list, e.g. '
                         f'{{"turkey": ["تركيا", "أنقرة"]}}, got {type(data).__name__}')
    for name, words in data.items():
        if not isinstance(words, list) or not words or not all(
                isinstance(w, str) and w.strip() for w in words):
            raise ValueError(f"{path}: actor {name!r} needs a list of non-empty alias strings, "
                             f"got {words!r}")
    return data
