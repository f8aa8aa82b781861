"""`python -m train --config configs/default.yaml [--key value ...]`: fine-tune and report."""

from __future__ import annotations

import sys

from infer.labels import LabelError
from infer.model import ModelNotAvailable
from train.config import ConfigError, parse_args
from train.report import print_summary


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(argv)
        from train.run import train  # heavy imports only once the config is known to be good

        results = train(config)
    except (ConfigError, LabelError, ModelNotAvailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if results:
        print_summary(config, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
