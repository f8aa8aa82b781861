"""`python -m report SCORED OUT_DIR [--input CORPUS ...]`: see report/corpus_report.py."""

import sys

from report.corpus_report import main

sys.exit(main())
