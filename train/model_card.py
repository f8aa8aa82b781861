"""The README.md written into every trained model folder."""

from __future__ import annotations

from pathlib import Path

from train.config import TrainConfig


def _metric_rows(results: dict) -> str:
    rows = []
    for name in ("dev", "test", "baseline_test"):
        m = results.get(name)
        if not m:
            continue
        cells = [f"{m[k]:.3f}" if k in m else "-" for k in ("stance_macro_f1",
                                                          "sentiment_macro_f1")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_model_card(config: TrainConfig, results: dict, info: dict, folder: Path) -> None:
    per_cell = results.get("test", {}).get("per_cell", {})
    cells = "\n".join(f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                      f"{m['support']} |" for c, m in per_cell.items())
    markers = ", entity markers in the text" if config.entity_markers else ""
    text = f"""# Arabic actor-stance and sentiment classifier

Fine-tuned from `{config.base_model}` ({config.pooling} pooling{markers},
max {config.max_length} tokens) on `{config.train_file}`; best epoch chosen on
`{config.dev_file}` by stance macro-F1.
Heads: {", ".join(h for h in info["heads"])}.

## Use
```python
from infer import load
clf = load("{folder}")
clf.predict("دعا العراق الولايات المتحدة إلى خفض التوتر").labels
```
Batch scoring: `python -m infer score corpus.jsonl scored.jsonl --model {folder}`.
The folder is a standard transformers encoder (`AutoModel.from_pretrained` loads the body);
`heads.safetensors` and `label_schema.json` hold the classification heads, so the full
classifier is loaded with `infer.load`, not with a plain `pipeline`.

## Metrics
| split | stance macro-F1 | sentiment macro-F1 |
|---|---|---|
{_metric_rows(results)}

Test, per cell (actor:stance):

| cell | precision | recall | F1 | support |
|---|---|---|---|---|
{cells}

## Intended use and limits
For analysts measuring how Iraqi, Iranian and US state actors are reported in Arabic news, in
aggregate. Sentence-level: it does not see the article, so pronouns and "the minister" resolve
only within the sentence. Trained on 2015 Saudi and pan-Arab press (SaudiNewsNet) plus one 2021
article: other periods, dialects and outlets will score lower. Not for decisions about
individuals.

## Data and licence
Training sentences come from SaudiNewsNet (CC BY-NC-SA 4.0; article copyright with the
newspapers); the annotations and this model are derived works under the same licence.
Reproduce with `make train` (config, seed and data hashes in `training_info.json`).
"""
    (folder / "README.md").write_text(text, encoding="utf-8")
