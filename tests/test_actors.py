"""Actor aliases, mention pooling with the shared stance classifier, and actors added later."""

from __future__ import annotations

import json

import pytest
import torch

from infer import load
from infer.actors import DEFAULT_ALIASES, ActorAliases
from infer.labels import LabelSchema
from infer.model import ModelMeta, StanceModel, load_encoder
from support import tiny_config, tiny_records
from train.config import ConfigError, load_config

ALIASES = ActorAliases.for_actors(["iraq", "iran", "us"])


def mentioned(text: str) -> dict[str, list[str]]:
    return {a: [text[s:e] for s, e in spans] for a, spans in ALIASES.spans(text).items()}


def test_aliases_match_after_proclitics_and_the_article_but_only_at_word_start():
    found = mentioned("وبطهران والإيرانية للعراق مطهران")
    assert found["iran"] == ["وبطهران", "والإيراني"]
    assert found["iraq"] == ["للعراق"]  # «ل» fused with the article
    assert mentioned("هاجم مطهران الحقل") == {"iraq": [], "iran": [], "us": []}


def test_aliases_fold_spelling_variants_and_keep_offsets():
    text = "قالت امريكا إن ايران والعراق"  # no hamza on the alefs
    found = mentioned(text)
    assert found == {"iraq": ["والعراق"], "iran": ["ايران"], "us": ["امريكا"]}


def test_actor_list_needs_aliases_for_names_without_defaults():
    assert ActorAliases.for_actors({"turkey": ["تركيا", "أنقرة"]}).names == ["turkey"]
    with pytest.raises(ValueError, match="no default aliases for actor.*turkey"):
        ActorAliases.for_actors(["iraq", "turkey"])
    with pytest.raises(ValueError, match="non-empty aliases"):
        ActorAliases({"turkey": []})
    assert set(DEFAULT_ALIASES) == {"iraq", "iran", "us"}


def test_entity_markers_wrap_each_mention_with_its_actors_first_alias():
    marked = ALIASES.mark("فرضت الولايات المتحدة عقوبات على طهران وبغداد")
    assert marked == ("فرضت @ * أمريكا * الولايات المتحدة @ عقوبات على @ * إيران * طهران @ "
                      "@ * العراق * وبغداد @")
    assert ALIASES.mark("ارتفعت أسعار النفط") == "ارتفعت أسعار النفط"


def mention_model(tiny_base, actors=("iraq", "iran", "us"), trained=None) -> StanceModel:
    tokenizer, encoder = load_encoder(tiny_base)
    meta = ModelMeta(LabelSchema.stance(list(actors)), "mention",
                     aliases=ActorAliases.for_actors(list(actors)),
                     trained_actors=tuple(trained or actors))
    return StanceModel(encoder, tokenizer, meta)


def test_encode_marks_the_tokens_of_each_actors_mentions(tiny_base):
    model = mention_model(tiny_base)
    text = "فرضت الولايات المتحدة عقوبات جديدة على طهران"
    (features,), (cut,) = model.encode([text])
    assert not cut
    tokens = model.tokenizer.convert_ids_to_tokens(features["input_ids"])
    iraq, iran, us = features["mention_mask"]
    assert not any(iraq)
    assert "".join(t.strip("#") for t, m in zip(tokens, iran, strict=True) if m) == "طهران"
    assert "".join(t.strip("#") for t, m in zip(tokens, us, strict=True) if m) == "الولاياتالمتحدة"


def test_encode_cuts_ids_and_masks_alike(tiny_base):
    model = mention_model(tiny_base)
    long = " ".join(["دعا العراق إلى خفض التوتر في المنطقة"] * 20)
    (features,), (cut,) = model.encode([long])
    assert cut and len(features["input_ids"]) == model.meta.max_length
    assert all(len(m) == model.meta.max_length for m in features["mention_mask"])
    assert features["input_ids"][-1] == model.tokenizer.sep_token_id


def test_shared_classifier_reads_each_actors_mentions(tiny_base):
    model = mention_model(tiny_base).eval()
    features, _ = model.encode(["هددت إيران بالانتقام من الهجوم"])
    batch = model.collate(features)
    with torch.no_grad():
        logits = model(**batch)["logits"]
        iraq, iran, us, sentiment = model.split(logits)
        # Same classifier; Iraq and the US are both unmentioned, Iran is mentioned.
        model.actor_embeddings.zero_()
        iraq, iran, us, _ = model.split(model(**batch)["logits"])
    assert torch.allclose(iraq, us) and not torch.allclose(iraq, iran)
    assert logits.shape == (1, 3 * 5 + 3) and sentiment.shape == (1, 3)


@pytest.fixture(scope="module")
def mention_trained(tmp_path_factory, tiny_base, tiny_data):
    """A tiny mention-pooling model trained on two actors: the US is left out, to be added."""
    from train.run import train

    out = tmp_path_factory.mktemp("mention_model")
    actors = {"iraq": ["العراق", "عراقي", "بغداد"], "iran": ["إيران", "إيراني", "طهران",
                                                            "الحرس الثوري"]}
    config = load_config(None, tiny_config(tiny_base, tiny_data, out, pooling="mention",
                                           actors=actors, actor_dropout=0.2))
    return out, train(config)


