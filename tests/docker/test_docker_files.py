"""Static checks of ``docker/``: no Docker engine is needed (none exists on our machines).

The compose file and the Dockerfile are read as data and checked against the code they run:
services, volumes and dependencies refer to things that exist; every ``KETENPOORT_*`` variable
is a real setting; every ``ketenpoort ...`` command line names a real CLI command and options;
the image runs as non-root with a healthcheck and pinned base images; and the regular
(non-editable) install the image performs ships every data file the code reads.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.settings import ENV_PREFIX, FOREIGN_NAMES, Settings

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = DOCKER / "Dockerfile.dockerignore"
ENTRYPOINT_SCRIPT = DOCKER / "entrypoint.sh"

CELERY_APP = "gateway.background.tasks:celery_app"
INSTANCE_MOUNT = "/var/lib/ketenpoort"
KEYRING_VOLUME = "keyring"
# Every role that reads the keyring: they must all see the same one.
KEYRING_ROLES = ("init", "gateway", "worker", "sequencer")
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Settings.from_env names a field ENV_PREFIX + NAME, except for these aliases (and for the
# FOREIGN_NAMES of other libraries' variables).
ENV_ALIASES = {"instance_path": "INSTANCE"}
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}
# `ketenpoort` counts as a command only first or after one of these (shell lines included).
COMMAND_POSITION_AFTER = SHELL_OPERATORS | {"then", "do", "else", "exec", "--"}
ROOT_USERS = {"root", "0"}
# The address a container must listen on to be reachable; not a host binding in these tests.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


# --- reading the files -----------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def compose_services() -> dict[str, dict[str, Any]]:
    services = load_compose()["services"]
    assert isinstance(services, dict)
    assert services, "compose.yaml defines no services"
    return services


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


def dockerfile_instructions() -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    path = DOCKERFILE
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped.removesuffix("\\").strip())
        if continued:
            continue
        keyword, _, arguments = " ".join(pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    assert not pending, f"{path}: the last instruction ends in a line continuation"
    return instructions


def dockerfile_stages() -> list[list[Instruction]]:
    """Each stage's instructions, its FROM first with global ARGs (``${BASE_IMAGE}``) replaced
    by their defaults."""
    stages: list[list[Instruction]] = []
    for read in dockerfile_instructions():
        if read.keyword == "ARG" and not stages:
            continue  # a global build argument, read by global_build_arguments()
        instruction = read
        if read.keyword == "FROM":
            stages.append([])
            instruction = Instruction("FROM", _with_global_arguments(read.arguments), read.line)
        assert stages, f"Dockerfile:{read.line}: {read.keyword} before any FROM"
        stages[-1].append(instruction)
    return stages


def global_build_arguments() -> dict[str, str]:
    """The ARGs before the first FROM, with their defaults."""
    arguments: dict[str, str] = {}
    for instruction in dockerfile_instructions():
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            arguments[name] = default
    return arguments


def _with_global_arguments(text: str) -> str:
    defaults = global_build_arguments()
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], text)


def split_flags(arguments: str) -> tuple[list[str], list[str]]:
    """``--chown=a:b --from=x src dst`` -> (flags, rest); JSON (exec) form is understood."""
    tokens = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    flags = [t for t in tokens if t.startswith("--")]
    return flags, [t for t in tokens if not t.startswith("--")]


def exec_form(arguments: str) -> list[str]:
    """Argument vector of a CMD / ENTRYPOINT / HEALTHCHECK CMD, exec or shell form."""
    if arguments.startswith("["):
        vector = json.loads(arguments)
        assert isinstance(vector, list)
        return [str(v) for v in vector]
    return shlex.split(arguments)


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile_instructions():
        if instruction.keyword == "ENV":
            for token in shlex.split(instruction.arguments):
                name, separator, value = token.partition("=")
                assert separator, f"Dockerfile:{instruction.line}: use ENV NAME=value"
                env[name] = value
    return env


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def volume_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(source, target) of every mount of a service; source is "" for anonymous volumes."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            yield str(entry.get("source", "")), str(entry["target"])
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            yield "", parts[0]
        else:
            yield parts[0], parts[1]


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$")) and "/" not in source


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition, for both the list and the mapping form."""
    value = service.get("depends_on") or {}
    if isinstance(value, list):
        return dict.fromkeys(value, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in value.items()}


