"""The HTTP API keeps its OpenAPI contract: schemathesis against a real ``posd serve --simulate`` process.

For every operation schemathesis sends the examples, the coverage cases (boundaries, missing and wrong-typed
fields, methods the path does not have) and fuzzed requests, both schema-valid and schema-violating, to the daemon
and checks each answer: never a 500, only documented status codes and content types, bodies that match the
documented schema, schema-violating input refused with a 4xx problem, schema-valid input not refused.

The daemon runs as its own process (the real console script, simulators behind real ptys and TCP) for the whole
module, so these plain synchronous tests call a real server and never touch pytest-asyncio's per-test loops.
The operations come from the same ``build_openapi`` the daemon serves (at import time, so that every operation is
its own test); :func:`test_served_document_is_the_tested_one` checks that the served document is that one.
``schemathesis.pytest.from_fixture`` would load the served document itself, but with pytest 9 it fails on the
removed ``Node._nodeid``.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
import schemathesis
from schemathesis import AuthContext, Case, CheckContext, Response

from api.endpoint_table import ENDPOINTS
from api.openapi import build_openapi
from daemon import __version__
from tests.conftest import FAST_SUPERVISOR, SIMULATED_IDS

POSD = Path(sys.executable).with_name("posd")
READY = re.compile(r"ready on (http://127\.0\.0\.1:\d+) \(simulate mode\)")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

DOCUMENT = build_openapi(ENDPOINTS, __version__)

#: Path ids drawn from the simulated devices most of the time (random strings only find device_not_found);
#: a family's endpoints mostly get a device of that family, the rest get any device, so wrong kinds come up too.
FAMILY_DEVICE = {"printers": "printer-1", "drawers": "drawer-1", "scales": "scale-1", "displays": "display-1"}
ID_PROBABILITY = 0.8

#: Bodies the device judges beyond their schema (400 invalid_document, text_too_long, …).
SEMANTIC_BODY_PATHS = (
    "/api/v1/printers/{id}/jobs",
    "/api/v1/printers/{id}/preview",
    "/api/v1/displays/{id}/text",
)
#: What a simulator control takes depends on the simulator behind the id; the document says only ``action``.
SIM_CONTROL_PATH = "/api/v1/sim/{id}"

CONFIG: dict[str, Any] = {
    # Reproducible in CI: a fixed seed, derandomized generation, no example database carried between runs.
    "seed": 7117,
    # A real daemon on a 2-core runner answers slower than Hypothesis' in-process budget; that is not a bug.
    "suppress-health-check": ["too_slow", "filter_too_much"],
    # No 500, ever. 502, 503 and 504 are the documented answers of a gateway whose device is garbled, away or
    # slow (protocol_error, device_offline, weight_not_stable, …); status_code_conformance checks they are listed.
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "503", "504"]}},
    "generation": {"mode": "all", "max-examples": 50, "deterministic": True, "database": "none"},
    "dictionaries": {
        "devices": {"values": list(SIMULATED_IDS)},
        **{family: {"values": [device]} for family, device in FAMILY_DEVICE.items()},
    },
    "parameters": {"path.id": {"dictionary": "devices", "probability": ID_PROBABILITY}},
    "operations": [
        *(
            {"include-tag": family, "parameters": {"path.id": {"dictionary": family, "probability": ID_PROBABILITY}}}
            for family in FAMILY_DEVICE
        ),
        # The support bundle zips logs, events and the journal: a few requests say what the contract needs.
        {"include-path": "/api/v1/diagnostics", "generation": {"max-examples": 5}},
        # "Schema-valid means accepted" cannot hold where the answer depends on more than JSON Schema can say:
        # whether a receipt renders (barcode check digits, a PNG inside the base64, text the code page lacks),
        # how wide this display is, which actions this simulator has. There a 400 must at least be that
        # judgement, never the body's schema validation: see schema_valid_body_passes_validation.
        *(
            {"include-path": path, "checks": {"positive_data_acceptance": {"enabled": False}}}
            for path in (*SEMANTIC_BODY_PATHS, SIM_CONTROL_PATH)
        ),
    ],
}

schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


@dataclass(frozen=True)
class ServedDaemon:
    url: str
    token: str


@schema.auth(refresh_interval=None)  # the token never changes: nothing to cache, no re-login on a 401
class AdminToken:
    """The served daemon's admin token on every case, except those that leave credentials out on purpose.

    Through schemathesis rather than a header on every call: then it knows which requests carry credentials,
    and a case without them (or with a wrong one) expecting 401 is sent as generated.
    """

    token: ClassVar[str | None] = None

    def get(self, case: Case, ctx: AuthContext) -> str | None:
        return self.token  # None (no daemon yet, e.g. while collecting): the case goes without credentials

    def set(self, case: Case, data: str, ctx: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def served_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDaemon]:
    """``posd serve --simulate`` as a process for the module; always stopped (SIGTERM, then kill)."""
    state = tmp_path_factory.mktemp("contract")
    config = state / "posd.toml"
    # Quick retries for devices a fuzzed request takes offline. No udev: this is not about the host's USB.
    config.write_text(FAST_SUPERVISOR + "\n[hotplug]\nenabled = false\n")
    # POSD_* variables are configuration to the daemon (and unknown ones an error): none of the caller's.
    env = {name: value for name, value in os.environ.items() if not name.startswith("POSD_")}
    log = state / "daemon.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(POSD), "serve", "--simulate", "--port", "0", "--state-dir", str(state), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            text=True,
        )
    try:
        url = _wait_ready(process)
        AdminToken.token = (state / "admin.token").read_text().strip()
        yield ServedDaemon(url, AdminToken.token)
    finally:
        AdminToken.token = None
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # After the tests: an internal error the answers did not show (a failing background task) is in the log.
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-5000:]


def _wait_ready(process: subprocess.Popen[str]) -> str:
    """The daemon's URL from its "ready on" line; fails if it exits or stays silent past START_TIMEOUT_S."""
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    # readline() has no timeout: a reader thread hands the lines over, and the wait for them has one.
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], name="posd-stdout", daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                pytest.fail(f"posd exited with {process.returncode} before it was ready (see daemon.log)")
            continue
        if match := READY.search(line):
            return match.group(1)
    pytest.fail(f"posd did not say it was ready within {START_TIMEOUT_S} s")


