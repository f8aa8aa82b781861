"""Speed, memory and accuracy of the inference paths, side by side (`python -m bench`)."""
