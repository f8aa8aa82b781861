"""The experiment drivers on the tiny model: model comparison and leave-one-actor-out."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml

from infer import load
from support import tiny_config, tiny_records


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_config(path, settings: dict):
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_recipe_is_named_for_its_config_and_overrides_without_path_separators():
    from train.compare import parse_recipe

    name, path, overrides = parse_recipe("configs/default.yaml:base_model=models/tapt-e5,epochs=2")
    assert (name, path) == ("default-base_model=models_tapt-e5-epochs=2", "configs/default.yaml")
    assert overrides == {"base_model": "models/tapt-e5", "epochs": 2}
    with pytest.raises(SystemExit, match="key=value"):
        parse_recipe("configs/default.yaml:epochs")


@pytest.mark.slow
def test_compare_trains_each_recipe_per_seed_and_chooses_on_dev_ood(
    tmp_path, tiny_base, tiny_data, monkeypatch, capsys
):
    from train import compare

    monkeypatch.setattr(compare, "OOD_SETS", {"dev_ood": str(tiny_data["dev"]),
                                              "test_ood": str(tiny_data["test"])})
    settings = tiny_config(tiny_base, tiny_data, tmp_path / "unused", epochs=3)
    mean = write_config(tmp_path / "mean.yaml", settings)
    mention = write_config(tmp_path / "mention.yaml", {**settings, "pooling": "mention"})
    out = tmp_path / "compare"
    recipes = [mean, mention, f"{mention}:dropout_samples=2,label_smoothing=0.1"]
    compare.main([*recipes, "--seeds", "1", "2", "--set", "epochs=2", "--out", str(out)])
    runs = read_csv(out / "runs.csv")
    tuned = "mention-dropout_samples=2-label_smoothing=0.1"
    assert [(r["recipe"], r["seed"]) for r in runs] == [
        ("mean", "1"), ("mention", "1"), (tuned, "1"), ("mean", "2"), ("mention", "2"),
        (tuned, "2")]
    for run in runs:
        for name in ("dev", "test", "dev_ood", "test_ood"):
            assert 0 <= float(run[f"{name}_stance_macro_f1"]) <= 1
    summary = read_csv(out / "summary.csv")
    assert [(r["recipe"], r["seeds"]) for r in summary] == [
        ("mean", "2"), ("mention", "2"), (tuned, "2")]
    cells = read_csv(out / "cells.csv")
    assert {r["recipe"] for r in cells} == {"mean", "mention", tuned}
    verdict = (out / "verdict.txt").read_text(encoding="utf-8")
    assert verdict.startswith("mention: dev_ood stance") and "vs mean" in verdict
    assert f"\n{tuned}: dev_ood stance" in verdict
    assert verdict in capsys.readouterr().out
    assert not any((out / "models").iterdir())

    # Called again with the same --out (a cut-short comparison resumed), finished runs are kept.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(compare, "train_and_score", no_training)
    compare.main([*recipes, "--seeds", "1", "2", "--set", "epochs=2", "--out", str(out)])
    assert read_csv(out / "runs.csv") == runs
    with pytest.raises(SystemExit, match="other configs"):
        compare.main([*recipes, "--seeds", "1", "--set", "epochs=3", "--out", str(out)])
    with pytest.raises(SystemExit, match="path:key=value"):
        compare.main([f"{mean}:epochs", "--out", str(tmp_path / "other")])


@pytest.mark.slow
def test_leave_one_actor_out_scores_each_held_out_actor(tmp_path, tiny_base, tiny_data,
                                                        monkeypatch):
    from train import leave_one_actor_out as loao
    from train.config import ConfigError

    monkeypatch.setattr(loao, "OOD_SETS", {"dev_ood": str(tiny_data["dev"]),
                                           "test_ood": str(tiny_data["test"])})
    config = write_config(tmp_path / "mention.yaml", tiny_config(
        tiny_base, tiny_data, tmp_path / "unused", epochs=2, pooling="mention"))
    out = tmp_path / "loao"
    loao.main(["--config", config, "--seeds", "7", "--out", str(out)])
    runs = read_csv(out / "runs.csv")
    # The model on all actors scores each of the three; each held-out model its held actor.
    assert [(r["actor"], r["trained on it"]) for r in runs] == [
        ("iraq", "True"), ("iran", "True"), ("us", "True"),
        ("iraq", "False"), ("iran", "False"), ("us", "False")]
    for run in runs:
        assert 0 <= float(run[f"test_ood_{run['actor']}_f1"]) <= 1
    # The held-out model was scored with the actor added back, as a user would load it, on
    # every set: dev and test too, not only the training's own reports without the actor.
    for name in loao.SETS:
        metrics = json.loads((out / "reports" / "without-us-7" / name / "metrics.json")
                             .read_text(encoding="utf-8"))
        assert any(cell.startswith("us:") for cell in metrics["per_cell"]), name
    assert (out / "reports" / "without-us-7" / "test" / "confusion_us.png").is_file()
    summary = read_csv(out / "summary.csv")
    assert len(summary) == 6 and all(r["seeds"] == "1" for r in summary)

    # Called again (cut short, or more actors later), finished runs are read back, not trained.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(loao, "train_and_score", no_training)
    loao.main(["--config", config, "--seeds", "7", "--hold-out", "iran", "--out", str(out)])
    assert [(r["actor"], r["trained on it"]) for r in read_csv(out / "runs.csv")] == [
        ("iraq", "True"), ("iran", "True"), ("us", "True"), ("iran", "False")]
    with pytest.raises(ConfigError, match="--hold-out syria: not an actor"):
        loao.main(["--config", config, "--hold-out", "syria", "--out", str(out)])
    settings = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    write_config(tmp_path / "mention.yaml", {**settings, "epochs": 3})
    with pytest.raises(SystemExit, match="other configs or settings"):
        loao.main(["--config", config, "--seeds", "7", "--out", str(out)])


def test_leave_one_actor_out_needs_mention_pooling(tmp_path, tiny_base, tiny_data):
    from train.config import ConfigError
    from train.leave_one_actor_out import main

    config = write_config(tmp_path / "mean.yaml",
                          tiny_config(tiny_base, tiny_data, tmp_path / "unused"))
    with pytest.raises(ConfigError, match="needs `pooling: mention`"):
        main(["--config", config])


def test_pseudo_labels_keep_sure_sentences_and_cap_each_cell(tiny_model, tmp_path):
    from train.self_training import confidence, pseudo_label

    folder, _ = tiny_model
    pool = [{"id": str(i), "text": r["text"], "doc_id": "d"} for i, r in enumerate(tiny_records())]
    teacher = load(folder)
    every = pseudo_label(folder, pool, threshold=0.01, per_cell=len(pool))
    assert len(every) == len(pool)  # nothing is below a 1% top probability
    by_text = {p.text: p for p in teacher.predict([r["text"] for r in pool])}
    for record in every:
        prediction = by_text[record["text"]]
        assert record["stance"] == prediction.stance  # the teacher's labels, as records
        assert record["sentiment"] == prediction.sentiment
        assert record["confidence"] == pytest.approx(confidence(prediction), abs=1e-4)
    capped = pseudo_label(folder, pool, threshold=0.01, per_cell=1)
    cells = Counter(tuple(sorted(f"{a}:{v}" for a, v in r["stance"].items()
                                 if v not in ("neutral", "absent"))) for r in capped)
    assert len(capped) < len(every) and len(capped) <= len(cells) * 3
    surest = max(r["confidence"] for r in every)
    assert pseudo_label(folder, pool, threshold=surest + 1e-3, per_cell=9) == []


@pytest.mark.slow
def test_self_training_trains_a_student_per_round_and_seed(tmp_path, tiny_model, tiny_base,
                                                           tiny_data, monkeypatch):
    from train import self_training

    monkeypatch.setattr(self_training, "OOD_SETS", {"dev_ood": str(tiny_data["dev"]),
                                                    "test_ood": str(tiny_data["test"])})
    config = write_config(tmp_path / "mean.yaml", tiny_config(
        tiny_base, tiny_data, tmp_path / "unused", epochs=2))
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": f"u{i}", "text": r["text"]}, ensure_ascii=False)
                            + "\n" for i, r in enumerate(tiny_records())), encoding="utf-8")
    out = tmp_path / "st"
    self_training.main(["--teacher", str(tiny_model[0]), "--pool", str(pool), "--config", config,
                        "--threshold", "0.05", "--rounds", "2", "--seeds", "3", "--out", str(out)])
    runs = read_csv(out / "runs.csv")
    assert [(r["round"], r["seed"]) for r in runs] == [("1", "3"), ("2", "3")]
    assert all(int(r["pseudo"]) > 0 and 0 <= float(r["dev_ood_stance_macro_f1"]) <= 1
               for r in runs)
    train = (out / "data" / "round2-3" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    labelled = tiny_data["train"].read_text(encoding="utf-8").splitlines()
    assert train[:len(labelled)] == labelled  # the labelled file, then the pseudo-labels
    assert len(train) == len(labelled) + int(runs[1]["pseudo"])
    assert json.loads(train[-1])["id"].startswith("pseudo-u")
    assert not any((out / "models").iterdir())  # round 1's student went once round 2 was done

    # Called again (cut short, or more seeds later), finished rounds are kept.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(self_training, "train_and_score", no_training)
    self_training.main(["--teacher", str(tiny_model[0]), "--pool", str(pool), "--config", config,
                        "--threshold", "0.05", "--rounds", "2", "--seeds", "3", "--out", str(out)])
    assert read_csv(out / "runs.csv") == runs
    with pytest.raises(SystemExit, match="other configs or settings"):
        self_training.main(["--teacher", str(tiny_model[0]), "--pool", str(pool), "--config",
                            config, "--threshold", "0.5", "--seeds", "3", "--out", str(out)])


def test_tapt_loss_on_the_masked_positions_equals_the_full_masked_lm_loss(tiny_base):
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

    from train.tapt import MaskedPositionsLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    mlm = AutoModelForMaskedLM.from_pretrained(tiny_base).eval()
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    batch = collate([tokenizer(r["text"]) for r in tiny_records()])
    assert (batch["labels"] != -100).any()
    with torch.no_grad():
        full = mlm(**batch).loss
        masked_only = MaskedPositionsLM(mlm)(**batch)["loss"]
    torch.testing.assert_close(masked_only, full)


@pytest.mark.slow
def test_tapt_trains_the_encoder_layers_and_writes_a_base_model_folder(tmp_path, tiny_base):
    from safetensors.torch import load_file

    from infer.model import load_encoder
    from train import tapt

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": f"u{i}", "text": r["text"]}, ensure_ascii=False)
                            + "\n" for i, r in enumerate(tiny_records() * 4)), encoding="utf-8")
    out = tmp_path / "tapt"
    tapt.main(["--pool", str(pool), "--base", str(tiny_base), "--out", str(out), "--epochs", "2",
               "--batch-size", "8", "--learning-rate", "1e-3"])
    load_encoder(out)  # a plain encoder folder, as fine-tuning loads it
    before, after = load_file(tiny_base / "model.safetensors"), load_file(out / "model.safetensors")
    word = "embeddings.word_embeddings.weight"
    assert torch.equal(before[word], after[word])  # frozen, as in fine-tuning
    layer = "encoder.layer.1.attention.self.query.weight"
    assert not torch.equal(before[layer], after[layer])
    info = json.loads((out / "tapt_info.json").read_text(encoding="utf-8"))
    assert info["sentences"] == 4 * len(tiny_records()) and len(info["pool_sha256"]) == 64
