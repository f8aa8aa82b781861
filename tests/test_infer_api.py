"""The Python API contract of `infer`, on the tiny model."""

from __future__ import annotations

import json

import pytest

import infer
from infer import classifier, load
from support import SEED_ARTICLE


@pytest.fixture(scope="module")
def clf(tiny_model):
    return load(tiny_model[0])


def test_single_string_returns_one_result(clf):
    result = clf.predict("دعا العراق إلى خفض التوتر في المنطقة")
    assert isinstance(result, infer.Prediction)
    assert result.stance["iraq"] == "deescalatory"
    assert result.labels == ["iraq:deescalatory"]
    assert set(result.stance) == {"iraq", "iran", "us"}
    assert sum(result.probabilities["iran"].values()) == pytest.approx(1.0, abs=1e-5)
    assert result.sentiment in {"negative", "neutral", "positive"}
    d = result.to_dict()
    assert d["text"] == "دعا العراق إلى خفض التوتر في المنطقة"
    assert d["stance"]["iraq"] == "deescalatory" and "stance_probs" in d and "sentiment_probs" in d


def test_list_returns_list_in_order_and_empty_list_returns_empty(clf, tiny_model):
    texts = ["هددت إيران بالانتقام من الهجوم", "أعلنت واشنطن دعمها للحكومة العراقية"]
    results = clf.predict(texts)
    assert [r.text for r in results] == texts
    assert results[0].stance["iran"] == "escalatory" and results[1].stance["us"] == "supportive"
    assert clf.predict([]) == []
    # Batching and length sorting must not change a label, nor in fp32 a probability
    # (padding moves floats by ~1e-7; in bf16 by up to ~1e-2, see README, Speed).
    again = clf.predict(texts * 5, batch_size=3)
    assert [r.label for r in again] == [r.label for r in results * 5]
    fp32 = load(tiny_model[0], backend="fp32")
    once, batched = fp32.predict(texts), fp32.predict(texts * 5, batch_size=3)
    for a, b in zip(batched, once * 5, strict=True):
        assert a.probabilities["iran"] == pytest.approx(b.probabilities["iran"], abs=1e-5)


def test_empty_string_gets_a_flagged_result_not_an_exception(clf):
    results = clf.predict(["", "   ", "هددت إيران بالانتقام من الهجوم"])
    for r in results[:2]:
        assert r.empty and r.labels == []
        assert set(r.stance.values()) == {"absent"} and r.sentiment == "neutral"
    assert not results[2].empty and results[2].labels == ["iran:escalatory"]


def test_non_arabic_text_is_flagged_and_scored(clf):
    result = clf.predict("The weather is nice today")
    assert result.non_arabic and not result.empty
    assert set(result.stance) == {"iraq", "iran", "us"}


def test_huge_document_is_scored_on_its_head_and_flagged(clf):
    huge = "دعا العراق إلى خفض التوتر في المنطقة " * 600  # ~22,000 characters
    assert len(huge) > 20_000
    result = clf.predict(huge)
    assert result.truncated and not result.empty
    # Only the head is scored: a different tail cannot change the result.
    other_tail = clf.predict(huge + " هددت إيران بالانتقام من الهجوم" * 50)
    for head, probs in result.probabilities.items():
        assert other_tail.probabilities[head] == pytest.approx(probs, abs=1e-6)
    assert not clf.predict("دعا العراق إلى خفض التوتر").truncated


def test_non_string_input_is_a_clear_error(clf):
    with pytest.raises(TypeError, match="text 1 is int"):
        clf.predict(["نص", 5])


@pytest.mark.parametrize(("value", "named"), [
    (None, "NoneType"), (b"\xd9\x86\xd8\xb5", "bytes"), ({"text": "نص"}, "dict"),
    ({"نص"}, "set"), (7, "int"),
])
def test_predict_names_what_it_got_and_what_it_takes(clf, value, named):
    with pytest.raises(TypeError, match=f"takes a str or a list of str, got {named}"):
        clf.predict(value)


