"""`python -m infer score --engine ray IN OUT`: local scoring, spread over a Ray cluster.

IN is a corpus file or a folder of them (shards: every file under it, sub-folders too, except
names starting with "." or "_"). OUT is a folder. The pipeline:

1. The driver lists the input files and opens each with the local reader, so that a missing
   file or column fails at once, before any model loads.
2. `map_batches` over the file list, one task per file: the local reader
   (`corpus_io.read_corpus`) and sentence splitter (`score.to_units`) turn the file into
   entries, rows to score and rejects. It is the same code as local scoring, so line numbers
   and reasons are the same.
3. `map_batches` on a pool of actors: each actor loads the model once, then scores batch after
   batch with `score.score_entries`, the function the local loop uses.
4. A datasink (`_ShardSink`) writes what each write task receives as one shard, through the
   local writers: scored rows to OUT/part-*.parquet (or .jsonl, .csv) with the columns of local
   scoring plus `file` (the input file, relative to IN), rejects to OUT/rejects/part-*.jsonl
   with `file`, `line`, `id`, `reason` and `raw`.

Rows are in no particular order across shards; `file` and `id` say where each came from.
There is no --resume: Ray retries failed tasks itself, and a failed run is rerun into an empty
OUT. On a cluster every node must see IN, OUT and the model folder at the same path (a shared
file system) and have this package installed.

Ray is imported only here, and this module only when `--engine ray` is asked for.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from infer.classifier import SORT_WINDOW, StanceClassifier
from infer.corpus_io import (
    JsonlWriter,
    Reject,
    Row,
    Writer,
    id_field_for,
    input_format,
    open_writer,
    output_format,
    read_corpus,
)
from infer.record import Layout, ScoredRecord
from infer.score import (
    Entry,
    ScoreError,
    ScoreOptions,
    Summary,
    model_meta,
    score_entries,
    to_units,
)

try:
    import ray
    import ray.data
    from ray.data import Datasink
    from ray.data.block import BlockAccessor
except ImportError:  # an optional extra: say how to get it instead of a traceback
    raise ScoreError("--engine ray needs Ray: pip install '.[ray]' (make setup installs it)") \
        from None

REJECTS_FOLDER = "rejects"
# Entries per actor call: as many as local scoring sorts by length at a time, so that batches
# carry as little padding.
ROWS_PER_CALL = SORT_WINDOW
# Ray hands whole blocks to actors, and reads a file into blocks of up to this many bytes
# (about 300 sentences): small enough to share out even a 2,000-sentence file.
BLOCK_BYTES = 128 * 1024
# Rows at least in each output shard (but one write task's worth at most).
SHARD_ROWS = 50_000


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: $RAY_ADDRESS if set, else a local Ray on this machine
    actors: int | None = None  # None: the cluster's CPUs divided by `threads`
    threads: int = 1  # torch threads in each actor
    output_format: str = "parquet"


def score_with_ray(options: ScoreOptions, ray_options: RayOptions) -> Summary:
    """Score `options.input` (a file or folder) into the folder `options.output` on Ray."""
    # Everything that can be wrong is checked before Ray starts or the model loads.
    files = input_files(options.input, options.format)
    id_fields = set()
    for path, _ in files:
        fmt = input_format(path, options.format)
        id_field = id_field_for(path, fmt, options.id_field)
        id_fields.add(id_field)
        read_corpus(path, fmt, options.text_field, id_field)
    output_format(f"part.{ray_options.output_format}")  # e.g. Parquet without pyarrow
    out = options.output.resolve()
    _check_output(options.input.resolve(), out)
    layout = Layout.for_schema(model_meta(options.model, options.actors).schema,
                               options.split_sentences,
                               options.include_text, source=True)

    rejects = out / REJECTS_FOLDER
    rejects.mkdir(parents=True, exist_ok=True)  # here: the write tasks' mkdir calls would race
    started_ray = _connect(ray_options.address)
    try:
        actors = ray_options.actors or max(
            1, int(ray.cluster_resources().get("CPU", 1) // ray_options.threads))
        sink = _ShardSink(out, ray_options.output_format, layout)
        start = time.perf_counter()
        # num_cpus=0: see _pipeline.
        _pipeline(files, options, ray_options, actors).write_datasink(
            sink, ray_remote_args={"num_cpus": 0})
        seconds = time.perf_counter() - start  # with starting the actors and loading the model
    finally:
        if started_ray:
            ray.shutdown()
    records, scored, rejected = sink.totals
    if not rejected:
        rejects.rmdir()
    return Summary(records, scored, rejected, 0, seconds, out, rejects if rejected else None,
                   next(iter(id_fields)) if len(id_fields) == 1 else None)


def input_files(path: Path, fmt: str | None = None) -> list[tuple[Path, str]]:
    """(absolute path, name shown in the `file` column) of each input file, sorted by name."""
    if path.is_file():
        return [(path.resolve(), path.name)]
    if not path.is_dir():
        raise ScoreError(f"input not found: {path}")
    files = [
        (p.resolve(), p.relative_to(path).as_posix())
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(part.startswith((".", "_")) for part in
                                   p.relative_to(path).parts)
    ]
    if not files:
        raise ScoreError(f"{path} holds no input files")
    for file, _ in files:
        input_format(file, fmt)  # an unknown extension is named now, not by a worker later
    return files


def _check_output(input: Path, out: Path) -> None:
    if out.is_file() or (out.is_dir() and any(out.iterdir())):
        raise ScoreError(f"{out} already exists: delete it, or choose another output folder")
    if out == input or input in out.parents:
        raise ScoreError(f"the output folder {out} would be inside the input; choose another")


def _connect(address: str | None) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a local Ray; True if
    this call started Ray (and should stop it)."""
    if ray.is_initialized():  # a caller (a test, a notebook) set Ray up already
        return False
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address)  # None: ray.init reads $RAY_ADDRESS
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    return True