def command_vectors(service: dict[str, Any]) -> Iterator[list[str]]:
    """Every argument vector a service runs: entrypoint, command and healthcheck test."""
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list):
            yield [str(v) for v in value]
        elif isinstance(value, str):
            yield shlex.split(value)
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        yield shlex.split(test)
    elif isinstance(test, list) and test:
        if test[0] == "CMD-SHELL":
            yield shlex.split(" ".join(test[1:]))
        elif test[0] == "CMD":
            yield [str(v) for v in test[1:]]


def interpolate(value: str) -> str:
    """Compose interpolation with a placeholder for every required or defaulted variable."""
    pattern = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")

    def replace(match: re.Match[str]) -> str:
        name, operator, word = match.groups()
        if operator in (":-", "-"):
            return word
        return f"placeholder-{name.lower().replace('_', '-')}"

    return pattern.sub(replace, value).replace("$$", "$")


# --- `ketenpoort ...` command lines ----------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    where: str
    arguments: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: ketenpoort {' '.join(self.arguments)}"


def invocations_in(vector: list[str], where: str) -> list[Invocation]:
    """`ketenpoort` at a command position (not `pg_isready -d ketenpoort`, not a path)."""
    found = []
    for index, token in enumerate(vector):
        if token != "ketenpoort" and not token.endswith("/bin/ketenpoort"):
            continue
        if index > 0 and vector[index - 1] not in COMMAND_POSITION_AFTER:
            continue
        arguments = []
        for following in vector[index + 1 :]:
            if following in SHELL_OPERATORS:
                break
            arguments.append(following)
        found.append(Invocation(where, tuple(arguments)))
    return found


def all_ketenpoort_invocations() -> list[Invocation]:
    found: list[Invocation] = []
    for name, service in compose_services().items():
        for vector in command_vectors(service):
            found += invocations_in(vector, f"compose.yaml service {name}")
    for instruction in dockerfile_instructions():
        where = f"Dockerfile:{instruction.line} {instruction.keyword}"
        if instruction.keyword in ("CMD", "ENTRYPOINT"):
            found += invocations_in(exec_form(instruction.arguments), where)
        elif instruction.keyword == "RUN":
            found += invocations_in(shlex.split(instruction.arguments), where)
    lines = ENTRYPOINT_SCRIPT.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        vector = shlex.split(line, comments=True)
        found += invocations_in(vector, f"entrypoint.sh:{number}")
    return found


def option_names(command: click.Command) -> set[str]:
    names = {"--help"}
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            names.update(parameter.opts, parameter.secondary_opts)
    return names


def option_takes_value(command: click.Command, name: str) -> bool:
    for parameter in command.params:
        if isinstance(parameter, click.Option) and name in parameter.opts:
            return not parameter.is_flag and not parameter.count
    return False


def cli_problems(main: click.Command, invocation: Invocation) -> list[str]:
    """What is wrong with one invocation against the click command tree ([] when fine)."""
    command, path = main, ["ketenpoort"]
    tokens = list(invocation.arguments)
    while tokens:
        token = tokens.pop(0)
        if token.startswith("-"):
            name = token.split("=", 1)[0]
            if name not in option_names(command):
                return [f"{invocation}: '{' '.join(path)}' has no option {name}"]
            if "=" not in token and option_takes_value(command, name) and tokens:
                tokens.pop(0)
            continue
        if isinstance(command, click.Group):
            subcommand = command.commands.get(token)
            if subcommand is None:
                return [f"{invocation}: '{' '.join(path)}' has no command '{token}'"]
            command, path = subcommand, [*path, token]
            continue
        # A positional argument of a leaf command: click validates those at run time.
    if isinstance(command, click.Group):
        return [f"{invocation}: '{' '.join(path)}' is a group, not a command"]
    return []


