"""scripts/push_images.py against moto's ECR and Lambda and a stand-in Docker client.

No Docker daemon and no AWS account: ``FakeDocker`` records what the script asks of
Docker, moto plays ECR (repositories, tags, authorization token) and Lambda (image
functions, update_function_code, the function_updated_v2 waiter).
"""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
TAG = "abc1234"


def _load_script() -> Any:
    """The script as a module, whether or not scripts/ is on sys.path."""
    try:
        import push_images
    except ImportError:
        spec = importlib.util.spec_from_file_location("push_images", REPO_ROOT / "scripts" / "push_images.py")
        push_images = importlib.util.module_from_spec(spec)
        sys.modules["push_images"] = push_images  # dataclasses look their module up
        spec.loader.exec_module(push_images)
    return push_images


push_images = _load_script()


# --- stand-ins ---------------------------------------------------------------


class FakeDocker:
    """Records login, build, tag and push calls, in order, in ``calls``."""

    def __init__(self, push_errors: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.images = _FakeImages(self, push_errors or {})

    def login(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("login", kwargs))
        return {"Status": "Login Succeeded"}

    def ping(self) -> bool:
        return True


class _FakeImages:
    def __init__(self, docker: FakeDocker, push_errors: dict[str, str]) -> None:
        self._docker, self._push_errors = docker, push_errors

    def build(self, **kwargs: Any) -> tuple[_FakeImage, Iterator[dict[str, str]]]:
        self._docker.calls.append(("build", kwargs))
        return _FakeImage(self._docker, kwargs["tag"]), iter([])

    def push(self, repository: str, tag: str | None = None, **kwargs: Any) -> Iterator[dict]:
        ref = f"{repository}:{tag}"
        self._docker.calls.append(("push", ref))
        if ref in self._push_errors:
            return iter([{"status": "Preparing"}, {"error": self._push_errors[ref]}])
        return iter([{"status": "Pushed"}, {"aux": {"Tag": tag, "Digest": "sha256:" + "f" * 64}}])


class _FakeImage:
    def __init__(self, docker: FakeDocker, ref: str) -> None:
        self._docker, self._ref = docker, ref

    def tag(self, repository: str, tag: str | None = None) -> bool:
        self._docker.calls.append(("tag", (self._ref, f"{repository}:{tag}")))
        return True


class Recording:
    """A boto3 client that records the names of the methods called on it."""

    def __init__(self, client: Any) -> None:
        self._client, self.called = client, []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if callable(attribute):
            self.called.append(name)
        return attribute


class Untouchable:
    """Fails the test on any use: stands in for what a dry run must not touch."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"dry run used {name}")


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR",
        "AWS_ENDPOINT_URL_LAMBDA",
    ):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def ecr(aws: None) -> Any:
    client = boto3.client("ecr", region_name=REGION)
    for function in push_images.FUNCTIONS:
        client.create_repository(repositoryName=f"cv-analytics-{function}", imageTagMutability="IMMUTABLE")
    return client


@pytest.fixture
def lambda_client(ecr: Any) -> Any:
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="cv-analytics-test", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    client = boto3.client("lambda", region_name=REGION)
    for function in push_images.FUNCTIONS:
        uri = _repository_uri(ecr, function)
        client.create_function(
            FunctionName=f"cv-analytics-{function}",
            Role=role,
            PackageType="Image",
            Code={"ImageUri": f"{uri}:previous"},
        )
    return client


def _repository_uri(ecr: Any, function: str) -> str:
    repository = ecr.describe_repositories(repositoryNames=[f"cv-analytics-{function}"])
    return repository["repositories"][0]["repositoryUri"]


def _put_tag(ecr: Any, function: str, tag: str) -> None:
    manifest = (
        '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",'
        f' "config": {{"digest": "sha256:{"c" * 64}"}}, "layers": []}}'
    )
    ecr.put_image(repositoryName=f"cv-analytics-{function}", imageManifest=manifest, imageTag=tag)


def _run(options: Any, *, ecr: Any, docker: Any, lambda_client: Any = None) -> list[str]:
    lines: list[str] = []
    push_images.run(
        options,
        tag=TAG,
        ecr=ecr,
        docker_client=docker,
        lambda_client=lambda_client,
        root=REPO_ROOT,
        out=lines.append,
    )
    return lines


# --- tag naming ----------------------------------------------------------------


def test_image_tag_is_the_commit_on_a_clean_tree() -> None:
    """A clean tree's images are tagged with the short commit alone."""
    assert push_images.image_tag(TAG, dirty=False, allow_dirty=False, now=datetime.now(UTC)) == TAG


def test_image_tag_refuses_a_dirty_tree() -> None:
    """Uncommitted changes stop the push unless --allow-dirty is given."""
    with pytest.raises(push_images.PushError, match="--allow-dirty"):
        push_images.image_tag(TAG, dirty=True, allow_dirty=False, now=datetime.now(UTC))


def test_image_tag_marks_an_allowed_dirty_build() -> None:
    """A dirty build is tagged apart from the commit, with a UTC timestamp."""
    now = datetime(2025, 11, 24, 7, 30, 5, tzinfo=UTC)
    assert push_images.image_tag(TAG, dirty=True, allow_dirty=True, now=now) == (
        "abc1234-dirty-20251124T073005Z"
    )


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode, reason="no git")
def test_git_state_reports_the_short_commit_and_changes(tmp_path: Path) -> None:
    """git_state reads HEAD's short commit and notices an uncommitted file."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    clean = push_images.git_state(tmp_path)
    (tmp_path / "a.txt").write_text("b")

    assert (clean, push_images.git_state(tmp_path)) == (
        (head.stdout.strip(), False),
        (head.stdout.strip(), True),
    )


# --- build, login, push --------------------------------------------------------


def test_run_pushes_processor_then_reporter(ecr: Any) -> None:
    """Login first, then build, tag and push the processor, then the reporter."""
    docker = FakeDocker()
    _run(push_images.Options(), ecr=ecr, docker=docker)

    processor, reporter = (_repository_uri(ecr, fn) for fn in ("processor", "reporter"))
    assert [(name, arg) for name, arg in docker.calls if name != "build" and name != "login"] == [
        ("tag", (f"cv-analytics-processor:{TAG}", f"{processor}:{TAG}")),
        ("push", f"{processor}:{TAG}"),
        ("tag", (f"cv-analytics-reporter:{TAG}", f"{reporter}:{TAG}")),
        ("push", f"{reporter}:{TAG}"),
    ]
    assert [name for name, _ in docker.calls] == ["login", *["build", "tag", "push"] * 2]


def test_run_builds_each_dockerfile_from_the_repository_root(ecr: Any) -> None:
    """Builds use the repository root as context, the function's Dockerfile and the platform."""
    docker = FakeDocker()
    _run(push_images.Options(platform="linux/arm64"), ecr=ecr, docker=docker)

    builds = [(c["path"], c["dockerfile"], c["platform"]) for n, c in docker.calls if n == "build"]
    assert builds == [
        (str(REPO_ROOT), "services/processor/Dockerfile", "linux/arm64"),
        (str(REPO_ROOT), "services/reporter/Dockerfile", "linux/arm64"),
    ]


