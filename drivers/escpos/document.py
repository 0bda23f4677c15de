"""Receipt documents: what a POS sends to print, independent of any printer's bytes.

The API validates requests with these models and publishes them in the OpenAPI document; the renderer
(:mod:`drivers.escpos.render`) turns a document into ESC/POS through a printer profile.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Align = Literal["left", "center", "right"]
Multiplier = Annotated[int, Field(ge=1, le=8)]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextBlock(_Block):
    type: Literal["text"]
    text: str = Field(max_length=10000)
    align: Align = "left"
    bold: bool = False
    underline: bool = False
    size: tuple[Multiplier, Multiplier] = Field((1, 1), description="Character width and height multipliers, 1–8 each.")
    font: Literal["a", "b"] = "a"


class RowBlock(_Block):
    type: Literal["row"]
    left: str = Field(max_length=1000)
    right: str = Field(max_length=1000)
    bold: bool = False


class RuleBlock(_Block):
    type: Literal["rule"]
    char: str = Field("-", min_length=1, max_length=1)


class BarcodeBlock(_Block):
    type: Literal["barcode"]
    data: str = Field(min_length=1, max_length=255)
    symbology: Literal["EAN13", "EAN8", "UPCA", "CODE39", "CODE128", "ITF"]
    height: int = Field(80, ge=1, le=255, description="Bar height in dots.")
    hri: bool = Field(True, description="Print the human-readable digits under the bars.")
    align: Align = "center"


class QrBlock(_Block):
    type: Literal["qr"]
    data: str = Field(min_length=1, max_length=2000)
    size: int = Field(
        6, ge=1, le=16, description="Module size in dots (made smaller if the code would not fit the paper)."
    )
    ecc: Literal["L", "M", "Q", "H"] = "M"
    align: Align = "center"


class ImageBlock(_Block):
    type: Literal["image"]
    png: str = Field(description="PNG, base64; scaled down to the paper width if wider.")
    align: Align = "center"


class FeedBlock(_Block):
    type: Literal["feed"]
    lines: int = Field(1, ge=1, le=255)


class CutBlock(_Block):
    type: Literal["cut"]
    partial: bool = False


Block = Annotated[
    TextBlock | RowBlock | RuleBlock | BarcodeBlock | QrBlock | ImageBlock | FeedBlock | CutBlock,
    Field(discriminator="type"),
]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    blocks: list[Block] = Field(min_length=1, max_length=2000)
