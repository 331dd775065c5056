"""The SQS stand-in lives in the package, so the benchmark times the sender with the same one."""

from cv_analytics.testing.fake_sqs import FakeSqs

__all__ = ["FakeSqs"]
