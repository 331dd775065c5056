"""The processor Lambda: SQS FIFO batches in, raw events and correlated records out."""
