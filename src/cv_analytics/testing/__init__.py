"""Test doubles shared by the tests and the benchmark: a TCP fault proxy and a fast SQS stand-in."""
