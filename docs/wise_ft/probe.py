"""WiSE-FT probe (docs/wise_ft/README.md): a trained model's encoder interpolated with the base
encoder, `alpha * fine-tuned + (1 - alpha) * base`, heads kept, scored on labelled files.

    python docs/wise_ft/probe.py models/default 1.0,0.8,0.6 [dev_ood,dev]
"""

from __future__ import annotations

import sys

from transformers import AutoModel

from infer import load
from infer.labels import read_records
from train.base_model import DEFAULT_BASE_MODEL, resolve_model
from train.evaluate import evaluate_texts


def main(model_dir: str, alphas: list[float], sets: list[str]) -> None:
    classifier = load(model_dir, backend="fp32")
    encoder = classifier.model.encoder
    tuned = {k: v.detach().clone() for k, v in encoder.state_dict().items()}
    base = AutoModel.from_pretrained(resolve_model(DEFAULT_BASE_MODEL)).state_dict()
    data = {name: read_records(f"data/stance/{name}.jsonl", classifier.schema) for name in sets}
    for alpha in alphas:
        encoder.load_state_dict({k: alpha * v + (1 - alpha) * base[k]
                                 if v.is_floating_point() else v for k, v in tuned.items()})
        scores = {}
        for name, records in data.items():
            metrics = evaluate_texts(classifier, [r["text"] for r in records], records,
                                     f"/tmp/wise_ft/{alpha}/{name}")
            scores[name] = f"{metrics['stance_macro_f1']:.3f} / {metrics['sentiment_macro_f1']:.3f}"
        print(alpha, scores, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [float(a) for a in sys.argv[2].split(",")],
         sys.argv[3].split(",") if len(sys.argv) > 3 else ["dev", "dev_ood"])
