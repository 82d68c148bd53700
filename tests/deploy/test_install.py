"""The shipped manifests install on a cluster as a user would apply them: Debian's kubectl 1.20 applies the CRDs,
the controller and its roles to the twin, and the objects are there afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from nodewarden.twin.service import Twin
from tests.tools import kubectl_120

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_kubectl_applies_the_crds_the_controller_and_its_roles(tmp_path: Path) -> None:
    with Twin("small", state_dir=tmp_path / "twin") as twin:
        env = {**os.environ, "KUBECONFIG": str(twin.state_dir / "kubeconfig"), "HOME": str(tmp_path)}

        def kubectl(*args: str) -> str:
            done = subprocess.run([str(kubectl_120()), *args], capture_output=True, text=True, env=env, timeout=60,
                                  check=False)  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stdout

        kubectl("apply", "-f", str(DEPLOY / "crds"))
        applied = kubectl("apply", "-f", str(DEPLOY / "base" / "controller.yaml"), "-f", str(DEPLOY / "base" / "rbac" / "controller.yaml"),
                          "-f", str(DEPLOY / "overlays" / "drill" / "rbac.yaml"))  # fmt: skip
        assert "deployment.apps/nodewarden created" in applied
        assert "clusterrole.rbac.authorization.k8s.io/nodewarden created" in applied
        assert kubectl("get", "serviceaccount", "nodewarden", "-n", "nodewarden", "-o", "name").strip() == (
            "serviceaccount/nodewarden"
        )
        again = kubectl("apply", "-f", str(DEPLOY / "base" / "rbac" / "controller.yaml"))
        assert "clusterrole.rbac.authorization.k8s.io/nodewarden unchanged" in again
        assert kubectl("get", "noderemediations").strip() in ("", "No resources found")
