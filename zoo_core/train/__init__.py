"""Training: dataset, degradations, losses, the trainer and evaluation."""
