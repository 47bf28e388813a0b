"""compose.yaml, read as Docker Compose reads it: only the app's port is published, and each Ray
node names the address it binds to and runs without a dashboard."""

import re

import yaml

from harness import ROOT


def services() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]


def test_only_the_apps_port_is_published():
    published = {name: s.get("ports") for name, s in services().items() if s.get("ports")}
    assert published == {"app": ["8501:8501"]}
    for s in services().values():
        assert "expose" not in s and s.get("network_mode") != "host"


def test_every_ray_node_binds_to_its_own_address_with_no_dashboard():
    ray = {n: s["command"] for n, s in services().items() if "ray start" in str(s.get("command"))}
    assert set(ray) == {"ray-head", "ray-worker"}
    for command in ray.values():
        assert re.search(r"--node-ip-address[= ]", command), command
        assert "0.0.0.0" not in command and "--dashboard-host" not in command
    assert "--include-dashboard=false" in ray["ray-head"]


def test_every_node_and_the_app_carry_the_token():
    node = yaml.safe_load((ROOT / "compose.yaml").read_text())["x-node"]["environment"]
    assert node["RAY_AUTH_MODE"] == "token" and "RAY_AUTH_TOKEN" in node
    assert services()["app"]["environment"]["RAY_AUTH_MODE"] == "token"
