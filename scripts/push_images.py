"""Build the two Lambda images, push them to ECR and optionally deploy them.

    python scripts/push_images.py [--deploy] [--dry-run] [--allow-dirty]
                                  [--platform linux/amd64] [--prefix cv-analytics]
                                  [--region REGION]

Images are tagged with the short git commit, so a tag names the code it holds.
The ECR repositories (``<prefix>-processor``, ``<prefix>-reporter``) come from
``infra/terraform`` and have immutable tags: a tag already in ECR is reported and
not pushed again. ``--deploy`` points the functions ``<prefix>-processor`` and
``<prefix>-reporter`` at the pushed images and waits until Lambda has applied the
update. Credentials, region and endpoint come from the usual AWS configuration
(``AWS_PROFILE``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``...); Docker from
``DOCKER_HOST`` or the local socket.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PREFIX = "cv-analytics"
DEFAULT_PLATFORM = "linux/amd64"
# Push order: the processor first, so that events flow with new code before the
# weekly report does.
FUNCTIONS = ("processor", "reporter")
WAIT_DELAY_SECONDS = 5
WAIT_MAX_ATTEMPTS = 60

Output = Callable[[str], None]


class PushError(Exception):
    """A failure worth one line to the operator; the script exits non-zero."""


@dataclass(frozen=True)
class Options:
    prefix: str = DEFAULT_PREFIX
    platform: str = DEFAULT_PLATFORM
    deploy: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class Image:
    """One function's image: where it is built from and where it goes."""

    function: str
    prefix: str
    repository_uri: str
    tag: str

    @property
    def name(self) -> str:
        return f"{self.prefix}-{self.function}"

    @property
    def dockerfile(self) -> str:
        return f"services/{self.function}/Dockerfile"

    @property
    def local_ref(self) -> str:
        return f"{self.name}:{self.tag}"

    @property
    def remote_ref(self) -> str:
        return f"{self.repository_uri}:{self.tag}"


@dataclass(frozen=True)
class RegistryLogin:
    registry: str
    username: str
    password: str


# --- git -------------------------------------------------------------------


