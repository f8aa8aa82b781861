"""`python -m infer COMMAND ...`: command-line tools around a trained model.

    python -m infer score corpus.jsonl scored.jsonl --model models/default
    python -m infer info models/default

Each command is one entry of `COMMANDS`: a line of help, a function that declares its arguments
and a function that runs it and returns the exit status. A new command is a new entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infer import DEFAULT_MODEL_DIR, MODEL_ENV, default_model_dir
from infer.actors import read_actor_file
from infer.classifier import BACKENDS, DEFAULT_BATCH_SIZE
from infer.corpus_io import ID_FIELD, INPUT_FORMATS, OUTPUT_FORMATS, CorpusError, positive_int
from infer.model import ModelMeta, NotAModelFolder
from infer.score import DEFAULT_CHUNK_SIZE, ScoreError, ScoreOptions, progress_path, score

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Also writes OUTPUT.rejects.jsonl (records that cannot be scored, with line number, raw "
        "text and reason) and, while running, OUTPUT.progress.json. After Ctrl-C, kill or a "
        "crash, rerun with --resume: no row is lost or written twice."
    )
    parser.add_argument("input", type=Path,
                        help="corpus: .jsonl, .csv, .tsv, .txt (one document a line, each "
                             "optionally .gz) or .parquet")
    parser.add_argument("output", type=Path, help="scored rows: .jsonl, .csv or .parquet")
    parser.add_argument("--model", type=Path,
                        help=f"trained model folder (default: ${MODEL_ENV}, else "
                             f"{DEFAULT_MODEL_DIR})")
    parser.add_argument("--format", choices=INPUT_FORMATS,
                        help="input format, when the extension does not say")
    parser.add_argument("--text-field", default="text",
                        help="field or column holding the text (default: text)")
    parser.add_argument("--id-field",
                        help=f"field or column holding the id (default: {ID_FIELD!r} when the "
                             "records have it, else the line number, or the row number for "
                             "Parquet; the summary says which)")
    parser.add_argument("--split-sentences", action="store_true",
                        help="score each sentence of a document as its own row, with doc_id and "
                             "sentence (1-based); its id is <doc id>:<sentence>")
    parser.add_argument("--include-text", action="store_true", help="copy the text to the output")
    parser.add_argument("--add-actors", type=Path, metavar="FILE",
                        help='JSON file of actors to ask a mention-pooling model about, name -> '
                             'aliases: {"turkey": ["تركيا", "أنقرة", "أردوغان"]}; also replaces '
                             "the aliases of a trained actor")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="CPU numerics (default: auto = bf16 on CPUs with native bf16, "
                             "else fp32)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        help=f"texts per forward pass (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--chunk-size", type=positive_int,
                        help=f"rows written between commits (default {DEFAULT_CHUNK_SIZE}); "
                             "memory grows with it. A resumed run keeps the first run's value")
    parser.add_argument("--threads", type=positive_int,
                        help="CPU threads for torch (default: torch's choice; with --engine "
                             "ray: per actor, default 1)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run into the same OUTPUT")
    ray_group = parser.add_argument_group(
        "Ray engine", "--engine ray: INPUT is a file or a folder of files (shards), OUTPUT a "
        "folder of part-* shards plus OUTPUT/rejects/; see infer/ray_score.py")
    ray_group.add_argument("--engine", choices=ENGINES, default="local",
                           help="local: this process (default); ray: a Ray cluster, or a local Ray")
    ray_group.add_argument("--address",
                           help="Ray cluster to join, e.g. ray://head:10001 or auto (default: "
                                "$RAY_ADDRESS, else start Ray on this machine)")
    ray_group.add_argument("--actors", type=positive_int,
                           help="scoring actors, each loading the model once (default: the "
                                "cluster's CPUs divided by --threads)")
    ray_group.add_argument("--output-format", choices=OUTPUT_FORMATS, default="parquet",
                           help="format of the output shards (default: parquet)")


def _run_score(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _run_ray_score(args)
    for name in ("address", "actors"):
        if getattr(args, name) is not None:
            print(f"error: --{name} applies to --engine ray only", file=sys.stderr)
            return 2
    if args.output_format != "parquet":
        print("error: --output-format applies to --engine ray only; the local engine writes "
              "the format named by OUTPUT's extension", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        summary = score(_score_options(args))
    except (CorpusError, ScoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        saved = progress_path(args.output)
        hint = (f"progress is saved in {saved}; rerun the same command with --resume to continue"
                if saved.exists() else "nothing was written")
        print(f"\ninterrupted: {hint}", file=sys.stderr)
        return 130
    print(summary.describe(), file=sys.stderr)
    return 0


def _run_ray_score(args: argparse.Namespace) -> int:
    for name in ("resume", "chunk_size"):
        if getattr(args, name):
            print(f"error: --{name.replace('_', '-')} applies to --engine local only",
                  file=sys.stderr)
            return 2
    try:
        options = _score_options(args)
        # Imported here: Ray is an optional extra, and a heavy import.
        from infer.ray_score import RayOptions, score_with_ray

        summary = score_with_ray(options, RayOptions(
            address=args.address, actors=args.actors, threads=args.threads or 1,
            output_format=args.output_format,
        ))
    except (CorpusError, ScoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary.describe(), file=sys.stderr)
    return 0


def _score_options(args: argparse.Namespace) -> ScoreOptions:
    return ScoreOptions(
        input=args.input,
        output=args.output,
        model=args.model or default_model_dir(),
        format=args.format,
        text_field=args.text_field,
        id_field=args.id_field,
        split_sentences=args.split_sentences,
        include_text=args.include_text,
        backend=args.backend,
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        resume=args.resume,
        actors=_actor_file(args.add_actors),
    )


def _actor_file(path: Path | None) -> dict[str, list[str]] | None:
    try:
        return read_actor_file(path) if path else None
    except ValueError as e:
        raise ScoreError(str(e)) from None


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, nargs="?",
                        help=f"model folder (default: ${MODEL_ENV}, else {DEFAULT_MODEL_DIR})")


def _run_info(args: argparse.Namespace) -> int:
    """Print a model's heads and settings as JSON; exit 2 with the reason if it is none."""
    try:
        meta = ModelMeta.read(args.model or default_model_dir())
    except NotAModelFolder as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    info = {"actors": meta.actors, **meta.schema.to_dict(), "pooling": meta.pooling,
            "max_length": meta.max_length, "normalizer": meta.normalizer.to_dict()}
    if meta.aliases is not None:
        info.update(aliases=meta.aliases.to_dict(), trained_actors=list(meta.trained_actors),
                    entity_markers=meta.entity_markers)
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0


COMMANDS: dict[str, Command] = {
    "score": Command("batch-score a corpus file into JSONL, CSV or Parquet", _score_arguments,
                     _run_score),
    "info": Command("a model folder's heads and settings (exit 2 if it is not a model)",
                    _info_arguments, _run_info),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infer",
                                     description="Arabic stance and sentiment: command-line tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