@pytest.mark.slow
def test_mention_model_trains_saves_aliases_and_reloads_identically(mention_trained):
    folder, results = mention_trained
    assert results["test"]["stance_macro_f1"] > 0.9  # train == test: the fixture is learned
    import subprocess
    import sys

    info = subprocess.run([sys.executable, "-m", "infer", "info", str(folder)],
                          capture_output=True, text=True, check=True)
    saved = json.loads(info.stdout)
    assert saved["pooling"] == "mention" and saved["trained_actors"] == ["iraq", "iran"]
    assert saved["aliases"]["iran"][-1] == "الحرس الثوري"
    texts = [r["text"] for r in tiny_records()]
    first, second = load(folder, backend="fp32"), load(folder, backend="fp32")
    assert [p.to_dict() for p in first.predict(texts)] == [
        p.to_dict() for p in second.predict(texts)]


@pytest.mark.slow
def test_an_actor_added_at_load_gets_a_stance_from_the_shared_classifier(mention_trained):
    folder, _ = mention_trained
    us = {"us": ["واشنطن", "الولايات المتحدة", "أمريكي"]}
    clf = load(folder, backend="fp32", actors=us)
    assert clf.schema.actors == ["iraq", "iran", "us"]
    prediction = clf.predict("فرضت الولايات المتحدة عقوبات جديدة على طهران")
    assert set(prediction.probabilities["us"]) == {"escalatory", "deescalatory", "supportive",
                                                   "neutral", "absent"}
    assert sum(prediction.probabilities["us"].values()) == pytest.approx(1.0)
    # The trained actors are untouched by the addition.
    plain = load(folder, backend="fp32").predict("فرضت الولايات المتحدة عقوبات جديدة على طهران")
    assert plain.probabilities["iran"] == pytest.approx(prediction.probabilities["iran"])
    assert "us" not in plain.label


@pytest.mark.slow
def test_score_adds_actors_from_a_json_file(mention_trained, tmp_path):
    from infer.__main__ import main

    folder, _ = mention_trained
    actors = tmp_path / "actors.json"
    actors.write_text(json.dumps({"us": ["واشنطن", "الولايات المتحدة", "أمريكي"]},
                                 ensure_ascii=False), encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    texts = ["فرضت الولايات المتحدة عقوبات جديدة على طهران", "دعا العراق إلى الحوار"]
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    assert main(["score", str(corpus), str(out), "--model", str(folder), "--backend", "fp32",
                 "--add-actors", str(actors)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = load(folder, backend="fp32", actors=json.loads(actors.read_text())).predict(texts)
    assert [row["stance"]["us"] for row in rows] == [p.label["us"] for p in expected]
    assert [row["stance"]["iran"] for row in rows] == [p.label["iran"] for p in expected]


@pytest.mark.slow
def test_a_model_trained_with_entity_markers_reads_them_at_predict(tiny_base, tiny_data, tmp_path):
    from train.run import train

    config = load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, entity_markers=True))
    results = train(config)
    assert results["test"]["stance_macro_f1"] > 0.9  # train == test: the fixture is learned
    saved = json.loads((tmp_path / "label_schema.json").read_text(encoding="utf-8"))
    assert saved["entity_markers"] and saved["aliases"]["iran"][0] == "إيران"
    clf = load(tmp_path, backend="fp32")
    text = "هددت إيران بالانتقام من الهجوم"
    (features,), _ = clf.model.encode([text])
    marked = clf.model.tokenizer(ALIASES.mark(text))["input_ids"]
    assert features["input_ids"] == marked != clf.model.tokenizer(text)["input_ids"]


def test_new_actors_need_the_shared_classifier(tiny_model):
    folder, _ = tiny_model
    with pytest.raises(ValueError, match="mean-pooling model .* cannot take new ones"):
        load(folder, actors={"turkey": ["تركيا"]})


def test_config_checks_mention_actors(tiny_base, tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="actors: no default aliases.*turkey"):
        load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, pooling="mention",
                                      actors=["iraq", "turkey"]))
    with pytest.raises(ConfigError, match="mention needs the stance task"):
        load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, pooling="mention",
                                      task="classify"))
    with pytest.raises(ConfigError, match="entity_markers: True needs the stance task"):
        load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, entity_markers=True,
                                      task="classify"))


def test_multi_sample_dropout_averages_the_loss_over_masks_and_leaves_inference_alone(tiny_base):
    model = mention_model(tiny_base)
    features, _ = model.encode(["فرضت الولايات المتحدة عقوبات على طهران", "دعا العراق للحوار"])
    batch = model.collate(features)
    labels = torch.tensor([[4, 0, 0, 0], [2, 4, 4, 1]])  # absent, escalatory x2, negative ...
    model.eval()
    single = model(**batch)["logits"]
    model.dropout_samples = 4
    assert torch.equal(model(**batch)["logits"], single)  # no dropout, one pass, at inference
    model.train()
    torch.manual_seed(0)
    loss = model(**batch, labels=labels)["loss"]
    torch.manual_seed(0)  # the same masks, drawn in the same order: encoder, then the 4 samples
    hidden = model.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    each = [model._loss(model._logits(hidden, batch["attention_mask"], batch["mention_mask"]),
                        labels) for _ in range(4)]
    assert loss.item() == pytest.approx(torch.stack(each).mean().item(), rel=1e-5)
    assert len({round(x.item(), 6) for x in each}) > 1  # four different masks
