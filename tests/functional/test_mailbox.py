"""`cv-analytics mail` against an emulator holding thousands of captured emails.

The mailbox is a moto server in a process of its own: moto's backends are global to a
process, so one embedded here would share its emails with every other test (and 2,000 of
them would slow each test that reads mail).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cv_analytics.aws.ses import OutgoingEmail
from cv_analytics.embedded import wait_until_ready
from cv_analytics_cli.main import main as cli
from tests.support.network import free_port
from tests.support.stack import REGION

MESSAGES = 2_000
SENDER, RECIPIENT = "reports@mailbox.example.com", "owner@mailbox.example.com"
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def _report(n: int) -> bytes:
    body = f"Report number {n}\n" + "Queries: 150 / 75 / +75 (+100%)\n" * 60
    html = f"<html><body><h1>Report number {n}</h1><pre>{body}</pre></body></html>"
    email = OutgoingEmail(sender=SENDER, recipient=RECIPIENT, subject=f"Report {n}", html=html, text=body)
    return email.to_mime()


@pytest.fixture(scope="module")
def big_mailbox() -> Iterator[str]:
    """A moto server that has captured MESSAGES report-sized emails, oldest "Report 0"."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{endpoint}/moto-api/", timeout=60)
        _fill(endpoint)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _fill(endpoint: str) -> None:
    """Send MESSAGES emails one at a time, so that email n is captured n-th."""
    import boto3

    ses = boto3.session.Session().client(
        "ses", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    ses.verify_email_identity(EmailAddress=SENDER)
    for n in range(MESSAGES):
        ses.send_raw_email(Source=SENDER, Destinations=[RECIPIENT], RawMessage={"Data": _report(n)})


def _mail(endpoint: str, *args: str) -> tuple[int, str, float]:
    began = time.monotonic()
    result = CliRunner().invoke(cli, ["mail", *args], env={"AWS_ENDPOINT_URL": endpoint, **_ENVIRONMENT})
    return result.exit_code, result.output, time.monotonic() - began


def test_mail_with_thousands_lists_only_the_newest_twenty(big_mailbox, record_property):
    """With 2,000 emails `mail` answers, listing the newest 20 by their absolute positions."""
    code, output, seconds = _mail(big_mailbox)
    record_property("mail_list_seconds", round(seconds, 2))
    listed = [line for line in output.splitlines() if line.startswith("[")]
    assert code == 0, output
    assert f"{MESSAGES} emails; the newest 20" in output
    assert [line.split("]")[0] for line in listed] == [f"[{n}" for n in range(MESSAGES - 20, MESSAGES)]


def test_mail_show_picks_any_of_thousands(big_mailbox, record_property):
    """`mail --show N` prints email N even when it is far outside the listed newest ones."""
    code, output, seconds = _mail(big_mailbox, "--show", "7")
    record_property("mail_show_seconds", round(seconds, 2))
    assert code == 0, output
    assert "--- Report 7 ---\nReport number 7\n" in output


def test_mail_show_beyond_the_mailbox_names_the_range(big_mailbox):
    """An index past the end is a usage error that says how many emails there are."""
    code, output, _ = _mail(big_mailbox, "--show", str(MESSAGES))
    assert code == 2
    assert f"there are {MESSAGES} emails (0-{MESSAGES - 1})" in output


def test_mail_last_zero_lists_every_email(big_mailbox):
    """`--last 0` lists all 2,000, oldest first."""
    code, output, _ = _mail(big_mailbox, "--last", "0", "--show", "0")
    listed = [line for line in output.splitlines() if line.startswith("[")]
    assert code == 0, output
    assert len(listed) == MESSAGES
    assert listed[0].startswith("[0] Report 0  →  owner@mailbox.example.com")
