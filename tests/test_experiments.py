"""The experiment drivers on the tiny model: model comparison and leave-one-actor-out."""

from __future__ import annotations

import csv

import pytest
import yaml

from support import tiny_config


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_config(path, settings: dict):
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return str(path)


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
    compare.main([mean, mention, "--seeds", "1", "2", "--set", "epochs=2", "--out", str(out)])
    runs = read_csv(out / "runs.csv")
    assert [(r["recipe"], r["seed"]) for r in runs] == [
        ("mean", "1"), ("mention", "1"), ("mean", "2"), ("mention", "2")]
    for run in runs:
        for name in ("dev", "test", "dev_ood", "test_ood"):
            assert 0 <= float(run[f"{name}_stance_macro_f1"]) <= 1
    summary = read_csv(out / "summary.csv")
    assert [(r["recipe"], r["seeds"]) for r in summary] == [("mean", "2"), ("mention", "2")]
    cells = read_csv(out / "cells.csv")
    assert {r["recipe"] for r in cells} == {"mean", "mention"}
    verdict = (out / "verdict.txt").read_text(encoding="utf-8")
    assert verdict.startswith("mention: dev_ood stance") and "vs mean" in verdict
    assert verdict in capsys.readouterr().out
    assert not any((out / "models").iterdir())

    # Called again with the same --out (a cut-short comparison resumed), finished runs are kept.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(compare, "train_and_score", no_training)
    compare.main([mean, mention, "--seeds", "1", "2", "--set", "epochs=2", "--out", str(out)])
    assert read_csv(out / "runs.csv") == runs
    with pytest.raises(SystemExit, match="other configs"):
        compare.main([mean, mention, "--seeds", "1", "--set", "epochs=3", "--out", str(out)])


@pytest.mark.slow
def test_leave_one_actor_out_scores_each_held_out_actor(tmp_path, tiny_base, tiny_data,
                                                        monkeypatch):
    from train import leave_one_actor_out as loao

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
    # The held-out model was scored with the actor added back, as a user would load it.
    assert (out / "reports" / "without-us-7" / "test" / "confusion_us.png").is_file()
    summary = read_csv(out / "summary.csv")
    assert len(summary) == 6 and all(r["seeds"] == "1" for r in summary)


def test_leave_one_actor_out_needs_mention_pooling(tmp_path, tiny_base, tiny_data):
    from train.config import ConfigError
    from train.leave_one_actor_out import main

    config = write_config(tmp_path / "mean.yaml",
                          tiny_config(tiny_base, tiny_data, tmp_path / "unused"))
    with pytest.raises(ConfigError, match="needs `pooling: mention`"):
        main(["--config", config])
