"""The fault proxy lives in the package, so the benchmark injects latency with the same one."""

from cv_analytics.testing.fault_proxy import FaultProxy, Mode

__all__ = ["FaultProxy", "Mode"]