def test_bytes_error_says_how_to_decode(clf):
    with pytest.raises(TypeError, match=r"decode\('utf-8'\)"):
        clf.predict("نص".encode())


def test_predict_document_on_seed_article(clf):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    document = clf.predict_document(text[text.index("بغداد - "):])
    assert len(document.sentences) == 16
    summary = document.summary["iraq"]
    assert sum(summary["counts"].values()) == 16
    assert sum(summary["mean_probability"].values()) == pytest.approx(1.0, abs=1e-4)
    assert document.to_dict()["sentences"][0]["text"].startswith("بغداد - ")


def test_module_level_predict_uses_env_model_once(tiny_model, monkeypatch):
    monkeypatch.setenv(infer.MODEL_ENV, str(tiny_model[0]))
    infer._default_classifier.cache_clear()
    try:
        first = infer.predict("هددت إيران بالانتقام من الهجوم")
        assert first.labels == ["iran:escalatory"]
        assert infer._default_classifier() is infer._default_classifier()
        assert len(infer.predict_document("هددت إيران. دعا العراق إلى التهدئة.").sentences) == 2
    finally:
        infer._default_classifier.cache_clear()


def test_missing_model_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv(infer.MODEL_ENV, str(tmp_path / "nothing"))
    infer._default_classifier.cache_clear()
    with pytest.raises(FileNotFoundError, match="make train"):
        infer.predict("نص")
    with pytest.raises(infer.NotAModelFolder, match=f"no trained model at {tmp_path}"):
        load(tmp_path)
    infer._default_classifier.cache_clear()


def test_info_prints_a_models_heads_or_says_it_is_none(tiny_model, tmp_path, capsys):
    from infer.__main__ import main

    assert main(["info", str(tiny_model[0])]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["actors"] == ["iraq", "iran", "us"]
    assert [h["default"] for h in info["heads"]] == ["absent"] * 3 + ["neutral"]
    assert main(["info", str(tmp_path)]) == 2
    assert f"no trained model at {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["bf16", "int8"])
def test_fast_backends_agree_with_fp32(tiny_model, backend):
    texts = [
        "دعا العراق إلى خفض التوتر في المنطقة", "هددت إيران بالانتقام من الهجوم",
        "أعلنت واشنطن دعمها للحكومة العراقية", "ارتفعت أسعار النفط في الأسواق اليوم",
        "قصفت القوات الأمريكية مواقع للميليشيات الإيرانية", "رحبت طهران بالحوار مع جيرانها",
    ]
    reference = load(tiny_model[0], backend="fp32").predict(texts)
    fast = load(tiny_model[0], backend=backend).predict(texts)
    assert [r.labels for r in fast] == [r.labels for r in reference]
    for a, b in zip(reference, fast, strict=True):
        for head, probs in a.probabilities.items():
            for value, p in probs.items():
                assert b.probabilities[head][value] == pytest.approx(p, abs=0.05)


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_backend_is_bf16_only_on_cpus_with_native_bf16(tiny_model, monkeypatch, native,
                                                            expected):
    monkeypatch.setattr(classifier, "native_bf16", lambda: native)
    assert load(tiny_model[0]).backend == expected
    assert load(tiny_model[0], backend="int8").backend == "int8"
    with pytest.raises(ValueError, match="backend must be one of"):
        load(tiny_model[0], backend="fp16")


@pytest.mark.parametrize(("vnni", "warns"), [(True, False), (False, True)])
def test_int8_warns_on_cpus_without_vnni(tiny_model, monkeypatch, vnni, warns):
    import warnings

    monkeypatch.setattr(classifier, "native_int8", lambda: vnni)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(tiny_model[0], backend="int8")
    slow = [w for w in caught if "no VNNI" in str(w.message)]
    assert bool(slow) == warns
