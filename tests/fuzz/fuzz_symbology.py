"""atheris harness: a scanned label's AIM identifier, symbology, check digits and GS1 element string (biip)."""

import importlib

from tests.fuzz._harness import fuzz_function, instrumented

with instrumented("biip"):
    # biip's parsers, instrumented too (drivers.symbology imports them lazily, at the first GS1 scan).
    for module in ("biip.gs1_messages", "biip.gs1_digital_link_uris", "biip.upc"):
        importlib.import_module(module)
    from drivers.scan_report import decode_label
    from tests.fuzz._checks import scan

if __name__ == "__main__":
    fuzz_function(lambda label: scan(decode_label(label), label.decode("latin-1")))
