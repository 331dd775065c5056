"""The local console: pipeline health, a live feed, weekly reports, captured emails, the DLQ.

``cv-analytics up`` mounts ``create_console()`` at ``/console`` on its ingest server.
"""

from cv_analytics_cli.console.app import create_console
from cv_analytics_cli.console.services import ConsoleServices

__all__ = ["ConsoleServices", "create_console"]
