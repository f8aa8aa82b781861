"""Fine-tuning, evaluation and the baseline for the stance and sentiment classifier."""