# --- compose: structure ----------------------------------------------------------------------


def test_every_service_has_an_image_or_a_build() -> None:
    missing = [n for n, s in compose_services().items() if not (s.get("image") or s.get("build"))]
    assert not missing, f"services without image or build: {missing}"


def test_build_context_and_dockerfile_exist() -> None:
    builds = {n: s["build"] for n, s in compose_services().items() if "build" in s}
    assert builds, "no service builds the Ketenpoort image"
    for name, build in builds.items():
        spec = {"context": build} if isinstance(build, str) else build
        # Compose resolves the context against the compose file's folder and the dockerfile
        # against the context.
        context = (DOCKER / spec.get("context", ".")).resolve()
        dockerfile = context / spec.get("dockerfile", "Dockerfile")
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        assert dockerfile.is_file(), f"{name}: dockerfile {dockerfile} does not exist"
        assert dockerfile.resolve() == DOCKERFILE, f"{name}: builds {dockerfile}, not {DOCKERFILE}"
        assert context == ROOT, f"{name}: the build context must be the repository root"


def test_every_named_volume_is_declared_and_used() -> None:
    declared = set(load_compose().get("volumes") or {})
    used = set()
    for name, service in compose_services().items():
        for source, target in volume_mounts(service):
            assert target.startswith("/"), f"{name}: mount target {target!r} is not absolute"
            if is_named_volume(source):
                assert source in declared, f"{name}: volume {source!r} is not declared"
                used.add(source)
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"


def test_every_dependency_exists_with_a_known_condition() -> None:
    services = compose_services()
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target!r}"
            assert target != name, f"{name} depends on itself"
            assert condition in DEPENDS_ON_CONDITIONS, f"{name} -> {target}: {condition!r}"


def test_healthy_conditions_wait_for_a_defined_healthcheck() -> None:
    """`service_healthy` on a service without a healthcheck never becomes true."""
    services = compose_services()
    image_has_healthcheck = any(i.keyword == "HEALTHCHECK" for i in dockerfile_stages()[-1])
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            if condition != "service_healthy":
                continue
            healthcheck = services[target].get("healthcheck") or {}
            assert not healthcheck.get("disable"), f"{name} waits on {target}: check disabled"
            inherited = image_has_healthcheck and "build" in services[target]
            assert healthcheck.get("test") or inherited, (
                f"{name} waits for {target} to be healthy, but {target} has no healthcheck"
            )


def test_dependency_graph_has_no_cycle() -> None:
    services = compose_services()
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        assert name not in visiting, f"depends_on cycle: {' -> '.join([*trail, name])}"
        if name in done:
            return
        visiting.add(name)
        for target in depends_on(services[name]):
            visit(target, [*trail, name])
        visiting.discard(name)
        done.add(name)

    for name in services:
        visit(name, [])


def test_one_shot_jobs_are_not_restarted() -> None:
    """A job that others wait on with service_completed_successfully must run once."""
    services = compose_services()
    jobs = {
        target
        for service in services.values()
        for target, condition in depends_on(service).items()
        if condition == "service_completed_successfully"
    }
    assert jobs, "expected one-shot jobs (init, bundle)"
    for job in jobs:
        assert services[job].get("restart", "no") == "no", f"{job} is a job but restarts"
        assert not (services[job].get("deploy") or {}).get("replicas", 1) > 1


def test_passwords_come_from_required_variables() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for variable in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"):
        assert f"${{{variable}:?" in text, f"{variable} must be required (${{{variable}:?...}})"
    for name, service in compose_services().items():
        for key, value in environment_of(service).items():
            if any(word in key for word in ("PASSWORD", "PASS", "SECRET")):
                assert value.startswith("${"), f"{name}: {key} is hard-coded"
                assert ":?" in value, f"{name}: {key} must be a required variable"


