"""FastAPI dependencies, declared once as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cv_ingest_api.publisher import BackgroundPublisher
from cv_ingest_api.settings import IngestSettings


def get_settings(request: Request) -> IngestSettings:
    return request.app.state.settings


def get_publisher(request: Request) -> BackgroundPublisher:
    return request.app.state.publisher


SettingsDep = Annotated[IngestSettings, Depends(get_settings)]
PublisherDep = Annotated[BackgroundPublisher, Depends(get_publisher)]
