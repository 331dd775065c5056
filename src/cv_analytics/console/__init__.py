"""The local console: pipeline health, a live feed, weekly reports, captured emails, the DLQ.

``cv-analytics up`` mounts ``create_console()`` at ``/console`` on its ingest server.
"""

from cv_analytics.console.app import create_console
from cv_analytics.console.services import ConsoleServices

__all__ = ["ConsoleServices", "create_console"]