def test_options_default_to_linux_amd64() -> None:
    """Images are built for linux/amd64 unless told otherwise (matches x86_64 Lambdas)."""
    assert push_images.Options().platform == "linux/amd64"
    assert push_images.parse_args([]).platform == "linux/amd64"


def test_run_logs_in_with_the_ecr_authorization_token(ecr: Any) -> None:
    """docker login uses the user, password and registry of get_authorization_token."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    docker = FakeDocker()

    _run(push_images.Options(), ecr=ecr, docker=docker)

    assert docker.calls[0] == (
        "login",
        {
            "username": username,
            "password": password,
            "registry": data["proxyEndpoint"],
            "reauth": True,
        },
    )


def test_run_skips_a_tag_already_in_ecr(ecr: Any) -> None:
    """A tag ECR already holds is reported and neither rebuilt nor pushed (tags are immutable)."""
    _put_tag(ecr, "processor", TAG)
    docker = FakeDocker()

    lines = _run(push_images.Options(), ecr=ecr, docker=docker)

    assert [arg for name, arg in docker.calls if name == "push"] == [
        f"{_repository_uri(ecr, 'reporter')}:{TAG}"
    ]
    assert any("already in ECR" in line and "processor" in line for line in lines)


def test_push_image_reports_an_immutable_tag_rejection(ecr: Any) -> None:
    """A push ECR refuses because the tag exists says so in one line."""
    ref = f"{_repository_uri(ecr, 'processor')}:{TAG}"
    refusal = (
        f"tag invalid: The image tag '{TAG}' already exists in the 'cv-analytics-processor'"
        " repository and cannot be overwritten because the repository is immutable."
    )
    docker = FakeDocker(push_errors={ref: refusal})

    with pytest.raises(push_images.PushError, match="already exists and ECR tags are immutable") as raised:
        _run(push_images.Options(), ecr=ecr, docker=docker)
    assert "\n" not in str(raised.value)


def test_run_stops_before_building_when_a_repository_is_missing(ecr: Any) -> None:
    """A missing repository is named, and nothing is built or pushed."""
    ecr.delete_repository(repositoryName="cv-analytics-reporter")
    docker = FakeDocker()

    with pytest.raises(push_images.PushError, match="cv-analytics-reporter does not exist"):
        _run(push_images.Options(), ecr=ecr, docker=docker)
    assert docker.calls == []


# --- deploy ----------------------------------------------------------------------


def test_run_deploys_both_functions_and_waits(lambda_client: Any, ecr: Any) -> None:
    """--deploy points each function at its new image and waits with function_updated_v2."""
    recording = Recording(lambda_client)

    _run(push_images.Options(deploy=True), ecr=ecr, docker=FakeDocker(), lambda_client=recording)

    images = {
        fn: lambda_client.get_function(FunctionName=f"cv-analytics-{fn}")["Code"]["ImageUri"]
        for fn in push_images.FUNCTIONS
    }
    assert images == {fn: f"{_repository_uri(ecr, fn)}:{TAG}" for fn in push_images.FUNCTIONS}
    assert [c for c in recording.called if c in ("update_function_code", "get_waiter")] == [
        "update_function_code",
        "get_waiter",
    ] * 2


def test_deploy_reports_a_missing_function(ecr: Any) -> None:
    """Deploying to a function that does not exist fails with its name."""
    client = boto3.client("lambda", region_name=REGION)

    with pytest.raises(push_images.PushError, match="cv-analytics-processor does not exist"):
        _run(push_images.Options(deploy=True), ecr=ecr, docker=FakeDocker(), lambda_client=client)


# --- dry run -------------------------------------------------------------------


def test_dry_run_touches_neither_docker_nor_aws_writes(ecr: Any) -> None:
    """A dry run only describes ECR, and prints each step it would take."""
    recording = Recording(ecr)

    lines = _run(
        push_images.Options(deploy=True, dry_run=True),
        ecr=recording,
        docker=Untouchable(),
        lambda_client=Untouchable(),
    )

    assert set(recording.called) <= {"describe_repositories", "describe_images"}
    assert ecr.describe_images(repositoryName="cv-analytics-processor")["imageDetails"] == []
    assert [line.split()[3] for line in lines] == ["build", "push"] * 2 + ["update"] * 2


# --- main: one-line errors, non-zero exit ----------------------------------------


def test_main_reports_docker_unreachable(
    ecr: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Docker daemon: exit 1 with one line saying Docker is not reachable."""
    import docker

    def unreachable() -> None:
        raise docker.errors.DockerException("Error while fetching server API version: refused")

    monkeypatch.setattr(docker, "from_env", unreachable)
    monkeypatch.setattr(push_images, "git_state", lambda root: (TAG, False))

    code = push_images.main([])

    error = capsys.readouterr().err
    assert (code, error.count("\n")) == (1, 1)
    assert "Docker is not reachable" in error


def test_main_reports_a_missing_repository(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ECR repository: exit 1 with one line naming it."""
    monkeypatch.setattr(push_images, "git_state", lambda root: (TAG, False))

    code = push_images.main(["--dry-run"])

    error = capsys.readouterr().err
    assert (code, error.count("\n")) == (1, 1)
    assert "ECR repository cv-analytics-processor does not exist" in error


def test_main_reports_missing_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No AWS credentials anywhere: exit 1 with one line saying so, before any request."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(push_images, "git_state", lambda root: (TAG, False))

    code = push_images.main(["--dry-run"])

    error = capsys.readouterr().err
    assert (code, error.count("\n")) == (1, 1)
    assert "no AWS credentials" in error
