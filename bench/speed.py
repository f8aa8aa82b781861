"""Speed and memory of the inference paths, side by side.

    python -m bench --model models/default [--sentences 2000] [--rounds 3]
                    [--out reports/bench.json] [--input FILE | --corpus DIR] [--dev FILE]

Contenders, all on the same sentences and the same encoder:

* `pipeline`: transformers `pipeline("text-classification")` on
  `AutoModelForSequenceClassification.from_pretrained(<model>, num_labels=<all heads' labels>)`,
  called as a user would (`batch_size=8, truncation=True`). Its head is freshly initialised, so
  it is timed but not scored.
* `fp32`, `bf16`, `int8`: `StanceClassifier.predict()` (batch 32) with each backend; the
  default, `auto`, is bf16 on CPUs with native bf16 and fp32 elsewhere, and the report marks
  which one that is on the machine that ran it.
* `onnx`: the same `StanceModel` exported with `torch.onnx.export` and run by ONNX
  Runtime (2 intra-op threads) behind the same tokenisation and batching; only when
  `onnxruntime` is installed (`pip install '.[onnx]'`; not part of the default install).

Every timed loop runs in a freshly spawned process (a process's peak RSS only grows, so the
contenders must not share one), round-robin over the contenders for `--rounds` rounds so that
machine noise hits all of them alike; the report gives the median sentences/s. Every process
uses `torch.set_num_threads(2)`. Timings are end to end, from raw strings to predictions.

The input is the first `--sentences` sentences of SaudiNewsNet that pass the corpus filters of
`data/tools/corpus.py` (5-90 words, mostly Arabic), or the lines of `--input`. Only the bench
reads the corpus; nothing in `infer` needs it at run time. Accuracy columns score the dev file
through `predict()` with `train.metrics`, the code behind training's reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from importlib.util import find_spec
from multiprocessing import get_context
from pathlib import Path

import torch

from infer.classifier import DEFAULT_BATCH_SIZE, resolve_backend
from infer.labels import LabelSchema
from infer.model import ModelMeta
from infer.text import Normalizer, arabic_ratio, split_sentences

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "saudinewsnet"
DEFAULT_DEV = ROOT / "data" / "stance" / "dev.jsonl"

THREADS = 2  # the same for every contender; this is a 2-core target machine
PIPELINE_BATCH = 8  # what a user would write
DEFAULT_BATCH = DEFAULT_BATCH_SIZE  # what `predict()` uses unless told otherwise
WARMUP_SENTENCES = 64  # first calls pay lazy initialisation and kernel set-up; not timed

CONTENDERS = ("pipeline", "fp32", "bf16", "int8", "onnx")
DESCRIPTIONS = {
    "pipeline": f"transformers pipeline, batch {PIPELINE_BATCH}, untrained head (speed only)",
    "fp32": f"StanceClassifier backend='fp32', batch {DEFAULT_BATCH}",
    "bf16": f"StanceClassifier backend='bf16', batch {DEFAULT_BATCH}",
    "int8": f"StanceClassifier backend='int8' (per-token int8 Linears), batch {DEFAULT_BATCH}",
    "onnx": f"ONNX Runtime fp32 ({THREADS} intra-op threads), StanceClassifier batching",
}
# Which measured matmul rate a contender's achieved GFLOP/s is compared with.
MACHINE_DTYPE = {"pipeline": "fp32", "fp32": "fp32", "bf16": "bf16", "int8": "int8",
                 "onnx": "fp32"}
RSS_NOTE = (
    "peak RSS is the child's VmHWM from /proc/self/status. ru_maxrss (also recorded) is not "
    "used: Linux carries the pre-exec high-water mark across exec, so a spawned child reports "
    "at least the parent's peak."
)
FLOPS_NOTE = (
    "forward FLOPs per sequence of L tokens: 2 * P * L + 4 * layers * hidden * L^2, P = "
    "parameters of the transformer layers (embeddings and heads excluded). StanceClassifier "
    "backends: real (truncated) token lengths. pipeline: the padded lengths it computes "
    "(batches of 8 in input order, each padded to its longest); its useful-FLOP rate is in "
    "the JSON too."
)


# --------------------------------------------------------------------------- input sentences


def corpus_sentences(corpus: Path, n: int, min_words: int = 5, max_words: int = 90) -> list[str]:
    """The first `n` sentences of SaudiNewsNet, with the filters of data/tools/corpus.py.

    Re-implemented here (title first, then the content's sentences; normalised; 5-90 words;
    at least 80% Arabic) so that `infer` never imports the annotation tooling.
    """
    zips = sorted(Path(corpus).glob("*.zip"))
    if not zips:
        raise FileNotFoundError(f"no SaudiNewsNet zips in {corpus}; use --corpus or --input")
    clean = Normalizer()

    def candidates() -> Iterator[str]:
        for path in zips:
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    for article in json.loads(archive.read(name)):
                        title = article.get("title") or ""
                        yield from [title, *split_sentences(article.get("content") or "")]

    out = []
    for text in candidates():
        text = clean(text)
        if min_words <= len(text.split()) <= max_words and arabic_ratio(text) >= 0.8:
            out.append(text)
            if len(out) == n:
                break
    return out


def file_sentences(path: Path, n: int) -> list[str]:
    """The first `n` non-blank lines of a file."""
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line][:n]


# --------------------------------------------------------------------------- the contenders


class _OnnxModel:
    """Stands in for `StanceModel` inside `StanceClassifier`: same call, ORT logits.

    Reusing `StanceClassifier` keeps normalisation, length-sorted batching and the result
    objects identical to the PyTorch backends, so only the forward pass differs.
    """

    def __init__(self, path: Path, model_dir: Path) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # Tokenizer and metadata only: the ORT process never holds the PyTorch weights.
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.meta = ModelMeta.read(model_dir)
        self.schema: LabelSchema = self.meta.schema
        self.sizes = [len(h.labels) for h in self.schema.heads]

    def eval(self) -> _OnnxModel:
        return self

    def split(self, logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(logits, self.sizes, dim=-1)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        (logits,) = self.session.run(["logits"], feed)
        return {"logits": torch.from_numpy(logits)}


def export_onnx(model_dir: Path, path: Path) -> None:
    """Export the trained StanceModel (logits only) with dynamic batch and length."""
    import transformers

    from infer.model import StanceModel

    torch.set_num_threads(THREADS)
    transformers.logging.disable_progress_bar()
    # The tracer's notes on shape-dependent Python branches in the mask helpers are expected:
    # those branches depend only on the mask's length, which is always the input's length.
    warnings.simplefilter("ignore")
    model = StanceModel.from_pretrained(model_dir)
    tokenizer = model.tokenizer
    # Eager attention exports to plain ONNX ops; the SDPA path's mask helpers trace less well.
    model.encoder.set_attn_implementation("eager")

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids, attention_mask)["logits"]

    sample = tokenizer(["نص قصير", "نص أطول قليلا من النص الأول"], padding=True,
                       return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        Logits().eval(), (sample["input_ids"], sample["attention_mask"]), str(path),
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
        opset_version=17, dynamo=False,
    )


def _classifier(name: str, model_dir: Path, onnx_path: str | None):
    from infer.classifier import StanceClassifier

    if name == "onnx":  # fp32: ORT runs the graph as is
        return StanceClassifier(_OnnxModel(Path(onnx_path), model_dir), backend="fp32")
    return StanceClassifier.load(model_dir, backend=name)


def _pipeline(model_dir: Path) -> Callable[[list[str]], list]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    n_labels = sum(len(h.labels) for h in ModelMeta.read(model_dir).schema.heads)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=n_labels)
    pipe = pipeline("text-classification", model=model,
                    tokenizer=AutoTokenizer.from_pretrained(model_dir), device=-1)
    return lambda texts: pipe(texts, batch_size=PIPELINE_BATCH, truncation=True)


def _rss_mb() -> dict[str, float | None]:
    """This process's peak RSS (VmHWM), current RSS (VmRSS) and ru_maxrss, in MB.

    See RSS_NOTE for why ru_maxrss is recorded but not reported as the peak.
    """
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    status: dict[str, float] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    status[line[:5]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return {"peak": status.get("VmHWM", maxrss), "now": status.get("VmRSS"), "ru_maxrss": maxrss}


def _dev_scores(classifier, dev: Path) -> dict:
    from infer.labels import gold_labels, read_records
    from train.metrics import compute_metrics, f1_keys

    schema = classifier.schema
    records = read_records(dev, schema)
    predictions = classifier.predict([r["text"] for r in records])
    pred = {h.name: [p.label[h.name] for p in predictions] for h in schema.heads}
    metrics = compute_metrics(schema, gold_labels(schema, records), pred)
    return {**{key: metrics[key] for key in f1_keys(schema)}, "labels": pred}


def _time_contender(job: dict) -> dict:
    """One timed loop, in a fresh process; also scores the dev file when asked."""
    import transformers

    torch.set_num_threads(THREADS)
    transformers.logging.set_verbosity_error()  # the pipeline's fresh head warns; expected
    transformers.logging.disable_progress_bar()
    model_dir = Path(job["model"])
    sentences = json.loads(Path(job["sentences"]).read_text(encoding="utf-8"))
    classifier = None
    if job["name"] == "pipeline":
        run = _pipeline(model_dir)
    else:
        classifier = _classifier(job["name"], model_dir, job.get("onnx"))

        def run(texts: list[str]) -> list:
            return classifier.predict(texts, DEFAULT_BATCH)

    run(sentences[:WARMUP_SENTENCES])
    start, cpu_start = time.perf_counter(), time.process_time()
    outputs = run(sentences)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if len(outputs) != len(sentences):
        raise RuntimeError(f"{job['name']}: {len(outputs)} outputs for {len(sentences)} inputs")
    rss = _rss_mb()  # before scoring the dev file, which loads more code
    result = {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": rss["peak"],
              "rss_after_mb": rss["now"], "ru_maxrss_mb": rss["ru_maxrss"]}
    if job.get("dev") and classifier is not None:
        result["dev"] = _dev_scores(classifier, Path(job["dev"]))
    return result


def _in_fresh_process(fn: Callable, *args):
    """Run fn(*args) in a new spawned interpreter (not fork: nothing inherited, clean RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# --------------------------------------------------------------------------- FLOPs and peaks


def machine_gflops(size: int = 1024, reps: int = 5, trials: int = 3) -> dict[str, float]:
    """Best-of-trials matmul rate of this machine at THREADS threads, per dtype.

    int8 is `torch._int_mm` (int8 x int8 -> int32), the product the int8 backend runs, on a
    transposed weight as there.
    """
    torch.set_num_threads(THREADS)
    a, b = torch.randn(size, size), torch.randn(size, size)
    codes = torch.randint(-128, 128, (2, size, size), dtype=torch.int8)
    ops: dict[str, Callable[[], torch.Tensor]] = {
        "fp32": lambda: torch.matmul(a, b),
        "bf16": (lambda x, y: lambda: torch.matmul(x, y))(a.bfloat16(), b.bfloat16()),
        "int8": lambda: torch._int_mm(codes[0], codes[1].t()),
    }
    out = {}
    with torch.inference_mode():
        for dtype, op in ops.items():
            op()  # warm-up
            best = float("inf")
            for _ in range(trials):
                start = time.perf_counter()
                for _ in range(reps):
                    op()
                best = min(best, (time.perf_counter() - start) / reps)
            out[dtype] = 2 * size**3 / best / 1e9
    return out


def encoder_shape(model_dir: Path) -> tuple[int, int, int]:
    """(parameters of the transformer layers, layers, hidden size) of the model's encoder."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):  # shapes only, no memory
        encoder = AutoModel.from_config(config)
    params = sum(p.numel() for name, p in encoder.named_parameters()
                 if not name.startswith(("embeddings.", "pooler.")))
    return params, config.num_hidden_layers, config.hidden_size


def token_lengths(model_dir: Path, sentences: list[str]) -> dict[str, list[int]]:
    """Per-sentence tokens each path runs: StanceClassifier's (normalised, truncated to the
    model's max_length, empty texts skipped), the pipeline's real and padded lengths."""
    from transformers import AutoTokenizer

    meta = ModelMeta.read(model_dir)
    normalizer, max_length = meta.normalizer, meta.max_length
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    clean = [t for t in (normalizer(s) for s in sentences) if t]
    ours = [min(len(ids), max_length) for ids in tokenizer(clean)["input_ids"]]
    theirs = [len(ids) for ids in tokenizer(sentences, truncation=True)["input_ids"]]
    padded = []
    for start in range(0, len(theirs), PIPELINE_BATCH):
        batch = theirs[start : start + PIPELINE_BATCH]
        padded += [max(batch)] * len(batch)
    return {"classifier": ours, "pipeline": theirs, "pipeline_padded": padded}


def forward_flops(lengths: list[int], params: int, layers: int, hidden: int) -> float:
    return float(sum(2 * params * n + 4 * layers * hidden * n * n for n in lengths))


# --------------------------------------------------------------------------- the bench


def _median_rate(n: int, seconds: list[float]) -> float:
    return n / statistics.median(seconds)


def run_bench(args: argparse.Namespace) -> dict:
    torch.set_num_threads(THREADS)
    model_dir = Path(args.model)
    ModelMeta.read(model_dir)  # NotAModelFolder, before anything runs
    if args.input:
        sentences, source = file_sentences(args.input, args.sentences), str(args.input)
    else:
        sentences, source = corpus_sentences(args.corpus, args.sentences), str(args.corpus)
    if not sentences:
        raise ValueError(f"no sentences in {source}")
    dev = Path(args.dev) if args.dev else None
    skipped: dict[str, str] = {}
    if dev is None:
        skipped["dev"] = "no --dev file; F1 not measured"
    elif not dev.is_file():
        skipped["dev"] = f"no dev file at {dev}; F1 not measured"
        dev = None

    contenders = [c for c in CONTENDERS if c not in args.skip]
    if not contenders:
        raise ValueError("every contender is skipped; nothing to run")
    print(f"bench: {len(sentences)} sentences from {source}; {args.rounds} round(s); "
          f"torch.set_num_threads({THREADS}) in every contender", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        sentences_file = Path(tmp) / "sentences.json"
        sentences_file.write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
        onnx_path = Path(tmp) / "model.onnx"
        if "onnx" in contenders:
            reason = None
            if find_spec("onnxruntime") is None:
                reason = "onnxruntime is not installed (optional: pip install '.[onnx]')"
            else:
                try:
                    _in_fresh_process(export_onnx, model_dir, onnx_path)
                except Exception as e:  # noqa: BLE001 - any export failure skips, with its cause
                    reason = f"ONNX export failed: {type(e).__name__}: {e}".splitlines()[0]
            if reason:
                skipped["onnx"] = reason
                contenders.remove("onnx")
                print(f"bench: skipping onnx: {reason}", file=sys.stderr)

        machine: dict[str, float] = {}
        times: dict[str, list[float]] = {c: [] for c in contenders}
        cpu_times: dict[str, list[float]] = {c: [] for c in contenders}
        rss: dict[str, list[dict]] = {c: [] for c in contenders}
        scores: dict[str, dict] = {}
        for r in range(args.rounds):
            # The machine's rate is re-measured every round and the best kept: it is a ceiling,
            # and a single measurement can land on a moment when the machine is busy.
            for dtype, rate in machine_gflops().items():
                machine[dtype] = max(rate, machine.get(dtype, 0.0))
            # Rotate who goes first, so no contender always follows the same neighbour.
            for name in contenders[r % len(contenders):] + contenders[: r % len(contenders)]:
                job = {"name": name, "model": str(model_dir), "sentences": str(sentences_file),
                       "onnx": str(onnx_path), "dev": str(dev) if dev and r == 0 else None}
                result = _in_fresh_process(_time_contender, job)
                times[name].append(result["seconds"])
                cpu_times[name].append(result["cpu_seconds"])
                rss[name].append(result)
                if "dev" in result:
                    scores[name] = result["dev"]
                print(f"bench: round {r + 1}/{args.rounds} {name:8s} "
                      f"{len(sentences) / result['seconds']:8.1f} sentences/s", file=sys.stderr)

    params, layers, hidden = encoder_shape(model_dir)
    lengths = token_lengths(model_dir, sentences)
    flops = {key: forward_flops(v, params, layers, hidden) for key, v in lengths.items()}
    report = {
        "settings": {
            "model": str(model_dir), "sentences": len(sentences), "source": source,
            "rounds": args.rounds, "threads": THREADS, "pipeline_batch_size": PIPELINE_BATCH,
            "batch_size": DEFAULT_BATCH, "dev": str(dev) if dev else None,
            "default_backend": resolve_backend("auto"),
            "torch": torch.__version__, "transformers": _version("transformers"),
            "onnxruntime": _version("onnxruntime"), "cpu": _cpu_name(),
            "tokens": sum(lengths["classifier"]),
            "pipeline_padded_tokens": sum(lengths["pipeline_padded"]),
            "encoder": {"layer_params": params, "layers": layers, "hidden": hidden},
            "rss_note": RSS_NOTE, "flops_note": FLOPS_NOTE,
        },
        "machine_gflops": machine,
        "contenders": {},
        "skipped": skipped,
    }
    base_rate = _median_rate(len(sentences), times["pipeline"]) if "pipeline" in times else None
    base_cpu = _median_rate(len(sentences), cpu_times["pipeline"]) if "pipeline" in times else None
    reference = scores.get("fp32")
    for name in contenders:
        seconds = statistics.median(times[name])
        rate = len(sentences) / seconds
        useful = flops["pipeline" if name == "pipeline" else "classifier"] / seconds / 1e9
        computed = flops["pipeline_padded"] / seconds / 1e9 if name == "pipeline" else useful
        dtype = MACHINE_DTYPE[name]
        entry = {
            "description": DESCRIPTIONS[name],
            "sentences_per_s": rate,
            "rounds_sentences_per_s": [len(sentences) / s for s in times[name]],
            # Sentences per CPU-second (all threads): work per sentence, which a busy machine
            # disturbs much less than wall time. Includes OpenMP spin-waiting.
            "sentences_per_cpu_s": _median_rate(len(sentences), cpu_times[name]),
            "cpu_ratio_to_pipeline": (
                _median_rate(len(sentences), cpu_times[name]) / base_cpu if base_cpu else None
            ),
            "ratio_to_pipeline": rate / base_rate if base_rate else None,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rss[name]),
            "rss_after_mb": _max_or_none([r["rss_after_mb"] for r in rss[name]]),
            "ru_maxrss_mb": max(r["ru_maxrss_mb"] for r in rss[name]),
            "gflops_per_s": computed,
            "gflops_basis": "padded" if name == "pipeline" else "real token lengths",
            "useful_gflops_per_s": useful,
            "machine_dtype": dtype,
            "machine_gflops_per_s": machine[dtype],
            "pct_of_machine": 100 * computed / machine[dtype],
        }
        if name in scores:
            entry["dev"] = _dev_entry(scores[name], reference)
        report["contenders"][name] = entry
    return report


def _max_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _dev_entry(score: dict, reference: dict | None) -> dict:
    """Each macro-F1 of the model's heads, its change from fp32 in points, and the share of
    head labels equal to fp32's."""
    keys = [k for k in score if k != "labels"]
    out = {k: score[k] for k in keys}
    for key in keys:
        if reference and score[key] is not None and reference.get(key) is not None:
            out[f"{key}_delta_points"] = 100 * (score[key] - reference[key])
    if reference:
        pairs = [(a, b) for head, labels in score["labels"].items()
                 for a, b in zip(labels, reference["labels"][head], strict=True)]
        out["label_agreement_with_fp32"] = sum(a == b for a, b in pairs) / len(pairs)
    return out


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------- printing


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def format_report(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"{s['sentences']} sentences ({s['tokens']} tokens) from {s['source']}; "
        f"median of {s['rounds']} round(s); torch.set_num_threads({s['threads']}) in every "
        f"contender; CPU: {s['cpu']}; predict() default backend here: {s['default_backend']}",
        "machine matmul 1024x1024 (best of rounds): "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in report["machine_gflops"].items()),
        "",
    ]
    # The model's macro-F1 columns (stance and sentiment, or a classify model's heads).
    f1_keys = next((k for k in [[k for k in c["dev"] if k.endswith("_macro_f1")]
                                for c in report["contenders"].values() if "dev" in c]), [])
    f1_names = [k.removesuffix("_macro_f1")[:9] + " F1" for k in f1_keys]
    header = (f"{'contender':9s} {'sent/s':>8s} {'x pipe':>7s} {'x cpu':>6s} {'peak MB':>7s} "
              f"{'end MB':>6s} {'GFLOP/s':>8s} {'machine':>12s} {'% peak':>6s} "
              + "".join(f"{n:>12s} {'Δ pts':>6s} " for n in f1_names) + f"{'agree':>6s}")
    lines += [header, "-" * len(header)]
    for name, c in report["contenders"].items():
        dev = c.get("dev", {})
        gflops = _fmt(c["gflops_per_s"], ".1f") + ("*" if c["gflops_basis"] == "padded" else "")
        lines.append(
            f"{name:9s} {c['sentences_per_s']:8.1f} {_fmt(c['ratio_to_pipeline'], '.2f'):>7s} "
            f"{_fmt(c['cpu_ratio_to_pipeline'], '.2f'):>6s} "
            f"{c['peak_rss_mb']:7.0f} {_fmt(c['rss_after_mb'], '.0f'):>6s} {gflops:>8s} "
            f"{c['machine_dtype'] + ' ' + format(c['machine_gflops_per_s'], '.0f'):>12s} "
            f"{c['pct_of_machine']:6.1f} "
            + "".join(f"{_fmt(_pct(dev.get(k)), '.2f'):>12s} "
                      f"{_fmt(dev.get(k + '_delta_points'), '+.2f'):>6s} " for k in f1_keys)
            + f"{_fmt(_pct(dev.get('label_agreement_with_fp32')), '.1f'):>6s}"
        )
    lines += [
        "",
        "* pipeline GFLOP/s counts the padded batches it computes "
        f"({s['pipeline_padded_tokens']} tokens); useful-FLOP rate "
        + _fmt(report["contenders"].get("pipeline", {}).get("useful_gflops_per_s"), ".1f")
        + " GFLOP/s. Others: real token lengths.",
        "x pipe = median sentences/s over the pipeline's; x cpu = the same on sentences per "
        "CPU-second (all threads), which a busy machine disturbs less.",
        "F1 = dev macro-F1 x100 (" + (s["dev"] or "no dev file") + "); Δ vs fp32 in points; "
        "agree = % of head labels equal to fp32's.",
        "peak MB = the child's peak RSS (VmHWM, loading included); end MB = its RSS after the "
        "timed loop.",
    ]
    for name, reason in report["skipped"].items():
        lines.append(f"skipped {name}: {reason}")
    return "\n".join(lines)


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained model folder")
    parser.add_argument("--sentences", type=int, default=2000, help="how many sentences")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (median)")
    parser.add_argument("--out", default="reports/bench.json", help="JSON report path")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="SaudiNewsNet folder of daily zips")
    parser.add_argument("--input", type=Path, help="one sentence per line, instead of the corpus")
    parser.add_argument("--dev", default=str(DEFAULT_DEV),
                        help="labelled JSONL for macro-F1 ('' to skip)")
    parser.add_argument("--skip", nargs="*", default=[], choices=CONTENDERS,
                        help="contenders to leave out")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    if args.rounds < 1 or args.sentences < 1:
        raise SystemExit("--rounds and --sentences must be at least 1")
    report = run_bench(args)
    print(format_report(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"report written to {out}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
