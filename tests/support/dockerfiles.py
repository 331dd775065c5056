"""Just enough of Docker's rules to check the container definitions without a daemon.

Parses Dockerfiles (instructions, stages, global ARGs), applies ``.dockerignore`` the way
the builder does, and replays a Dockerfile's ``COPY`` instructions into a directory, so a
test can import the image's code from exactly the files the image would contain.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

_VARIABLE = re.compile(r"\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def external_bases(self) -> list[str]:
        """Base images pulled from a registry (stages built FROM earlier stages left out)."""
        names = {stage.name for stage in self.stages if stage.name}
        return [stage.base for stage in self.stages if stage.base not in names]

    def cmd(self) -> list[str]:
        raw = self.final.last("CMD")
        if raw is None:
            raise ValueError(f"{self.path} has no CMD")
        return exec_form(raw)


def substitute(text: str, variables: dict[str, str]) -> str:
    """Expand ``$VAR``/``${VAR}`` from ``variables``; unknown names are an error."""

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        if name not in variables:
            raise KeyError(f"${name} is not defined here")
        return variables[name]

    return _VARIABLE.sub(replace, text)


def exec_form(arguments: str) -> list[str]:
    """A JSON-array argument list (``CMD ["a", "b"]``); shell form is rejected."""
    parsed = json.loads(arguments)
    if not isinstance(parsed, list) or not all(isinstance(part, str) for part in parsed):
        raise ValueError(f"not exec form: {arguments}")
    return parsed


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and current):
            continue  # comments (and blank lines) may sit inside a continuation
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def parse_dockerfile(path: Path, *, build_args: dict[str, str] | None = None) -> Dockerfile:
    """Parse ``path``; ``build_args`` override global ARG defaults, as ``--build-arg`` does."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = [w for w in arguments.split() if not w.startswith("--platform")]
            base = substitute(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        elif not stages and keyword == "ARG":
            arg_name, _, default = arguments.partition("=")
            global_args[arg_name] = (build_args or {}).get(arg_name, default.strip('"'))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return Dockerfile(path=path, global_args=global_args, stages=stages)


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str
    from_stage: str | None
    workdir: str


def copies(stage: Stage) -> list[Copy]:
    """The stage's COPY instructions, with the WORKDIR each one runs in."""
    found, workdir = [], "/"
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = str(PurePosixPath(workdir, instruction.arguments))
        elif instruction.keyword in ("COPY", "ADD"):
            found.append(_parse_copy(instruction.arguments, workdir))
    return found


def _parse_copy(arguments: str, workdir: str) -> Copy:
    flags, rest = [], arguments.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.strip()
    paths = exec_form(rest) if rest.startswith("[") else shlex.split(rest)
    from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
    return Copy(tuple(paths[:-1]), paths[-1], from_stage, workdir)


class DockerIgnore:
    """``.dockerignore`` as the builder reads it: paths relative to the context root, the
    last matching pattern wins, and a pattern matching a parent directory matches the path."""

    def __init__(self, text: str) -> None:
        self._rules: list[tuple[re.Pattern[str], bool]] = []
        for line in text.splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            include = pattern.startswith("!")
            pattern = str(PurePosixPath(pattern.lstrip("!").strip().lstrip("/")))
            self._rules.append((re.compile(_pattern_regex(pattern)), include))

    @classmethod
    def of(cls, context: Path) -> DockerIgnore:
        path = context / ".dockerignore"
        return cls(path.read_text(encoding="utf-8") if path.exists() else "")

    def excluded(self, relative: str) -> bool:
        parts = PurePosixPath(relative).parts
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        verdict = False
        for regex, include in self._rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                verdict = not include
        return verdict


def _pattern_regex(pattern: str) -> str:
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif char == "*":
            regex, i = regex + "[^/]*", i + 1
        elif char == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(char), i + 1
    return regex


def context_files(context: Path, source: str, ignore: DockerIgnore) -> list[Path]:
    """The files under ``source`` that reach the build context."""
    root = context / source
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return [p for p in candidates if not ignore.excluded(p.relative_to(context).as_posix())]


def replay_copies(stage: Stage, *, context: Path, rootfs: Path, variables: dict[str, str]) -> list[Path]:
    """Copy what the stage's COPY instructions copy (not those from other stages) into
    ``rootfs``, which stands for the image's ``/``. Returns the files written."""
    ignore, written = DockerIgnore.of(context), []
    for copy in copies(stage):
        if copy.from_stage is not None:
            continue
        destination = substitute(copy.destination, variables)
        into_directory = destination.endswith("/") or len(copy.sources) > 1
        target = rootfs / PurePosixPath(copy.workdir, destination).relative_to("/")
        for source in copy.sources:
            files = context_files(context, source, ignore)
            if not files:
                raise FileNotFoundError(f"COPY {source}: nothing in the build context")
            written += _place(context / source, files, target, into_directory)
    return written


def _place(source: Path, files: list[Path], target: Path, into_directory: bool) -> list[Path]:
    placed = []
    for file in files:
        if source.is_file():
            destination = target / source.name if into_directory else target
        else:
            destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
        placed.append(destination)
    return placed