# --- compose: settings ------------------------------------------------------------------------


def settings_env_names() -> dict[str, str]:
    """Environment variable -> Settings field, named as Settings.from_env reads them."""
    return {
        FOREIGN_NAMES.get(name, ENV_PREFIX + ENV_ALIASES.get(name, name.upper())): name
        for name in Settings.__dataclass_fields__
    }


def used_ketenpoort_variables() -> dict[str, set[str]]:
    """KETENPOORT_* variable -> where it is set (compose services, x- blocks, Dockerfile)."""
    used: dict[str, set[str]] = {}
    document = load_compose()
    sources: dict[str, dict[str, str]] = {
        f"compose.yaml service {n}": environment_of(s) for n, s in compose_services().items()
    }
    for key, block in document.items():
        if key.startswith("x-") and isinstance(block, dict):
            if all(isinstance(v, str | int | float) for v in block.values()):
                sources[f"compose.yaml {key}"] = {str(k): str(v) for k, v in block.items()}
            elif isinstance(block.get("environment"), dict | list):
                sources[f"compose.yaml {key}"] = environment_of(block)
    sources["Dockerfile ENV"] = dockerfile_env()
    for where, environment in sources.items():
        for variable in environment:
            if variable.startswith(ENV_PREFIX):
                used.setdefault(variable, set()).add(where)
    return used


def test_every_ketenpoort_variable_is_a_setting() -> None:
    known = settings_env_names()
    used = used_ketenpoort_variables()
    assert used, "compose.yaml and the Dockerfile set no KETENPOORT_* variable"
    unknown = {v: sorted(w) for v, w in used.items() if v not in known}
    assert not unknown, f"not Settings fields (known: {sorted(known)}): {unknown}"


BOOLEAN_SETTINGS = frozenset({"run_background_workers", "smtp_starttls"})


def test_the_alias_table_matches_settings_from_env() -> None:
    """Guards ENV_ALIASES above: each derived name really reaches its field."""
    for variable, field_name in settings_env_names().items():
        default = getattr(Settings(), field_name)
        if field_name in BOOLEAN_SETTINGS:
            value = getattr(Settings.from_env({variable: "true"}), field_name)
            assert value is True, f"{variable} does not set Settings.{field_name}"
            continue
        probe = {"policy_engine": "opa", "task_mode": "celery",
                 "clock_start": "2031-01-01", "webhook_egress": "partner=host",
                 "access_token_algorithm": "RS256", "client_certificate_source": "tls",
                 "client_certificate_proxies": "10.0.0.1"}.get(field_name)
        if probe is None:
            probe = "/probe" if isinstance(default, Path) else str(default or "probe")
            if isinstance(default, int | float) and not isinstance(default, bool):
                probe = str(type(default)(default) + 1)
        value = getattr(Settings.from_env({variable: probe}), field_name)
        expected = Path(probe).resolve() if isinstance(default, Path) else type(default)(probe)
        assert value == expected, f"{variable} does not set Settings.{field_name}"


@pytest.mark.parametrize("service_name", ["gateway", "worker", "sequencer", "init"])
def test_service_environment_builds_production_settings(service_name: str) -> None:
    environment = {
        k: interpolate(v) for k, v in environment_of(compose_services()[service_name]).items()
    }
    settings = Settings.from_env({**dockerfile_env(), **environment})
    assert settings.policy_engine == "opa"
    assert settings.task_mode == "celery"
    assert settings.opa_url == "http://opa:8181"
    assert settings.database_url.startswith("postgresql+psycopg://ketenpoort:")
    assert settings.database_url.endswith("@postgres:5432/ketenpoort")
    assert settings.broker_url.startswith("amqp://ketenpoort:")
    assert settings.broker_url.endswith("@rabbitmq:5672//")
    assert settings.instance_path == Path(INSTANCE_MOUNT)
    assert settings.policies_path == Path("/app/policies")


