"""The corpus report: charts and tables of what `infer score` wrote (`python -m report`)."""
