"""Shared fixtures: a tiny BERT built on the spot, a tiny labelled corpus, a tiny trained model.

Plain helpers and data live in tests/support.py, which tests import; fixtures are only here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support import TINY, build_tiny_base, tiny_config, tiny_records, write_jsonl


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_base")
    texts = [t[0] for t in TINY] * 3 + ["The quick brown fox", "نص عربي قصير آخر"]
    return build_tiny_base(folder, texts)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny_data")
    records = tiny_records()
    return {
        "train": write_jsonl(folder / "train.jsonl", records),
        "dev": write_jsonl(folder / "dev.jsonl", records),
        "test": write_jsonl(folder / "test.jsonl", records),
    }


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_base, tiny_data) -> tuple[Path, dict]:
    """One trained tiny model shared by the inference tests; (folder, train results)."""
    from train.config import load_config
    from train.run import train

    out = tmp_path_factory.mktemp("tiny_model")
    results = train(load_config(None, tiny_config(tiny_base, tiny_data, out)))
    return out, results