def test_served_document_is_the_tested_one(served_daemon: ServedDaemon) -> None:
    response = requests.get(served_daemon.url + "/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == DOCUMENT


#: Operations that wait for the device as long as the request says: waits the fuzzer picks are cut to this.
WAIT_LIMIT_MS = 200


def _bounded_waits(case: Case) -> None:
    """Cut a valid wait to WAIT_LIMIT_MS: still valid, so no case changes from valid to invalid or back.

    The simulated drawer stays open after a kick until someone closes it, and a scale in motion never settles: a
    wait-closed of 10 min or a stable weight of 60 s would then really take that long.
    """
    if case.operation.path == "/api/v1/drawers/{id}/wait-closed" and isinstance(case.body, dict):
        values, top = case.body, 600_000
    elif case.operation.path == "/api/v1/scales/{id}/weight" and isinstance(case.query, dict):
        values, top = case.query, 60_000
    else:
        return
    value = values.get("timeout_ms", top)  # left out: the default, 30 s and 2 s, is as long
    # 10009.0 is an integer too (JSON has one number type); a bool is not, though Python says it is an int.
    is_integer = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    if is_integer and WAIT_LIMIT_MS < value <= top:
        values["timeout_ms"] = WAIT_LIMIT_MS


def schema_valid_body_passes_validation(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A body the document calls valid is never refused by the server's own validation of it.

    Where positive_data_acceptance is off, this still catches the document and the request models drifting apart.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or case.method.upper() != case.operation.method.upper():
        return None
    if case.operation.path == SIM_CONTROL_PATH or response.status_code != 400:
        return None  # a simulator validates its own controls, which the document does not spell out
    code = response.json().get("code")
    assert code not in ("invalid_request", "invalid_json"), f"schema-valid body refused as {code}: {response.text}"
    return True


# The event stream is a WebSocket upgrade, which an HTTP client cannot make (a plain GET is rightly refused);
# tests/api/test_events.py covers it.
@schema.exclude(path="/api/v1/events").parametrize()
def test_api_contract(case: Case, served_daemon: ServedDaemon) -> None:
    _bounded_waits(case)
    case.call_and_validate(
        base_url=served_daemon.url,
        additional_checks=[schema_valid_body_passes_validation],
    )
