"""The HTTP API keeps its OpenAPI contract: schemathesis against a real ``posd serve --simulate`` process.

For every operation schemathesis sends the examples, the coverage cases (boundaries, missing and wrong-typed
fields, methods the path does not have) and fuzzed requests, both schema-valid and schema-violating, to the daemon
and checks each answer: never a 500, only documented status codes, headers and content types, bodies that match the
documented schema, schema-violating input refused with a 4xx problem, schema-valid input not refused.

Then :func:`test_job_workflows` follows the document's links, as a client would: it queues jobs and takes each
answer's job on to the job operations (look it up, cancel it, release it, list the printer's jobs, send the same
request again as a retry), with the same checks, and :class:`JobModel` holds every answer to what the answers
before it said: a job's printer, kind and creation never change, a finished or cancelled job stays so, a job the
daemon answered with is never "not found", a retry gets the same job and a different request with the key 422.

The daemon runs as its own process (the real console script, simulators behind real ptys and TCP) for the whole
module, so these plain synchronous tests call a real server and never touch pytest-asyncio's per-test loops.
The operations come from the same ``build_openapi`` the daemon serves (at import time, so that every operation is
its own test); :func:`test_served_document_is_the_tested_one` checks that the served document is that one.
``schemathesis.pytest.from_fixture`` would load the served document itself, but with pytest 9 it fails on the
removed ``Node._nodeid``.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import hypothesis
import jsonschema_rs
import pytest
import requests
import schemathesis
import websockets.sync.client
from requests.structures import CaseInsensitiveDict
from schemathesis import AuthContext, Case, CheckContext, CheckFunction, Response

from api.endpoint_table import ENDPOINTS, HEADERS, LINKS
from api.openapi import build_openapi
from api.printers import PrintJobRequest
from daemon import __version__
from drivers.simulated import DEFAULT_SIMULATED_DEVICES
from tests.conftest import FAST_SUPERVISOR, SIMULATED_IDS

if TYPE_CHECKING:
    from schemathesis.generation.stateful.state_machine import APIStateMachine

POSD = Path(sys.executable).with_name("posd")
READY = re.compile(r"ready on (http://127\.0\.0\.1:\d+) \(simulate mode\)")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

DOCUMENT = build_openapi(ENDPOINTS, __version__, headers=HEADERS, links=LINKS)

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
#: The document's body is a control of some simulator; the device behind the id takes only its own simulator's.
SIM_CONTROL_PATH = "/api/v1/sim/{id}"
JOB_PATH = "/api/v1/jobs/{job_id}"

#: Stateful runs: scenarios (each from a fresh state machine, on the same daemon) and requests in each.
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 10

CONFIG: dict[str, Any] = {
    # Reproducible in CI: a fixed seed, derandomized generation, no example database carried between runs.
    "seed": 7117,
    # A real daemon on a 2-core runner answers slower than Hypothesis' in-process budget; that is not a bug.
    "suppress-health-check": ["too_slow", "filter_too_much"],
    # No 500, ever. 502, 503 and 504 are the documented answers of a gateway whose device is garbled, away or
    # slow (protocol_error, device_offline, weight_not_stable, …); status_code_conformance checks they are listed.
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "503", "504"]}},
    "generation": {"mode": "all", "max-examples": 50, "deterministic": True, "database": "none"},
    # Stateful scenarios follow the document's own links (inferred ones would test schemathesis' guesses, not the
    # contract) with valid requests; invalid ones, mostly without credentials, are the other phases' work.
    "phases": {"stateful": {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}},
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
        # A dozen kinds of control, each with its own fields, for five devices: more to try than one body.
        {"include-path": SIM_CONTROL_PATH, "generation": {"max-examples": 300}},
        # "Schema-valid means accepted" cannot hold where the answer depends on more than JSON Schema can say:
        # whether a receipt renders (barcode check digits, a PNG inside the base64, text the code page lacks),
        # how wide this display is, which simulator is behind the id. There a 400 must at least be that
        # judgement, never the body's schema validation: see schema_valid_body_passes_validation.
        *(
            {"include-path": path, "checks": {"positive_data_acceptance": {"enabled": False}}}
            for path in (*SEMANTIC_BODY_PATHS, SIM_CONTROL_PATH)
        ),
        # DELETE cancels a job, which stays to be looked up (state cancelled): a later GET is not a use after
        # free. JobModel checks instead that a cancelled job stays cancelled.
        {"include-path": JOB_PATH, "checks": {"use_after_free": {"enabled": False}}},
    ],
}


def _tested_document(document: dict[str, Any]) -> dict[str, Any]:
    """The document as schemathesis is given it, for what its stateful phase makes of links.

    A link's ``requestBody`` replaces the body, as OpenAPI says: schemathesis merges it into a generated body by
    default (``x-schemathesis: merge_body``), which would make the Retry link send a mix of two requests rather
    than the same request again. And schemathesis starts scenarios from a POST that has links out, in preference to
    the others: release has some, but it answers 200 only for a job held as uncertain after a crash, which this run
    never makes, so every scenario would start with a release of a made-up job. Without them, scenarios start by
    queueing a job (or listing, looking up or cancelling one), and release still gets every job the others find.
    """
    tested = copy.deepcopy(document)
    del tested["paths"]["/api/v1/jobs/{job_id}/release"]["post"]["responses"]["200"]["links"]
    for path in tested["paths"].values():
        for operation in path.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    if "requestBody" in link:
                        link["x-schemathesis"] = {"merge_body": False}
    return tested


schema = schemathesis.openapi.from_dict(_tested_document(DOCUMENT), config=schemathesis.Config.from_dict(CONFIG))


@dataclass(frozen=True)
class ServedDaemon:
    url: str
    token: str


#: The served daemon's admin token, made here and left in its state directory before it starts (the daemon
#: keeps a token it finds there): the examples and coverage cases are made while collecting, before the daemon
#: runs, and would otherwise all go without credentials, to be refused with 401 whatever else they hold.
ADMIN_TOKEN = secrets.token_urlsafe(32)


@schema.auth(refresh_interval=None)  # the token never changes: nothing to cache, no re-login on a 401
class AdminToken:
    """The served daemon's admin token on every case, except those that leave credentials out on purpose.

    Through schemathesis rather than a header on every call: then it knows which requests carry credentials,
    and a case without them (or with a wrong one) expecting 401 is sent as generated.
    """

    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        return ADMIN_TOKEN

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        headers = CaseInsensitiveDict(case.headers)
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


@pytest.fixture(scope="module")
def served_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDaemon]:
    """``posd serve --simulate`` as a process for the module; always stopped (SIGTERM, then kill)."""
    state = tmp_path_factory.mktemp("contract")
    config = state / "posd.toml"
    # Quick retries for devices a fuzzed request takes offline. No udev: this is not about the host's USB.
    config.write_text(FAST_SUPERVISOR + "\n[hotplug]\nenabled = false\n")
    # POSD_* variables are configuration to the daemon (and unknown ones an error): none of the caller's.
    env = {name: value for name, value in os.environ.items() if not name.startswith("POSD_")}
    token_file = state / "admin.token"
    token_file.touch(mode=0o600)
    token_file.write_text(ADMIN_TOKEN + "\n")
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
        assert token_file.read_text().strip() == ADMIN_TOKEN, "the daemon did not keep the admin token given it"
        yield ServedDaemon(url, ADMIN_TOKEN)
    finally:
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

    def read() -> None:
        for line in stdout:
            lines.put(line)

    # readline() has no timeout: a reader thread hands the lines over, and the wait for them has one.
    threading.Thread(target=read, name="posd-stdout", daemon=True).start()
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


def _bounded_waits(case: Case[Any]) -> None:
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
    if not isinstance(value, int | float) or isinstance(value, bool) or not float(value).is_integer():
        return
    if WAIT_LIMIT_MS < value <= top:
        values["timeout_ms"] = WAIT_LIMIT_MS


# -- simulator controls ----------------------------------------------------------------------------------
SIM_CONTROLS: dict[str, list[str]] = DOCUMENT["components"]["schemas"]["SimControlRequest"]["x-posd-simulator-controls"]
DEVICE_DRIVERS = {device.id: device.driver for device in DEFAULT_SIMULATED_DEVICES}
#: What the simulated devices are set back to after a control, so that a fuzzed unplug, paper end or scale in
#: motion does not leave every later test with an offline printer or a weight that never settles. A roll ending
#: after 10⁹ more cuts is the way to call off a fuzzed ``paper_end_after_cuts``.
SIM_RESTORE: dict[str, list[dict[str, Any]]] = {
    "escpos": [{"action": "fault", "paper": "ok", "cover": "closed", "online": True, "paper_end_after_cuts": 10**9}],
    "escpos-drawer": [{"action": "set", "opened": False}],
    "toledo-8217": [{"action": "set", "value": 0}],
}
#: A simulator's refusals beyond what JSON Schema says: a validator's judgement (hex that is not hex, a keyboard
#: layout xkb does not know), units this scale does not weigh in, and a load given as a string (pydantic documents
#: a Decimal as any string: whether it parses, and its bounds, come after).
BEYOND_SCHEMA = frozenset({"value_error", "unit_not_supported", "decimal_parsing", "less_than", "greater_than"})


def _controls_validator(driver: str) -> jsonschema_rs.Validator:
    """The document's controls of ``driver``'s simulator, as one schema (refs resolve in the whole document)."""
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in SIM_CONTROLS[driver]]
    return jsonschema_rs.validator_for({"anyOf": refs, "components": DOCUMENT["components"]})


CONTROL_VALIDATORS = {device: _controls_validator(driver) for device, driver in DEVICE_DRIVERS.items()}


def _actions(component: str) -> set[str]:
    action = DOCUMENT["components"]["schemas"][component]["properties"]["action"]
    return {action["const"]} if "const" in action else set(action["enum"])


DEVICE_ACTIONS = {
    device: set().union(*(_actions(name) for name in SIM_CONTROLS[driver])) for device, driver in DEVICE_DRIVERS.items()
}


def _route_sim_control(case: Case[Any]) -> None:
    """Send three controls in four to a device whose simulator has them, the fourth where the id fell.

    Ids and bodies are drawn apart, and a device takes only its own simulator's controls: left as drawn, nearly
    every control would be another simulator's, refused before its values are looked at. A valid control goes to
    a device that takes it, an invalid one to a device that has its action, to be judged by that simulator. Which
    one, and whether, follows from the body, so a case is sent the same way every run. The id stays a valid id.
    """
    device, body = (case.path_parameters or {}).get("id"), case.body
    if case.operation.path != SIM_CONTROL_PATH or device not in DEVICE_DRIVERS or not isinstance(body, dict):
        return
    digest = zlib.crc32(json.dumps(body, sort_keys=True, default=repr).encode())
    if digest % 4 == 0:
        return
    if case.meta is not None and case.meta.generation.mode.is_positive:
        takers = [other for other, validator in CONTROL_VALIDATORS.items() if validator.is_valid(body)]
    else:
        action = body.get("action")
        takers = [other for other, actions in DEVICE_ACTIONS.items() if isinstance(action, str) and action in actions]
    if takers and device not in takers:
        case.path_parameters = {**case.path_parameters, "id": takers[digest % len(takers)]}


def _request(daemon: ServedDaemon, method: str, path: str, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {daemon.token}"}
    return requests.request(method, daemon.url + path, json=body, headers=headers, timeout=10)


def _simulate(daemon: ServedDaemon, device: str, control: dict[str, Any]) -> None:
    answer = _request(daemon, "POST", f"/api/v1/sim/{device}", control)
    assert answer.status_code == 200, (device, control, answer.text)


def _restore_simulator(daemon: ServedDaemon, device: str) -> None:
    for control in [{"action": "plug"}, *SIM_RESTORE.get(DEVICE_DRIVERS[device], [])]:
        _simulate(daemon, device, control)


def schema_valid_body_passes_validation(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A body the document calls valid is never refused by the server's own validation of it.

    Where positive_data_acceptance is off, this still catches the document and the request models drifting apart.
    A simulator control may be another simulator's (the document's body is a control of any of them): then the
    device refuses it, but one of its own simulator's controls (``x-posd-simulator-controls``) it takes, unless it
    judges the value beyond the schema (BEYOND_SCHEMA).
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or case.method.upper() != case.operation.method.upper():
        return None
    if response.status_code != 400:
        return None
    problem = response.json()
    if problem.get("code") not in ("invalid_request", "invalid_json"):
        return True
    if case.operation.path == SIM_CONTROL_PATH:
        validator = CONTROL_VALIDATORS.get((case.path_parameters or {}).get("id", ""))
        if validator is None or not validator.is_valid(case.body):
            return True  # not a control of this device's simulator: refused, rightly
        types = {error.get("type") for error in problem.get("errors", [])}
        assert types, response.text
        assert types <= BEYOND_SCHEMA, f"this simulator's own control refused: {response.text}"
        return True
    raise AssertionError(f"schema-valid body refused as {problem.get('code')}: {response.text}")


# -- print jobs ------------------------------------------------------------------------------------------
TERMINAL = frozenset({"done", "failed", "cancelled"})
#: (method, path) → operation id, of the operations that answer with jobs.
JOB_OPERATIONS = {
    (endpoint.method, endpoint.path): endpoint.handler.__name__
    for endpoint in ENDPOINTS
    if endpoint.handler.__name__ in {"submit_job", "get_job", "cancel_job", "release_job", "list_jobs"}
}


@dataclass
class JobModel:
    """What the daemon has said about print jobs so far, to hold each new answer to (the run shares one daemon)."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Job id → the job as last answered."""
    keys: dict[str, tuple[tuple[str, str, bytes], str]] = field(default_factory=dict)
    """Idempotency-Key → the request it was first answered for (printer, kind, payload) and its job id."""

    def check(self, case: Case[Any], response: Response) -> None:
        operation = JOB_OPERATIONS.get((case.method.upper(), case.operation.path))
        if operation is None or case.method.upper() != case.operation.method.upper():
            return
        body = response.json() if response.content else None
        job_id = (case.path_parameters or {}).get("job_id")
        if response.status_code == 404 and isinstance(body, dict) and body.get("code") == "job_not_found":
            assert job_id not in self.jobs, f"job {job_id} was answered before, now it is not found"
        if operation == "submit_job":
            self._submission(case, response, body)
        if response.status_code not in (200, 202):
            return
        assert isinstance(body, dict)
        if operation == "list_jobs":
            listed = body["jobs"]
            assert all(job["printer"] == case.path_parameters["id"] for job in listed), body
            created = [_time(job["created"]) for job in listed]
            assert created == sorted(created, reverse=True), f"not newest first: {body}"
            for job in listed:
                self.seen(job)
            return
        job = body["job"]
        if job_id is not None:
            assert job["id"] == job_id, body
        if operation == "cancel_job":
            assert job["state"] == "cancelled", f"cancelled, yet {job['state']}: {body}"
        if operation == "release_job":
            assert (job["state"], job["copy"]) == ("queued", True), f"released, yet: {body}"
        self.seen(job)

    def _submission(self, case: Case[Any], response: Response, body: Any) -> None:
        location = response.headers.get("location", [None])[0]
        replayed = response.headers.get("idempotent-replayed", [None])[0] == "true"
        sent = response.request.headers.get("Idempotency-Key")
        key = sent.decode("latin-1") if isinstance(sent, bytes) else sent
        if response.status_code == 202:
            job = body["job"]
            assert location == f"/api/v1/jobs/{job['id']}", (location, body)
            if not replayed:
                assert job["id"] not in self.jobs, f"a new job with the id of an earlier one: {body}"
                assert (job["state"], job["copy"]) == ("queued", False), f"a new job, yet: {body}"
        if key is None or response.status_code not in (202, 422):
            return
        request = (case.path_parameters["id"], *PrintJobRequest.model_validate(case.body).kind_and_payload())
        earlier = self.keys.get(key)
        if response.status_code == 202:
            assert earlier is None or earlier == (request, body["job"]["id"]), (
                f"Idempotency-Key {key!r} made job {earlier and earlier[1]} for {earlier and earlier[0]!r}, "
                f"now answers {body} for {request!r}"
            )
            assert earlier is None or replayed, f"a retry answered without Idempotent-Replayed: {body}"
            self.keys.setdefault(key, (request, body["job"]["id"]))
        elif earlier is not None and body.get("code") == "idempotency_key_reused":
            assert earlier[0] != request, f"the same request with Idempotency-Key {key!r} refused: {body}"
            assert body.get("job_id") == earlier[1], body

    def seen(self, job: dict[str, Any]) -> None:
        before = self.jobs.get(job["id"])
        self.jobs[job["id"]] = job
        if before is None:
            return
        where = f"job {job['id']}: {before} then {job}"
        assert (job["printer"], job["kind"], job["created"]) == (before["printer"], before["kind"], before["created"])
        assert _time(job["updated"]) >= _time(before["updated"]), where
        assert before["state"] not in TERMINAL or job["state"] == before["state"], where
        assert job["state"] != "uncertain" or before["state"] == "uncertain", where  # only a restart makes one
        assert job["copy"] or not before["copy"], where


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


