"""CloudWatch metrics from the Lambda functions, as Embedded Metric Format log lines.

Each invocation collects its own figures and prints them once at its end through Powertools'
EMF provider; CloudWatch Logs turns the line into metrics, with no PutMetricData call and no
extra permission. A provider per invocation (rather than Powertools' ``Metrics``, whose
metric set is shared by every instance in the process) keeps invocations that run at the
same time in one process (the embedded runner) from mixing their figures.

``POWERTOOLS_METRICS_NAMESPACE`` names the namespace (default ``CvAnalytics``, the one the
Terraform alarms watch); ``POWERTOOLS_SERVICE_NAME`` the ``service`` dimension;
``POWERTOOLS_METRICS_DISABLED=true`` prints nothing (``cv-analytics up`` sets it unless it is
set already, so the local console stays readable).
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

DEFAULT_NAMESPACE = "CvAnalytics"


def emf_provider(*, default_service: str, **dimensions: str) -> AmazonCloudWatchEMFProvider:
    """An empty metric set for one EMF line: the namespace, ``service`` and ``dimensions``."""
    provider = AmazonCloudWatchEMFProvider(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
        service=os.environ.get("POWERTOOLS_SERVICE_NAME") or default_service,
    )
    for name, value in dimensions.items():
        provider.add_dimension(name=name, value=value)
    return provider