def test_keyring_roles_share_one_keyring_volume() -> None:
    services = compose_services()
    for role in KEYRING_ROLES:
        assert role in services, f"compose.yaml has no {role} service"
        mounts = dict(volume_mounts(services[role]))
        assert mounts.get(KEYRING_VOLUME) == INSTANCE_MOUNT, (
            f"{role} must mount the {KEYRING_VOLUME!r} volume at {INSTANCE_MOUNT}"
        )
        instance = environment_of(services[role]).get("KETENPOORT_INSTANCE", INSTANCE_MOUNT)
        assert instance == INSTANCE_MOUNT, f"{role}: KETENPOORT_INSTANCE is {instance}"
    assert dockerfile_env().get("KETENPOORT_INSTANCE") == INSTANCE_MOUNT


def test_keyring_roles_start_after_init() -> None:
    services = compose_services()
    for role in KEYRING_ROLES:
        if role != "init":
            condition = depends_on(services[role]).get("init")
            assert condition == "service_completed_successfully", f"{role} must wait for init"


# --- compose: OPA and the policy bundle -------------------------------------------------------


def test_opa_is_a_pinned_1x_server_loading_the_bundle_job_output() -> None:
    services = compose_services()
    opa = services["opa"]
    repository, _, tag = opa["image"].rpartition(":")
    assert repository == "openpolicyagent/opa"
    assert re.fullmatch(r"1\.\d+\.\d+", tag), f"OPA must be pinned to a 1.x.y tag, not {tag!r}"
    command = [str(c) for c in opa["command"]]
    assert command[0] == "run"
    assert "--server" in command
    assert "--addr=0.0.0.0:8181" in command  # OPA 1.x listens on localhost only by default

    bundle_command = [str(c) for c in services["bundle"]["command"]]
    assert bundle_command[:3] == ["ketenpoort", "policy", "bundle"]
    out = Path(bundle_command[bundle_command.index("--out") + 1])
    assert str(out) in command, f"OPA does not load the bundle the job writes ({out})"
    assert depends_on(opa).get("bundle") == "service_completed_successfully"

    def volume_holding(service: dict[str, Any]) -> str | None:
        for source, target in volume_mounts(service):
            if out.is_relative_to(target):
                return source
        return None

    shared = volume_holding(services["bundle"])
    assert shared, "the bundle job must write --out into a volume"
    assert is_named_volume(shared), "the bundle job must write into a named volume"
    assert volume_holding(opa) == shared, "OPA must mount the volume the bundle job writes"


def test_gateway_uses_opa_url_of_the_opa_service() -> None:
    url = environment_of(compose_services()["gateway"])["KETENPOORT_OPA_URL"]
    assert url == "http://opa:8181"
    assert "opa" in compose_services()


def test_celery_roles_use_the_one_app_path() -> None:
    services = compose_services()
    for role, subcommand in (("worker", "worker"), ("beat", "beat")):
        command = [str(c) for c in services[role]["command"]]
        assert command[0] == "celery"
        assert command[command.index("-A") + 1] == CELERY_APP, f"{role}: -A must be {CELERY_APP}"
        assert subcommand in command
    assert (services["beat"].get("deploy") or {}).get("replicas", 1) == 1, "exactly one beat"


def test_celery_app_path_resolves() -> None:
    module_name, _, attribute = CELERY_APP.partition(":")
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} does not exist yet; worker and beat in compose.yaml need it")
    from celery import Celery  # noqa: PLC0415  # only once the tasks module exists

    app = getattr(importlib.import_module(module_name), attribute, None)
    assert isinstance(app, Celery), f"{CELERY_APP} is not a Celery app"


# --- `ketenpoort ...` commands ----------------------------------------------------------------