def git_state(root: Path, *, run: Callable[..., Any] = subprocess.run) -> tuple[str, bool]:
    """The short commit of HEAD and whether the working tree has changes."""
    try:
        commit = run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = run(
            ["git", "-C", str(root), "status", "--porcelain"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise PushError(f"cannot read the git commit to tag images with: {error}") from error
    return commit, bool(status.strip())


def image_tag(commit: str, *, dirty: bool, allow_dirty: bool, now: datetime) -> str:
    """The tag for images built from ``commit``.

    A dirty build gets a timestamped tag: it is not the commit's code, and ECR's
    immutable tags would refuse a second dirty build under one name.
    """
    if not dirty:
        return commit
    if not allow_dirty:
        raise PushError("the working tree has uncommitted changes; commit them or pass --allow-dirty")
    return f"{commit}-dirty-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"


# --- ECR -------------------------------------------------------------------


def resolve_image(ecr: Any, *, prefix: str, function: str, tag: str) -> Image:
    name = f"{prefix}-{function}"
    try:
        repository = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException as error:
        raise PushError(
            f"ECR repository {name} does not exist (create it: terraform apply in infra/terraform)"
        ) from error
    return Image(function=function, prefix=prefix, repository_uri=repository["repositoryUri"], tag=tag)


def tag_in_ecr(ecr: Any, image: Image) -> bool:
    try:
        ecr.describe_images(repositoryName=image.name, imageIds=[{"imageTag": image.tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    return True


def registry_login(ecr: Any) -> RegistryLogin:
    """Docker credentials for the account's registry, from an ECR authorization token."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    return RegistryLogin(registry=data["proxyEndpoint"], username=username, password=password)


# --- Docker ----------------------------------------------------------------


def connect_docker() -> Any:
    """A Docker client for the daemon the environment names, checked to answer."""
    import docker  # imported here so that --dry-run and the tests need no daemon

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PushError(f"Docker is not reachable (is the daemon running?): {first_line}") from error
    return client


def docker_login(docker_client: Any, login: RegistryLogin) -> None:
    try:
        docker_client.login(
            username=login.username, password=login.password, registry=login.registry, reauth=True
        )
    except Exception as error:  # docker.errors.APIError; the SDK is not imported at module level
        raise PushError(f"docker login to {login.registry} failed: {error}") from error


# Passed to the build when set (docs/docker.md): a mirror of the Lambda base image, and
# pip's index and CA behind a TLS-intercepting proxy (seen by the dependency stage only).
BUILD_ARG_VARIABLES = ("LAMBDA_BASE_IMAGE", "PIP_INDEX_URL", "PIP_CA_BUNDLE")


def build_args(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    return {name: environ[name] for name in BUILD_ARG_VARIABLES if environ.get(name)}


def build_image(docker_client: Any, image: Image, *, root: Path, platform: str) -> None:
    try:
        built, _logs = docker_client.images.build(
            path=str(root),
            dockerfile=image.dockerfile,
            tag=image.local_ref,
            platform=platform,
            buildargs=build_args(),
            rm=True,
        )
    except Exception as error:  # docker.errors.BuildError / APIError
        message = getattr(error, "msg", None) or str(error)
        raise PushError(f"building the {image.function} image failed: {message}") from error
    built.tag(image.repository_uri, tag=image.tag)


def push_image(docker_client: Any, image: Image) -> str | None:
    """Push ``image`` and return its digest when the registry reports one."""
    stream = docker_client.images.push(image.repository_uri, tag=image.tag, stream=True, decode=True)
    return _push_digest(stream, image)


def _push_digest(stream: Iterable[dict[str, Any]], image: Image) -> str | None:
    digest = None
    for chunk in stream:
        error = chunk.get("error") or chunk.get("errorDetail", {}).get("message")
        if error and "already exists" in error:
            raise PushError(f"{image.remote_ref} already exists and ECR tags are immutable; not pushed")
        if error:
            raise PushError(f"pushing {image.remote_ref} failed: {error}")
        digest = chunk.get("aux", {}).get("Digest", digest)
    return digest


# --- Lambda ----------------------------------------------------------------


def deploy_image(lambda_client: Any, image: Image) -> None:
    """Point the function at ``image`` and wait until Lambda has applied it."""
    try:
        lambda_client.update_function_code(FunctionName=image.name, ImageUri=image.remote_ref)
    except lambda_client.exceptions.ResourceNotFoundException as error:
        raise PushError(f"Lambda function {image.name} does not exist") from error
    waiter_name = (
        "function_updated_v2" if "function_updated_v2" in lambda_client.waiter_names else "function_updated"
    )
    try:
        lambda_client.get_waiter(waiter_name).wait(
            FunctionName=image.name,
            WaiterConfig={"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": WAIT_MAX_ATTEMPTS},
        )
    except Exception as error:  # botocore.exceptions.WaiterError
        raise PushError(f"{image.name} did not finish updating to {image.tag}: {error}") from error


# --- orchestration ---------------------------------------------------------


def run(
    options: Options,
    *,
    tag: str,
    ecr: Any,
    docker_client: Any | None,
    lambda_client: Any | None,
    root: Path = REPO_ROOT,
    out: Output = print,
) -> list[Image]:
    """Build, push and (with ``deploy``) deploy both images; return them.

    Both repositories are looked up before anything is built, so a missing one
    stops the run before the first push. ``docker_client`` is unused on a dry run
    and ``lambda_client`` unless deploying; either may then be None.
    """
    images = [resolve_image(ecr, prefix=options.prefix, function=fn, tag=tag) for fn in FUNCTIONS]
    pushed = {image.function: tag_in_ecr(ecr, image) for image in images}
    if options.dry_run:
        _describe(images, pushed, options, out)
        return images
    _publish(images, pushed, docker_client=docker_client, ecr=ecr, root=root, options=options, out=out)
    if options.deploy:
        for image in images:
            deploy_image(lambda_client, image)
            out(f"deployed {image.name} -> {image.remote_ref}")
    return images


def _publish(
    images: Sequence[Image],
    pushed: dict[str, bool],
    *,
    docker_client: Any,
    ecr: Any,
    root: Path,
    options: Options,
    out: Output,
) -> None:
    docker_login(docker_client, registry_login(ecr))
    for image in images:
        if pushed[image.function]:
            out(f"{image.remote_ref} is already in ECR (tags are immutable): not rebuilt or pushed")
            continue
        out(f"building {image.local_ref} from {image.dockerfile} for {options.platform}")
        build_image(docker_client, image, root=root, platform=options.platform)
        digest = push_image(docker_client, image)
        out(f"pushed {image.remote_ref}" + (f" ({digest})" if digest else ""))


def _describe(images: Sequence[Image], pushed: dict[str, bool], options: Options, out: Output) -> None:
    for image in images:
        if pushed[image.function]:
            out(f"[dry run] {image.remote_ref} is already in ECR: would not rebuild or push it")
        else:
            built = f"{image.local_ref} ({options.platform})"
            out(f"[dry run] would build {built} from {image.dockerfile}")
            out(f"[dry run] would push {image.remote_ref}")
    for image in images if options.deploy else ():
        out(f"[dry run] would update {image.name} to {image.remote_ref} and wait")


# --- command line ----------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="name prefix of repositories and functions")
    parser.add_argument("--platform", default=DEFAULT_PLATFORM, help="image platform (default %(default)s)")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    parser.add_argument(
        "--allow-dirty", action="store_true", help="build from a tree with uncommitted changes"
    )
    parser.add_argument("--deploy", action="store_true", help="update both functions to the new images")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; no Docker, no AWS writes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    args = parse_args(argv)
    options = Options(prefix=args.prefix, platform=args.platform, deploy=args.deploy, dry_run=args.dry_run)
    try:
        commit, dirty = git_state(REPO_ROOT)
        tag = image_tag(commit, dirty=dirty, allow_dirty=args.allow_dirty, now=datetime.now(UTC))
        session = boto3.session.Session(region_name=args.region)
        run(
            options,
            tag=tag,
            ecr=session.client("ecr"),
            docker_client=None if args.dry_run else connect_docker(),
            lambda_client=session.client("lambda") if args.deploy else None,
        )
    except PushError as error:
        return _fail(str(error))
    except NoCredentialsError:
        return _fail("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    except NoRegionError:
        return _fail("no AWS region configured (set AWS_DEFAULT_REGION or pass --region)")
    except (BotoCoreError, ClientError) as error:
        return _fail(f"AWS call failed: {error}")
    return 0


def _fail(message: str) -> int:
    one_line = " ".join(message.split())  # Docker and AWS messages may span lines
    print(f"push_images: error: {one_line}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