def _pipeline(
    files: list[tuple[Path, str]], options: ScoreOptions, ray_options: RayOptions, actors: int
) -> ray.data.Dataset:
    """Input files -> entries -> scored records, as a lazy Ray dataset.

    Only the actors claim CPUs (`threads` each): the model does nearly all the work, so they
    get every CPU. Reading and writing are light and claim none (num_cpus=0); a task that
    claimed one would wait forever behind actors holding them all (ray-project/ray#44687).
    """
    context = ray.data.DataContext.get_current()
    default_block_bytes = context.target_max_block_size
    context.target_max_block_size = BLOCK_BYTES  # a dataset keeps the context it started with
    try:
        files_ds = ray.data.from_items([{"path": str(p), "name": name} for p, name in files],
                                       override_num_blocks=len(files))  # a read task per file
    finally:
        context.target_max_block_size = default_block_bytes
    entries = files_ds.map_batches(_read_files, batch_size=1, num_cpus=0, fn_kwargs={
        "fmt": options.format, "text_field": options.text_field, "id_field": options.id_field,
        "split": options.split_sentences,
    })
    return entries.map_batches(
        _Scorer,
        fn_constructor_kwargs={
            "model": str(options.model.resolve()), "backend": options.backend,
            "threads": ray_options.threads, "batch_size": options.batch_size,
            "include_text": options.include_text, "actors": options.actors,
        },
        batch_size=ROWS_PER_CALL,
        # One call at a time per actor: a call queued behind another on a busy actor would
        # wait there while an idle (or just started) actor has nothing to do.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=ray_options.threads,
    )


# Between stages an entry travels as a JSON string: Row and Reject have different fields,
# and one string column keeps every block's Arrow schema the same.


def _encode(entry: Entry) -> str:
    return json.dumps(asdict(entry), ensure_ascii=False)


def _decode(text: str) -> Entry:
    fields = json.loads(text)
    return Reject(**fields) if "reason" in fields else Row(**fields)


