"""The label schema and the JSONL record reader."""

from __future__ import annotations

import json

import pytest

from infer.labels import LabelError, LabelSchema, decode, read_records
from support import tiny_records, write_jsonl


def test_default_schema_has_a_head_per_actor_plus_sentiment():
    schema = LabelSchema.stance()
    assert [h.name for h in schema.heads] == ["iraq", "iran", "us", "sentiment"]
    assert schema.actors == ["iraq", "iran", "us"]
    assert LabelSchema.from_dict(schema.to_dict()) == schema


def test_encode_decode_round_trip():
    schema = LabelSchema.stance(["iraq", "us"])
    record = {"stance": {"iraq": "deescalatory", "us": "supportive"}, "sentiment": "positive"}
    assert decode(schema, schema.encode(record)) == record


def _bad_file(tmp_path, mutate) -> str:
    records = tiny_records()
    mutate(records)
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(LabelError) as err:
        read_records(path, LabelSchema.stance())
    return str(err.value)


def test_unknown_value_names_line_and_field(tmp_path):
    message = _bad_file(tmp_path, lambda r: r[2]["stance"].update(us="friendly"))
    assert "bad.jsonl:3" in message and "'stance.us'" in message and "'friendly'" in message


def test_missing_actor_names_line_and_field(tmp_path):
    message = _bad_file(tmp_path, lambda r: r[4]["stance"].pop("iran"))
    assert "bad.jsonl:5" in message and "missing field 'stance.iran'" in message


def test_duplicate_id_names_both_lines(tmp_path):
    message = _bad_file(tmp_path, lambda r: r[6].update(id=r[1]["id"]))
    assert "bad.jsonl:7" in message and "line 2" in message


def test_empty_text_is_rejected(tmp_path):
    message = _bad_file(tmp_path, lambda r: r[0].update(text="   "))
    assert "bad.jsonl:1" in message and "'text'" in message


def test_malformed_json_names_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    good = json.dumps(tiny_records()[0], ensure_ascii=False)
    path.write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(LabelError, match="broken.jsonl:2: malformed JSON"):
        read_records(path, LabelSchema.stance())


def test_other_actor_sets_come_from_config():
    schema = LabelSchema.stance(["iraq", "turkey"])
    record = {"stance": {"iraq": "neutral", "turkey": "escalatory"}, "sentiment": "negative"}
    assert schema.encode(record) == [3, 0, 0]