def test_ketenpoort_invocations_are_found() -> None:
    """Guards the extraction itself, so the CLI test below cannot pass vacuously."""
    found = {inv.arguments[:3] for inv in all_ketenpoort_invocations()}
    assert ("init",) in {f[:1] for f in found}
    assert ("serve", "--host", ALL_INTERFACES) in found
    assert ("policy", "bundle", "--out") in found
    assert ("audit", "sequencer") in {f[:2] for f in found}


def test_every_ketenpoort_command_exists_in_the_cli() -> None:
    from gateway.cli import main  # noqa: PLC0415  # the rest of this module needs no CLI

    problems = [p for inv in all_ketenpoort_invocations() for p in cli_problems(main, inv)]
    assert not problems, "commands docker/ runs that the CLI lacks:\n" + "\n".join(problems)


# --- Dockerfile -------------------------------------------------------------------------------


def image_reference_problem(reference: str) -> str | None:
    if "@sha256:" in reference:
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{reference}: no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return f"{reference}: 'latest' is not a pin"
    return None


def test_base_images_are_pinned() -> None:
    stage_names: set[str] = set()
    problems = []
    for stage in dockerfile_stages():
        _, arguments = split_flags(stage[0].arguments)
        image = arguments[0]
        if image not in stage_names and image != "scratch":
            problems.append(image_reference_problem(image))
        if len(arguments) >= 3 and arguments[1].upper() == "AS":
            stage_names.add(arguments[2])
    assert len(stage_names) >= 2, "expected a multi-stage build"
    for service in compose_services().values():
        if "build" not in service:
            problems.append(image_reference_problem(service["image"]))
    problems = [p for p in problems if p]
    assert not problems, problems


def test_base_is_python_311_slim() -> None:
    for stage in dockerfile_stages():
        _, arguments = split_flags(stage[0].arguments)
        assert arguments[0].startswith("python:3.11"), arguments[0]
        assert "slim" in arguments[0], arguments[0]


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored_by_dockerignore(relative: str) -> str | None:
    """The pattern excluding ``relative`` (or one of its parents), if any (no ``!`` rules)."""
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in dockerignore_patterns():
        assert not pattern.startswith("!"), "extend ignored_by_dockerignore for ! rules"
        anywhere = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], anywhere)
            ):
                return pattern
    return None


def test_copy_sources_exist_and_are_in_the_build_context() -> None:
    copies = 0
    for instruction in dockerfile_instructions():
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        flags, arguments = split_flags(instruction.arguments)
        if any(flag.startswith("--from=") for flag in flags):
            continue
        assert instruction.keyword == "COPY", f"Dockerfile:{instruction.line}: use COPY, not ADD"
        for source in arguments[:-1]:
            copies += 1
            relative = source.rstrip("/") or "."
            matches = list(ROOT.glob(relative)) if any(c in relative for c in "*?[") else [
                ROOT / relative
            ]
            assert matches, f"Dockerfile:{instruction.line}: {source} matches nothing"
            for match in matches:
                assert match.exists(), f"Dockerfile:{instruction.line}: {source} does not exist"
            pattern = ignored_by_dockerignore(relative)
            assert pattern is None, (
                f"Dockerfile:{instruction.line}: {source} is excluded by {pattern!r} in "
                f"{DOCKERIGNORE.name}"
            )
    assert copies, "the Dockerfile copies nothing from the repository"


def test_local_instance_secrets_stay_out_of_the_build_context() -> None:
    for path in ("instance", "instance/keyring.json", "gateway/instance", ".git"):
        assert ignored_by_dockerignore(path), f"{path} would be sent to the Docker daemon"