def _read_files(
    batch: dict, fmt: str | None, text_field: str, id_field: str | None, split: bool
) -> Iterator[dict[str, list]]:
    """The entries of the input files in `batch` (a map_batches task), a few at a time so
    that a large file is never held whole in memory."""
    out: dict[str, list] = {"file": [], "last": [], "entry": []}
    for path, name in zip(batch["path"], batch["name"], strict=True):
        file_format = input_format(path, fmt)
        records = read_corpus(path, file_format, text_field,
                              id_field_for(path, file_format, id_field))
        for entry, last in to_units(records, split):
            out["file"].append(name)
            out["last"].append(last)
            out["entry"].append(_encode(entry))
            if len(out["entry"]) == ROWS_PER_CALL:
                yield out
                out = {"file": [], "last": [], "entry": []}
    if out["entry"]:
        yield out


class _Scorer:
    """A Ray actor: loads the model once, then scores batch after batch of entries."""

    def __init__(
        self, model: str, backend: str, threads: int, batch_size: int, include_text: bool,
        actors: dict[str, list[str]] | None = None,
    ) -> None:
        # The actors share the machine's cores; more threads than the actor's CPUs would
        # make them fight over the cores instead of using them.
        torch.set_num_threads(threads)
        self._classifier = StanceClassifier.load(model, backend, actors)
        self._batch_size = batch_size
        self._include_text = include_text

    def __call__(self, batch: dict) -> dict[str, list]:
        entries = [_decode(text) for text in batch["entry"]]
        results = score_entries(self._classifier, entries, self._batch_size,
                                self._include_text)
        out: dict[str, list] = {"last": [], "rejected": [], "record": []}
        for file, last, result in zip(batch["file"], batch["last"], results, strict=True):
            rejected = isinstance(result, Reject)
            if not rejected:
                result.file = str(file)
            record = {"file": str(file), **result.to_dict()} if rejected else result.to_dict()
            out["last"].append(bool(last))
            out["rejected"].append(rejected)
            out["record"].append(json.dumps(record, ensure_ascii=False))
        return out


class _ShardSink(Datasink):
    """Writes each write task's rows as one shard in OUT and its rejects as one in
    OUT/rejects, through the local writers; `totals` is (records, scored, rejected)."""

    def __init__(self, out: Path, fmt: str, layout: Layout) -> None:
        self._out = out
        self._fmt = fmt
        self._layout = layout
        self.totals = (0, 0, 0)  # set on the driver by on_write_complete

    @property
    def min_rows_per_write(self) -> int:
        return SHARD_ROWS  # fewer, larger shards than one per (small) block

    def write(self, blocks: Iterable, ctx) -> tuple[int, int, int]:
        # The same name when Ray retries a failed task, so the retry overwrites its remains.
        name = f"part-{ctx.task_idx:05d}"
        rows: Writer | None = None
        rejects: JsonlWriter | None = None
        records = scored = rejected = 0
        for block in blocks:
            for item in BlockAccessor.for_block(block).iter_rows(public_row_format=True):
                record = json.loads(item["record"])
                if item["rejected"]:
                    rejects = rejects or JsonlWriter(
                        self._out / REJECTS_FOLDER / f"{name}.jsonl", 0)
                    rejects.write(record)
                    rejected += 1
                else:
                    rows = rows or open_writer(self._out / f"{name}.{self._fmt}", self._fmt,
                                               self._layout)
                    rows.write(ScoredRecord.parse(record))
                    scored += 1
                records += int(item["last"])
            if rows:  # bounds memory: the Parquet writer holds rows until a commit
                rows.commit()
        for writer in (rows, rejects):
            if writer:
                writer.commit()
                writer.finish()
                writer.close()
                writer.cleanup()
        return records, scored, rejected

    def on_write_complete(self, write_result) -> None:
        counts = write_result.write_returns
        self.totals = tuple(sum(c[i] for c in counts) for i in range(3))
