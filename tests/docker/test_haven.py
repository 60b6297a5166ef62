"""Static checks of the Haven (Kubernetes) manifests in docker/haven: what kustomize applies is
complete, runs non-root on a read-only root, has resources and probes, and runs real commands
with real settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.cli import main
from gateway.server import GRACEFUL_TIMEOUT_SECONDS
from gateway.settings import Settings

HAVEN = Path(__file__).resolve().parents[2] / "docker" / "haven"
WORKLOADS = ("Deployment", "Job")


def _kustomization() -> dict[str, Any]:
    document = yaml.safe_load((HAVEN / "kustomization.yaml").read_text())
    assert isinstance(document, dict)
    return document


def _documents() -> list[dict[str, Any]]:
    found = []
    for name in _kustomization()["resources"]:
        found += [d for d in yaml.safe_load_all((HAVEN / name).read_text()) if d]
    return found


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _documents() if d["kind"] == kind]


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"])
            for d in _documents() if d["kind"] in WORKLOADS]


def _gateway() -> dict[str, Any]:
    (gateway,) = [d for d in _of_kind("Deployment")
                  if d["metadata"]["name"] == "ketenpoort-gateway"]
    return gateway


def test_kustomize_applies_every_manifest_in_the_folder() -> None:
    listed = set(_kustomization()["resources"])
    present = {p.name for p in HAVEN.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert {d["kind"] for d in _documents()} >= {
        "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "Job", "ConfigMap",
        "PersistentVolumeClaim"}


@pytest.mark.parametrize(("name", "pod"), _pod_specs())
def test_every_pod_runs_non_root_on_a_read_only_root(name: str, pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True, name
    assert pod["securityContext"]["runAsUser"] != 0, name
    assert pod["automountServiceAccountToken"] is False, name
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, name
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, f"{name}: nothing writable for gunicorn and celery"  # noqa: S108  # a mount point name


@pytest.mark.parametrize(("name", "pod"), _pod_specs())
def test_every_command_is_a_real_cli_command(name: str, pod: dict[str, Any]) -> None:
    for container in pod["containers"]:
        command = container["command"]
        if command[0] != "ketenpoort":
            assert command[:3] == ["celery", "-A", "gateway.background.tasks:celery_app"], name
            continue
        group: click.Command = main
        for word in command[1:]:
            if word.startswith("-") or not isinstance(group, click.Group):
                break
            group = group.commands[word]


def test_the_gateway_is_probed_on_livez_and_readyz_and_outlasts_gunicorns_grace() -> None:
    pod = _gateway()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["terminationGracePeriodSeconds"] > GRACEFUL_TIMEOUT_SECONDS


def test_service_and_disruption_budget_select_the_gateway_pods() -> None:
    labels = _gateway()["spec"]["template"]["metadata"]["labels"]
    (service,) = _of_kind("Service")
    (budget,) = _of_kind("PodDisruptionBudget")
    assert service["spec"]["selector"].items() <= labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < _gateway()["spec"]["replicas"]


def test_a_default_deny_network_policy_covers_every_pod() -> None:
    deny = [p for p in _of_kind("NetworkPolicy")
            if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and "ingress" not in p["spec"] and "egress" not in p["spec"]]
    assert deny, "no default-deny policy"
    selector = deny[0]["spec"]["podSelector"]["matchLabels"]
    for workload in (d for d in _documents() if d["kind"] in WORKLOADS):
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()


def test_the_migration_job_runs_once_before_the_gateways() -> None:
    (job,) = _of_kind("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["ketenpoort", "init"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_configuration_holds_real_settings_and_no_secrets() -> None:
    (config,) = _of_kind("ConfigMap")
    data = config["data"]
    assert set(data) <= Settings.variable_names()
    secrets = {"KETENPOORT_DATABASE_URL", "KETENPOORT_BROKER_URL", "KETENPOORT_KEYRING_KEY",
               "KETENPOORT_METRICS_TOKEN"}
    assert not secrets & set(data), "secrets belong in the Secret, read as *_FILE"
    file_settings = {k: v for k, v in data.items() if k.endswith("_FILE")}
    assert file_settings
    assert all(v.startswith("/run/secrets/ketenpoort/") for v in file_settings.values())