JOB_MODEL = JobModel()


def jobs_keep_their_history(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Each answer about print jobs agrees with the answers before it (see :class:`JobModel`)."""
    JOB_MODEL.check(case, response)
    return None


CHECKS: list[CheckFunction] = [schema_valid_body_passes_validation, jobs_keep_their_history]


# The event stream is a WebSocket upgrade, which an HTTP client cannot make (a plain GET is rightly refused);
# tests/api/test_events.py covers it.
@schema.exclude(path="/api/v1/events").parametrize()
def test_api_contract(case: Case[Any], served_daemon: ServedDaemon) -> None:
    _bounded_waits(case)
    _route_sim_control(case)
    response = case.call(base_url=served_daemon.url)
    try:
        case.validate_response(response, additional_checks=CHECKS, transport_kwargs={"base_url": served_daemon.url})
    finally:
        device = (case.path_parameters or {}).get("id")
        if case.operation.path == SIM_CONTROL_PATH and response.status_code == 200 and device in DEVICE_DRIVERS:
            _restore_simulator(served_daemon, device)


# -- stateful --------------------------------------------------------------------------------------------
if TYPE_CHECKING:
    StateMachine = APIStateMachine
else:
    StateMachine = schema.as_state_machine()


class JobWorkflow(StateMachine):
    """Scenarios along the document's links, on the served daemon, with the same checks."""

    base_url: ClassVar[str] = ""
    scenarios: ClassVar[int] = 0
    steps: ClassVar[int] = 0
    failures: ClassVar[list[Exception]] = []
    """Every failed check, kept here too: Hypothesis replays a failure to report it, and on a daemon whose state
    moved on the replay may not fail again (or may not even draw the same steps)."""

    def setup(self) -> None:
        JobWorkflow.scenarios += 1

    def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
        return {"base_url": self.base_url}

    def validate_response(
        self, response: Response, case: Case[Any], additional_checks: list[CheckFunction] | None = None, **kwargs: Any
    ) -> None:
        JobWorkflow.steps += 1
        try:
            super().validate_response(response, case, additional_checks=[*(additional_checks or []), *CHECKS], **kwargs)
        except Exception as failure:
            JobWorkflow.failures.append(failure)
            raise


#: Fresh Hypothesis runs a stateful test may take to get through its scenarios (see _run_scenarios).
MAX_RUNS = 5


def _inconsistent_generation(error: BaseException) -> bool:
    """Hypothesis found that the same choices led to different steps: the daemon answered differently."""
    if isinstance(error, hypothesis.errors.FlakyStrategyDefinition):
        return True
    # Where it draws past a choice an earlier run refused, Hypothesis asserts instead of raising that.
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    internal = traceback is not None and traceback.tb_frame.f_globals["__name__"].startswith("hypothesis.internal")
    return isinstance(error, AssertionError) and internal


def _run_scenarios(settings: hypothesis.settings) -> None:
    """Run JobWorkflow for ``settings.max_examples`` scenarios, failing on the first failed check.

    Hypothesis explores a tree of choices, and takes it that the same choices lead to the same steps. The daemon
    keeps its state from one scenario to the next (a job printed since, an Idempotency-Key used), so the same start
    may now lead elsewhere; Hypothesis stops the run there (schemathesis' own runner does the same). Then a fresh
    run, with a fresh tree, takes the remaining scenarios.
    """
    JobWorkflow.scenarios = JobWorkflow.steps = 0
    JobWorkflow.failures.clear()
    for _ in range(MAX_RUNS):
        remaining = settings.max_examples - JobWorkflow.scenarios
        try:
            JobWorkflow.run(settings=hypothesis.settings(settings, max_examples=max(remaining, 1)))
        except Exception as error:
            failed = JobWorkflow.failures
            if not (_inconsistent_generation(error) or (failed and isinstance(error, hypothesis.errors.Flaky))):
                raise  # a failed check as Hypothesis reports it, with the steps to it (or the test's own error)
            if failed:
                raise failed[0] from error  # its replay did not fail again, or went elsewhere: the failure as it was
        else:
            return
        if JobWorkflow.scenarios >= settings.max_examples:
            return
    pytest.fail(f"{MAX_RUNS} runs ended early, after {JobWorkflow.scenarios} scenarios in all")


#: How long jobs may take to print once the printer has paper again.
SETTLE_TIMEOUT_S = 20.0


@pytest.mark.parametrize("paper", ["end", "ok"])
def test_job_workflows(served_daemon: ServedDaemon, paper: str) -> None:
    """Scenarios along the links, first with the printer out of paper (jobs are held: cancels succeed), then
    with paper (jobs print at once). Between the two, every held job must print, and every cancelled one not."""
    JobWorkflow.base_url = served_daemon.url
    settings = hypothesis.settings(
        JobWorkflow.TestCase.settings,
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS,
        derandomize=True,
        database=None,
    )
    _restore_simulator(served_daemon, "printer-1")
    _simulate(served_daemon, "printer-1", {"action": "fault", "paper": paper})
    try:
        _run_scenarios(settings)
    finally:
        _restore_simulator(served_daemon, "printer-1")
    assert JobWorkflow.steps >= STATEFUL_SCENARIOS * 2, f"only {JobWorkflow.steps} steps"
    assert JOB_MODEL.jobs, "no scenario made a job"
    if paper == "end":
        states = {job["state"] for job in JOB_MODEL.jobs.values()}
        assert {"held", "cancelled"} <= states, f"out of paper, yet the jobs were {states}"
    _wait_until_settled(served_daemon)


def _wait_until_settled(daemon: ServedDaemon) -> None:
    """Every job the run saw ends done or cancelled: its ``printer.job`` events, replayed from the start of the
    ring and then live, until each one's latest state is final; that state is then held to JobModel."""
    url = daemon.url.replace("http://", "ws://", 1) + "/api/v1/events?since=0&topics=printer.job"
    latest: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with websockets.sync.client.connect(url, open_timeout=10) as events:
        events.send(json.dumps({"type": "auth", "token": daemon.token}))
        assert json.loads(events.recv(timeout=10))["type"] == "hello"
        while pending := [
            job_id for job_id, job in JOB_MODEL.jobs.items() if latest.get(job_id, job)["state"] not in TERMINAL
        ]:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"still not printed: {[latest.get(job, JOB_MODEL.jobs[job]) for job in pending]}"
            try:
                message = json.loads(events.recv(timeout=remaining))
            except TimeoutError:
                continue
            assert message.get("type") != "gap", f"the event ring no longer holds this run's jobs: {message}"
            if message.get("topic") == "printer.job":
                latest[message["data"]["id"]] = message["data"]
    for job_id, job in latest.items():
        if job_id in JOB_MODEL.jobs:
            JOB_MODEL.seen(job)
    assert {job["state"] for job in JOB_MODEL.jobs.values()} <= {"done", "cancelled"}
