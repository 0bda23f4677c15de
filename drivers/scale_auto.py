"""``scale-auto``: find which protocol a serial scale speaks, then drive it with that protocol's driver.

On every connection it probes the open line, in this order, and adopts the first protocol that answers
with a frame its own codec accepts (checksums and all):

1. listen only — a Toledo continuous-output stream;
2. ``SI CR LF`` — MT-SICS (an ``ES``/``EL`` error line counts: only MT-SICS answers that way);
3. ``W`` — Toledo 8213/8217 (SCP);
4. ``CR W CR`` — NCI / ECR (the leading CR ends whatever an earlier probe left in the scale's buffer);
5. ENQ — Toledo Prix A/B/C or Filizola (same frames), Urano (``PESO:``), or CAS (ACK; then DC1, else DC2).

What it cannot do: change the line settings. A probe only reaches scales whose baud rate and framing
match the transport's (7E1 replies read on 8N1 still decode, since the codecs mask bit 7, but a 7E1 scale
may reject an 8N1 request as a parity error). Adam MDW answers like NCI and is adopted as ``nci``
(configure ``adam-mdw`` for its tare); Filizola is adopted as ``toledo-prix``. Probing sends only
read requests — never zero or tare. If nothing answers, the device goes offline and is retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from drivers.base import DeviceContext, DeviceLink, Scale
from drivers.cas.codec import DC1, DC2, CasControl, CasDecoder
from drivers.cas.driver import CasDc1Scale, CasDc2Scale
from drivers.errors import DeviceOffline, TransportTimeout
from drivers.models import Weight
from drivers.mtsics.codec import SicsDecoder
from drivers.mtsics.driver import MtSicsScale
from drivers.nci.codec import NciDecoder, NciReply
from drivers.nci.driver import NciScale
from drivers.scale_base import PolledScaleOptions, ScaleDriver
from drivers.scale_codec import BadFrame, ScaleDecoder
from drivers.toledo import continuous, prix
from drivers.toledo.codec import ToledoDecoder
from drivers.toledo.driver import Toledo8217Scale, ToledoContinuousScale, ToledoPrixScale
from drivers.transports import Transport
from drivers.urano.codec import UranoDecoder
from drivers.urano.driver import UranoScale

_LOGGER = logging.getLogger(__name__)

#: Protocol (registry driver name) → driver class.
PROTOCOLS: dict[str, type[ScaleDriver[Any]]] = {
    "toledo-continuous": ToledoContinuousScale,
    "mt-sics": MtSicsScale,
    "toledo-8217": Toledo8217Scale,
    "nci": NciScale,
    "toledo-prix": ToledoPrixScale,
    "urano": UranoScale,
    "cas-dc1": CasDc1Scale,
    "cas-dc2": CasDc2Scale,
}


@dataclass(frozen=True)
class Listener:
    """A protocol recognised in the bytes a probe brings back: its decoder and what counts as an answer."""

    protocol: str
    decoder: Callable[[], ScaleDecoder[Any]]
    answers: Callable[[Any], bool] = lambda item: True


@dataclass(frozen=True)
class Probe:
    request: bytes
    listeners: Sequence[Listener]


def _is_nci(item: Any) -> bool:
    return isinstance(item, NciReply) and not item.unrecognized


PROBES: tuple[Probe, ...] = (
    Probe(b"", [Listener("toledo-continuous", continuous.ContinuousDecoder)]),
    Probe(b"SI\r\n", [Listener("mt-sics", SicsDecoder)]),
    Probe(b"W", [Listener("toledo-8217", ToledoDecoder)]),
    Probe(b"\rW\r", [Listener("nci", NciDecoder, _is_nci)]),
    Probe(
        prix.ENQ,
        [
            Listener("toledo-prix", prix.PrixDecoder),
            Listener("urano", UranoDecoder),
            Listener(
                "cas", lambda: CasDecoder("dc1"), lambda item: isinstance(item, CasControl) and item.kind == "ack"
            ),
        ],
    ),
)
#: After a CAS ACK: which data request gets an answer tells the ECR type.
CAS_PROBES: tuple[Probe, ...] = (
    Probe(DC1, [Listener("cas-dc1", lambda: CasDecoder("dc1"), lambda item: not isinstance(item, CasControl))]),
    Probe(prix.ENQ + DC2, [Listener("cas-dc2", lambda: CasDecoder("dc2"), lambda item: item != CasControl("ack"))]),
)


class AutoScaleOptions(PolledScaleOptions):
    probe_timeout_s: float = Field(0.6, gt=0, le=10, description="Time each probe waits for an answer.")


class AutoScale(Scale):
    """Probes the line on each connection, then runs the adopted protocol's driver on it."""

    Options: ClassVar[type[BaseModel]] = AutoScaleOptions
    options: AutoScaleOptions

    def __init__(self, ctx: DeviceContext, options: BaseModel) -> None:
        super().__init__(ctx, options)
        self.protocol: str | None = None
        self._active: ScaleDriver[Any] | None = None
        self._last: ScaleDriver[Any] | None = None

    def status(self) -> dict[str, object]:
        driver = self._active or self._last
        return {"protocol": self.protocol, **(driver.status() if driver else {"weight": None})}

    async def run(self, link: DeviceLink) -> None:
        transport = self.byte_transport(link)
        protocol = await self.probe(transport)
        if protocol is None:
            raise TransportTimeout(f"no known scale protocol answered (tried {', '.join(PROTOCOLS)})")
        _LOGGER.info("%s: the scale speaks %s", self.ctx.device_id, protocol)
        self.protocol = protocol
        driver_class = PROTOCOLS[protocol]
        shared = self.options.model_dump(exclude={"probe_timeout_s"})
        options = driver_class.Options.model_validate(
            {key: value for key, value in shared.items() if key in driver_class.Options.model_fields}
        )
        driver = driver_class(self.ctx, options)
        self._active = self._last = driver
        try:
            await driver.run(transport)
        finally:
            self._active = None

    async def probe(self, transport: Transport) -> str | None:
        for probe in PROBES:
            found = await self._try(transport, probe)
            if found == "cas":
                for cas_probe in CAS_PROBES:
                    found = await self._try(transport, cas_probe)
                    if found is not None:
                        return found
                return None
            if found is not None:
                return found
        return None

    async def _try(self, transport: Transport, probe: Probe) -> str | None:
        await self._drain(transport)
        decoders = [(listener, listener.decoder()) for listener in probe.listeners]
        if probe.request:
            await transport.write(probe.request, timeout=self.options.probe_timeout_s)
        deadline = time.monotonic() + self.options.probe_timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                data = await transport.read(remaining)
            except TransportTimeout:
                break
            for listener, decoder in decoders:
                if any(not isinstance(item, BadFrame) and listener.answers(item) for item in decoder.feed(data)):
                    return listener.protocol
        return None

    @staticmethod
    async def _drain(transport: Transport) -> None:
        while True:
            try:
                await transport.read(0)
            except TransportTimeout:
                return

    def _driver(self) -> ScaleDriver[Any]:
        if self._active is None:
            raise DeviceOffline(f"{self.ctx.device_id} is {self.ctx.state.value} (protocol not found yet)")
        return self._active

    async def read_weight(self, *, stable: bool, timeout: float) -> Weight:
        return await self._driver().read_weight(stable=stable, timeout=timeout)

    async def zero(self) -> None:
        await self._driver().zero()

    async def tare(self) -> None:
        await self._driver().tare()
