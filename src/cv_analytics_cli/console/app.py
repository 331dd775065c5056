"""The console: a FastAPI app that `cv-analytics up` mounts at ``/console``.

Server-rendered pages and fragments; ``static/console.js`` swaps the fragments in every few
seconds, so health and the feed update without a reload. The ingest service's own app never
includes it: only the local pipeline mounts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from cv_analytics import ops
from cv_analytics.mailbox import MailboxUnavailable
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.console.chart import day_chart
from cv_analytics_cli.console.rendering import render
from cv_analytics_cli.console.services import ConsoleServices, MailNotFound, this_week
from cv_reporter.rendering import render_weekly_report

_STATIC = Path(__file__).parent / "static"
FEED_LIMIT = 20

# The captured email is shown as its recipient would see it, and trusted no further: no
# scripts, no forms, no requests anywhere but inline images.
_EMAIL_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:"


def create_console(services: ConsoleServices | None = None, *, refresh_seconds: float = 3.0) -> FastAPI:
    """The console app; mount it (``app.mount("/console", create_console())``)."""
    app = FastAPI(title="cv-analytics console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services or ConsoleServices()
    app.state.refresh_seconds = refresh_seconds
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(pages)
    app.include_router(fragments)
    app.include_router(api)
    return app


def _services(request: Request) -> ConsoleServices:
    services: ConsoleServices = request.app.state.services
    return services


Services = Annotated[ConsoleServices, Depends(_services)]
pages = APIRouter()
fragments = APIRouter(prefix="/fragments")
api = APIRouter(prefix="/api")


def _page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    base = request.scope.get("root_path", "")
    html = render(template, base=base, refresh=request.app.state.refresh_seconds, **context)
    return HTMLResponse(html, status_code=status_code)


def _week(text: str | None) -> IsoWeek:
    if not text:
        return this_week()
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@pages.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    services: Services,
    week: Annotated[str | None, Query()] = None,
    redriven: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Health, the counters, the live feed, a week's report, the mailbox and the DLQ on one page."""
    try:
        chosen = _week(week)
    except HTTPException as exc:
        return _page(request, "error.html.j2", status_code=400, title="Not a week", message=exc.detail)
    summary = services.week_summary(chosen)
    return _page(
        request,
        "console.html.j2",
        health=services.health(),
        metrics=services.metrics(),
        feed=services.feed(limit=FEED_LIMIT),
        summary=summary,
        chart=day_chart(summary.days),
        week=chosen,
        this_week=this_week(),
        redriven=redriven,
    )


@pages.get("/report/{week}/email.html", response_class=HTMLResponse)
def report_email(week: str, services: Services) -> HTMLResponse:
    """The week's email HTML exactly as the reporter renders it (nothing is sent)."""
    email = render_weekly_report(services.week_summary(_week(week)))
    return HTMLResponse(email.html, headers={"Content-Security-Policy": _EMAIL_POLICY})


@pages.get("/mail/{number}", response_class=HTMLResponse)
def mail(request: Request, number: int, services: Services) -> HTMLResponse:
    """One captured email: its headers, its HTML as the recipient sees it, its text part."""
    try:
        email = services.mail(number)
    except (MailNotFound, MailboxUnavailable) as exc:
        return _page(request, "error.html.j2", status_code=404, title="No such email", message=str(exc))
    return _page(request, "mail.html.j2", number=number, email=email)


@pages.get("/mail/{number}/body.html", response_class=HTMLResponse)
def mail_body(number: int, services: Services) -> HTMLResponse:
    try:
        email = services.mail(number)
    except (MailNotFound, MailboxUnavailable) as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return HTMLResponse(email.html, headers={"Content-Security-Policy": _EMAIL_POLICY})


@pages.get("/dlq/{message_id}", response_class=HTMLResponse)
def parked_message(request: Request, message_id: str, services: Services) -> HTMLResponse:
    """A parked message with its reason, and the form that redrives it."""
    try:
        message = services.show_parked(message_id)
    except ops.ParkedMessageNotFound as exc:
        return _page(request, "error.html.j2", status_code=404, title="Not in the DLQ", message=str(exc))
    return _page(request, "parked.html.j2", message=message)


@pages.post("/dlq/{message_id}/redrive", response_class=HTMLResponse)
async def redrive(request: Request, message_id: str, services: Services) -> Any:
    """Send a parked message back to the queue, once the form's confirmation box is ticked."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    if form.get("confirm") != ["yes"]:
        message = "Tick the confirmation box to redrive this message: nothing was sent."
        return _page(request, "error.html.j2", status_code=400, title="Not confirmed", message=message)
    try:
        report = await run_in_threadpool(services.redrive, message_id)
    except ops.ParkedMessageNotFound as exc:
        return _page(request, "error.html.j2", status_code=404, title="Not in the DLQ", message=str(exc))
    outcome = next(iter(report.outcomes), None)
    if outcome is None or outcome.action != "redriven":
        reason = outcome.reason if outcome is not None else "the DLQ returned nothing to redrive"
        return _page(request, "error.html.j2", status_code=409, title="Kept in the DLQ", message=reason)
    base = request.scope.get("root_path", "")
    return RedirectResponse(f"{base}/?redriven={outcome.id}#dlq", status_code=303)


@fragments.get("/health", response_class=HTMLResponse)
def health_fragment(request: Request, services: Services) -> HTMLResponse:
    return _page(request, "_health.html.j2", health=services.health())


@fragments.get("/metrics", response_class=HTMLResponse)
def metrics_fragment(request: Request, services: Services) -> HTMLResponse:
    return _page(request, "_metrics.html.j2", metrics=services.metrics())


@fragments.get("/feed", response_class=HTMLResponse)
def feed_fragment(request: Request, services: Services) -> HTMLResponse:
    return _page(request, "_feed.html.j2", feed=services.feed(limit=FEED_LIMIT))


@fragments.get("/dlq", response_class=HTMLResponse)
def dlq_fragment(request: Request, services: Services) -> HTMLResponse:
    return _page(request, "_dlq.html.j2", listing=services.parked())


@fragments.get("/mail", response_class=HTMLResponse)
def mail_fragment(request: Request, services: Services) -> HTMLResponse:
    try:
        headlines, problem = services.mail_headlines(), None
    except (MailNotFound, MailboxUnavailable) as exc:
        headlines, problem = [], str(exc)
    return _page(request, "_mail.html.j2", headlines=headlines, problem=problem)


@api.get("/health")
def health_json(services: Services) -> JSONResponse:
    return JSONResponse(jsonable_encoder(services.health()))


@api.get("/metrics")
def metrics_json(services: Services) -> JSONResponse:
    return JSONResponse(jsonable_encoder(services.metrics()))


@api.get("/feed")
def feed_json(services: Services, limit: Annotated[int, Query(ge=1, le=200)] = FEED_LIMIT) -> JSONResponse:
    return JSONResponse(jsonable_encoder(services.feed(limit=limit)))
