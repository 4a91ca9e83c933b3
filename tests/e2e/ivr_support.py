"""The sample IVR tree of ccapp.yaml.example, configured for the test bed.

The tests run the sample tree itself (not a copy): its ``ivr`` and ``queues`` sections are merged into
the test bed's config, with the host paths of the sandbox's sounds, the balance server's address and an
auto-answering SIPp phone as the operator.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import TESTBED_CONFIG
from tests.support.testbed import REPO, sandbox_root

SAMPLE_CONFIG = REPO / "ccapp.yaml.example"
#: PJSIP endpoint whose contact is a SIPp UAS on 127.0.0.1:5071 (asterisk-conf/pjsip.conf)
OPERATOR_ENDPOINT = "PJSIP/agent-sipp-1"
OPERATOR_PORT = 5071


def sample_ivr() -> dict[str, Any]:
    data = yaml.safe_load(SAMPLE_CONFIG.read_text())
    return {"ivr": data["ivr"], "queues": data["queues"]}


def ivr_config(
    tmp_path: Path,
    *,
    balance_url: str,
    extra_trees: dict[str, Any] | None = None,
    node_overrides: dict[str, dict[str, Any]] | None = None,
    name: str = "ccapp.yaml",
) -> Path:
    """Write the test-bed config with the sample tree (and ``extra_trees``) to ``tmp_path/name``."""
    data: dict[str, Any] = yaml.safe_load(TESTBED_CONFIG.read_text())
    sample = copy.deepcopy(sample_ivr())
    data.update(sample)
    ivr = data["ivr"]
    root = sandbox_root()
    sounds = root / "usr/share/asterisk/sounds"
    ivr["sounds_dirs"] = [str(sounds / "en_US_f_Allison"), str(sounds)]
    ivr["tts"]["sounds_dir"] = str(sounds)
    nodes = ivr["trees"]["main"]["nodes"]
    nodes["lookup"]["url"] = f"{balance_url}/balance"
    nodes["operator"]["target"] = OPERATOR_ENDPOINT
    for node, values in (node_overrides or {}).items():
        nodes[node].update(values)
    ivr["trees"].update(extra_trees or {})
    data["http"]["admin_token"] = "testbed-admin-token"
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
