"""compose.yaml is a valid Compose file (the Compose Specification, checked by the
`compose-spec` parser) with the layout docs/operations.md describes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

ROOT = Path(__file__).parents[2]
TEXT = (ROOT / "compose.yaml").read_text(encoding="utf-8")


def test_compose_file_follows_the_specification() -> None:
    compose = PyCompose.from_yaml(TEXT)
    assert sorted(compose.service_names()) == ["migrate", "postgres", "rsshub", "web", "worker"]


@pytest.mark.parametrize(
    "broken",
    [
        ("condition: service_healthy", "condition: when_ready"),  # not a Compose condition
        ("stop_grace_period: 2m", "stop_grace_period: 2m\n    replicas_wanted: 3"),  # no such key
    ],
)
def test_the_check_refuses_what_the_specification_does_not_allow(broken) -> None:
    with pytest.raises(ValueError):
        PyCompose.from_yaml(TEXT.replace(*broken, 1))


def test_layout_workers_scale_and_start_after_the_migrations() -> None:
    services = yaml.safe_load(TEXT)["services"]
    for name in ("migrate", "worker", "web"):
        assert services[name]["build"] == "."  # the repository's own Dockerfile
        assert services[name]["environment"]["NEWSDESK_DATABASE_URL"].startswith("postgresql://")
    worker = services["worker"]
    # --scale worker=N needs no fixed name or host port on the worker
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "worker"
    for name in ("worker", "web"):
        ready = services[name]["depends_on"]["migrate"]["condition"]
        assert ready == "service_completed_successfully"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["newsdesk"]' in dockerfile and "constraints.txt" in dockerfile


def test_rsshub_is_off_unless_its_profile_is_asked_for() -> None:
    services = yaml.safe_load(TEXT)["services"]
    rsshub = services["rsshub"]
    assert rsshub["profiles"] == ["rsshub"]  # `docker compose up` alone does not start it
    assert "ports" not in rsshub  # reached by the workers on the compose network only
    for name, service in services.items():
        assert "rsshub" not in (service.get("depends_on") or {}), name