def test_image_installs_the_project_without_dev_extras() -> None:
    runs = [i.arguments for i in dockerfile_instructions() if i.keyword == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert any(re.search(r"pip install (\S+ )*\.(\s|$)", r) for r in installs), installs
    assert any("-r requirements.lock" in r for r in installs), "the image ignores the lock"
    for run in installs:
        assert "[test]" not in run, f"dev extras installed: {run}"
        assert " -e " not in run, f"editable install: {run}"


def test_runtime_stage_runs_as_non_root() -> None:
    users = [i.arguments for i in dockerfile_stages()[-1] if i.keyword == "USER"]
    assert users, "the runtime stage has no USER"
    user, _, group = users[-1].partition(":")
    assert user not in ROOT_USERS, f"runs as {users[-1]}"
    assert group not in ROOT_USERS, f"runs with group {users[-1]}"


def test_runtime_stage_has_a_healthz_healthcheck() -> None:
    checks = [i.arguments for i in dockerfile_stages()[-1] if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1, checks
    assert "/healthz" in checks[0]
    assert "curl" not in checks[0], "slim has no curl"
    assert "wget" not in checks[0], "slim has no wget"
    vector = exec_form(checks[0][checks[0].index("CMD") + len("CMD") :].strip())
    assert vector[:2] == ["python3", "-c"]  # the venv's, and the only name a Debian base has
    compile(vector[2], "<healthcheck>", "exec")


def test_policies_path_points_at_the_copied_policies() -> None:
    assert dockerfile_env()["KETENPOORT_POLICIES_PATH"] == "/app/policies"
    destinations = {
        split_flags(i.arguments)[1][-1].rstrip("/")
        for i in dockerfile_stages()[-1]
        if i.keyword == "COPY" and "policies/" in split_flags(i.arguments)[1][:-1]
    }
    assert destinations == {"/app/policies"}


def test_default_command_serves_on_all_interfaces() -> None:
    commands = [exec_form(i.arguments) for i in dockerfile_stages()[-1] if i.keyword == "CMD"]
    assert commands[-1] == ["ketenpoort", "serve", "--host", ALL_INTERFACES, "--port", "8080"]
    entrypoints = [exec_form(i.arguments) for i in dockerfile_stages()[-1]
                   if i.keyword == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT"
    copied = [
        split_flags(i.arguments)[1]
        for i in dockerfile_stages()[-1]
        if i.keyword == "COPY" and "docker/entrypoint.sh" in i.arguments
    ]
    assert copied, "docker/entrypoint.sh is not copied into the image"
    installed_as = Path(copied[-1][-1]).name
    assert entrypoints[-1][0] in (installed_as, copied[-1][-1])


# --- package data: what `pip install .` in the image ships -------------------------------------


def test_regular_install_ships_every_data_file_the_packages_hold() -> None:
    """The image installs non-editable: a data file outside package-data is missing there."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data: dict[str, list[str]] = pyproject["tool"]["setuptools"].get("package-data", {})
    shipped: set[Path] = set()
    for package, patterns in package_data.items():
        bases = [ROOT / p for p in ("gateway", "audit", "adapters")] if package == "*" else [
            ROOT / package.replace(".", "/")
        ]
        for base in bases:
            for pattern in patterns:
                shipped.update(base.glob(pattern))
    missing = []
    for top in ("gateway", "audit", "adapters"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            if path.suffix in (".py", ".pyc", ".pyi"):
                continue
            if path not in shipped:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, (
        "not in [tool.setuptools.package-data], so absent from the image: " + ", ".join(missing)
    )


# --- entrypoint.sh, run with stand-ins for ketenpoort and celery -------------------------------


def run_entrypoint(
    tmp_path: Path, *arguments: str, init_fails: bool = False, instance: Path | None = None
) -> tuple[int, list[str]]:
    sh = shutil.which("sh")
    assert sh is not None
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for program in ("ketenpoort", "celery"):
        stub = bin_dir / program
        fail = 'if [ "$1" = init ]; then exit 3; fi\n' if init_fails else ""
        stub.write_text(f'#!/bin/sh\necho "{program} $*" >> "{log}"\n{fail}exit 0\n')
        stub.chmod(0o755)
    result = subprocess.run(  # noqa: S603  # fixed argument list, no shell; our own script
        [sh, str(ENTRYPOINT_SCRIPT), *arguments],
        env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
             "KETENPOORT_INSTANCE": str(instance or tmp_path / "new-instance")},
        capture_output=True, text=True, check=False, timeout=30,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result.returncode, calls


def test_entrypoint_is_valid_posix_shell() -> None:
    sh = shutil.which("sh")
    assert sh is not None
    result = subprocess.run(  # noqa: S603  # fixed argument list, no shell; our own script
        [sh, "-n", str(ENTRYPOINT_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    text = ENTRYPOINT_SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert 'exec "$@"' in text


def test_entrypoint_initialises_before_serving(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path, "ketenpoort", "serve", "--host", ALL_INTERFACES)
    assert code == 0
    assert calls == ["ketenpoort init", f"ketenpoort serve --host {ALL_INTERFACES}"]


def test_entrypoint_migrates_nothing_on_an_instance_that_exists(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "keyring.json").write_text("{}")

    code, calls = run_entrypoint(tmp_path, "ketenpoort", "serve", instance=instance)

    assert code == 0
    assert calls == ["ketenpoort serve"]


def test_entrypoint_without_arguments_serves(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path)
    assert code == 0
    assert calls == ["ketenpoort init", f"ketenpoort serve --host {ALL_INTERFACES} --port 8080"]


@pytest.mark.parametrize(
    "command",
    [
        ("celery", "-A", CELERY_APP, "worker"),
        ("ketenpoort", "audit", "sequencer"),
        ("ketenpoort", "policy", "bundle", "--out", "/bundles/bundle.tar.gz"),
        ("ketenpoort", "init"),
    ],
)
def test_entrypoint_runs_other_roles_unchanged(tmp_path: Path, command: tuple[str, ...]) -> None:
    code, calls = run_entrypoint(tmp_path, *command)
    assert code == 0
    assert calls == [" ".join(command)]


def test_entrypoint_does_not_serve_when_init_fails(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path, "ketenpoort", "serve", init_fails=True)
    assert code == 3
    assert calls == ["ketenpoort init"]


# --- hardening ---------------------------------------------------------------------------------

LONG_RUNNING_ROLES = ("gateway", "worker", "sequencer")


def _seconds(duration: str) -> float:
    """A compose duration ("45s", "1m30s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, duration
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.mark.parametrize("role", LONG_RUNNING_ROLES)
def test_stop_grace_outlasts_gunicorns_graceful_timeout(role: str) -> None:
    from gateway.server import GRACEFUL_TIMEOUT_SECONDS  # noqa: PLC0415  # only this test needs it

    grace = compose_services()[role].get("stop_grace_period")
    assert grace is not None, f"{role} is killed after compose's default 10 s"
    assert _seconds(str(grace)) > GRACEFUL_TIMEOUT_SECONDS


@pytest.mark.parametrize("role", ["opa", "sequencer", "postgres", "rabbitmq", "worker"])
def test_every_lasting_service_has_a_health_check(role: str) -> None:
    check = compose_services()[role].get("healthcheck", {})
    assert not check.get("disable"), f"{role}'s health check is disabled"
    assert check.get("test"), f"{role} has no health check"


def test_the_sequencer_health_check_is_a_real_command() -> None:
    from gateway.cli import main  # noqa: PLC0415  # the CLI, imported for this check only

    vector = [str(part) for part in compose_services()["sequencer"]["healthcheck"]["test"]]
    assert vector[:2] == ["CMD", "ketenpoort"]
    group = main
    for name in vector[2:]:
        assert isinstance(group, click.Group)
        group = group.commands[name]


@pytest.mark.parametrize("role", [*LONG_RUNNING_ROLES, "init", "beat", "bundle", "opa"])
def test_containers_run_read_only_without_new_privileges(role: str) -> None:
    service = compose_services()[role]
    assert service.get("read_only") is True, f"{role} can write its root file system"
    assert "no-new-privileges:true" in service.get("security_opt", [])
