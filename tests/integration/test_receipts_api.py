"""Receipt documents through the API: multilingual text, QR and EAN-13 on the paper, preview, bad input."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from drivers.escpos.profile import get_profile
from drivers.escpos.simulator import EscposSimulator
from drivers.simulator import TcpEndpoint
from drivers.transports import TcpSettings
from tests.conftest import EventStream, RunningDaemon, StartDaemon

TEXTS = ["Pão de queijo — Ação R$ 12,50 €", "Größe ß", "¿Año?", "收银台 你好"]
QR_DATA = "https://www.sefaz.rs.gov.br/NFCE/NFCE-COM.aspx?p=43231112345678000195650010000001231000001239|2|1|1|ABC"
EAN13 = "7891000315507"


def receipt() -> dict[str, Any]:
    return {
        "blocks": [
            *({"type": "text", "text": text} for text in TEXTS),
            {"type": "qr", "data": QR_DATA, "size": 6, "ecc": "M"},
            {"type": "barcode", "data": EAN13, "symbology": "EAN13", "height": 80},
            {"type": "cut"},
        ]
    }


async def print_and_wait(handle: RunningDaemon, printer: str, document: dict[str, Any]) -> None:
    jobs: EventStream = await handle.events(f"topics=printer.job&devices={printer}")
    response = await handle.post(f"/api/v1/printers/{printer}/jobs", {"document": document})
    assert response.status == 202, response.body
    job_id = response.body["job"]["id"]
    await jobs.next("printer.job", where=lambda j: j["id"] == job_id and j["state"] == "done")


def decoded(png: bytes) -> dict[str, str]:
    image = Image.open(io.BytesIO(png))
    return {result.format.name: result.text for result in zxingcpp.read_barcodes(image)}


async def test_multilingual_receipt_round_trips_on_the_simulated_80mm_printer(sim_daemon: RunningDaemon) -> None:
    await print_and_wait(sim_daemon, "printer-1", receipt())
    lines = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body["lines"]
    for text in TEXTS:
        assert text in lines, (text, lines)


async def test_qr_and_ean13_on_the_paper_decode_to_exactly_the_data(sim_daemon: RunningDaemon) -> None:
    await print_and_wait(sim_daemon, "printer-1", receipt())
    response = await sim_daemon.get("/api/v1/sim/printer-1/output.png")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    found = decoded(response.body)
    assert found.get("QRCode") == QR_DATA, found
    assert found.get("EAN13") == EAN13, found


async def test_preview_is_the_same_paper_without_printing(sim_daemon: RunningDaemon) -> None:
    response = await sim_daemon.post("/api/v1/printers/printer-1/preview", {"document": receipt()})
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    found = decoded(response.body)
    assert (found.get("QRCode"), found.get("EAN13")) == (QR_DATA, EAN13)
    output = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body
    assert output["lines"] == []
    assert (await sim_daemon.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []


async def test_58mm_clone_profile_round_trip(start_daemon: StartDaemon) -> None:
    clone = EscposSimulator("clone-58", TcpEndpoint(), profile=get_profile("POS-5890"))
    await clone.start()
    try:
        endpoint = clone.transport_settings()
        assert isinstance(endpoint, TcpSettings)
        handle = await start_daemon(
            f"""
[[devices]]
id = "clone-58"
driver = "escpos"
transport = {{ type = "tcp", host = "{endpoint.host}", port = {endpoint.port} }}
options = {{ profile = "POS-5890" }}
""",
            simulate=False,
        )
        states = await handle.events("topics=device.state")
        await handle.wait_state(states, "clone-58", "ready")
        await print_and_wait(handle, "clone-58", receipt())
        for text in TEXTS:
            assert text in clone.paper_out.lines, (text, clone.paper_out.lines)
        found = decoded(clone.paper_png())
        assert (found.get("QRCode"), found.get("EAN13")) == (QR_DATA, EAN13)
    finally:
        await clone.stop()


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"blocks": [{"type": "barcode", "data": "12345ABC", "symbology": "EAN13"}]}, "invalid_document"),
        ({"blocks": [{"type": "image", "png": "bm90IGEgcG5n"}]}, "invalid_document"),
    ],
)
async def test_bad_documents_are_refused_and_nothing_is_queued(
    sim_daemon: RunningDaemon, document: dict[str, Any], code: str
) -> None:
    response = await sim_daemon.post("/api/v1/printers/printer-1/jobs", {"document": document})
    assert (response.status, response.body["code"]) == (400, code), response.body
    assert (await sim_daemon.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []


async def test_image_too_large_for_the_paper(sim_daemon: RunningDaemon) -> None:
    buffer = io.BytesIO()
    Image.new("1", (800, 30000), 1).save(buffer, "PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    response = await sim_daemon.post(
        "/api/v1/printers/printer-1/jobs", {"document": {"blocks": [{"type": "image", "png": png}]}}
    )
    assert (response.status, response.body["code"]) == (400, "image_too_large"), response.body
    assert (await sim_daemon.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []


async def test_strict_encoding_refuses_what_the_printer_cannot_print(start_daemon: StartDaemon) -> None:
    handle = await start_daemon("[printing]\nstrict_encoding = true\n")
    document = {"blocks": [{"type": "text", "text": "Ωμέγα ☃"}]}
    response = await handle.post("/api/v1/printers/printer-1/jobs", {"document": document})
    assert (response.status, response.body["code"]) == (400, "unencodable_text"), response.body
    assert (await handle.get("/api/v1/printers/printer-1/jobs")).body["jobs"] == []


async def test_lenient_encoding_prints_a_visible_replacement(sim_daemon: RunningDaemon) -> None:
    await print_and_wait(sim_daemon, "printer-1", {"blocks": [{"type": "text", "text": "snow ☃ man"}, {"type": "cut"}]})
    lines = (await sim_daemon.get("/api/v1/sim/printer-1/output")).body["lines"]
    assert "snow ? man" in lines, lines
