"""`python -m bench --model models/default`: see bench/speed.py."""

from bench.speed import main

main()
