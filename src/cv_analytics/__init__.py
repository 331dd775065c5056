"""cv-analytics: the CV chatbot analytics pipeline, runnable locally and on AWS.

Kept import-light on purpose: the Lambda images import submodules of this package
and must not pull in the CLI, the web framework or the emulator.
"""

__version__ = "0.1.0"
