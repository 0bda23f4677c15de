"""udev/61-posd.rules: checked with `udevadm verify` where the installed udev has it (systemd >= 253), and always
by parsing every rule here: valid keys and operators, no world-accessible MODE, groups the service is in, every
vendor/product pair of the known-device table present (read from the data file with tomllib, not through posd),
the usblp hand-off, and the committed file equal to what `posd udev-rules` generates."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from drivers.known_devices import TABLE_PATH, UDEV_RULES_NAME, builtin_table, render_udev_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "udev" / UDEV_RULES_NAME
UNIT = ROOT / "systemd" / "posd.service"

# udev(7): keys that only match, keys that only assign, keys that do either.
MATCH_ONLY = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTRS", "TAGS", "TEST",
              "PROGRAM", "RESULT", "CONST", "SUBSYSTEM"}  # fmt: skip
ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
EITHER = {"NAME", "SYMLINK", "ENV", "TAG", "ATTR", "SYSCTL"}
KEYS_WITH_ATTRIBUTE = {"ATTR", "ATTRS", "ENV", "SYSCTL", "IMPORT", "SECLABEL", "CONST"}
ATTRIBUTE_OPTIONAL = {"RUN", "TEST"}  # RUN{program}, TEST{mode}
MATCH_OPS = {"==", "!="}
ASSIGN_OPS = {"=", "+=", "-=", ":="}
# Properties udev or its builtins provide (usb_id, path_id, input_id, the kernel's uevent).
UDEV_PROVIDED = {"ID_VENDOR_ID", "ID_MODEL_ID", "ID_SERIAL_SHORT", "ID_BUS", "ID_PATH_TAG", "ID_INPUT_KEYBOARD",
                 "DEVTYPE", "POSD_USBLP"}  # fmt: skip

_PAIR = re.compile(r'\s*([A-Z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Pair:
    key: str
    attribute: str | None
    op: str
    value: str


def parse_rules(text: str) -> list[list[Pair]]:
    """Every rule as its key/operator/value pairs; fails on a line that is not entirely such pairs."""
    rules: list[list[Pair]] = []
    logical = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.endswith("\\"):
            logical += line[:-1]
            continue
        logical += line
        stripped = logical.strip()
        logical = ""
        if not stripped or stripped.startswith("#"):
            continue
        pairs: list[Pair] = []
        position = 0
        while position < len(stripped):
            match = _PAIR.match(stripped, position)
            assert match, f"line {number}: cannot parse at {stripped[position:]!r}"
            pairs.append(Pair(match.group(1), match.group(2), match.group(3), match.group(4)))
            position = match.end()
        rules.append(pairs)
    return rules


def _table_pairs() -> dict[tuple[str, str], dict[str, object]]:
    entries = tomllib.loads(TABLE_PATH.read_text())["devices"]
    return {tuple(usb_id.split(":")): entry for entry in entries for usb_id in entry["usb"]}


def test_committed_rules_are_what_posd_generates() -> None:
    assert RULES.read_text() == render_udev_rules(builtin_table()), (
        "udev/61-posd.rules is stale: run `posd udev-rules > udev/61-posd.rules`"
    )
    assert [p.name for p in (ROOT / "udev").glob("*.rules")] == [UDEV_RULES_NAME]


def test_every_rule_parses_into_valid_keys_and_operators() -> None:
    rules = parse_rules(RULES.read_text())
    assert len(rules) > 20
    for rule in rules:
        for pair in rule:
            assert pair.key in MATCH_ONLY | ASSIGN_ONLY | EITHER, pair
            if pair.key in MATCH_ONLY:
                assert pair.op in MATCH_OPS, pair
            elif pair.key in ASSIGN_ONLY:
                assert pair.op in ASSIGN_OPS, pair
            if pair.key not in ATTRIBUTE_OPTIONAL:
                assert (pair.attribute is not None) == (pair.key in KEYS_WITH_ATTRIBUTE), pair
            if pair.key == "IMPORT":
                assert pair.attribute in {"builtin", "program", "file", "db", "cmdline", "parent"}, pair
        # A rule that only matches does nothing: every rule assigns something.
        assert any(p.op in ASSIGN_OPS for p in rule), rule


def test_labels_and_variables_are_consistent() -> None:
    rules = parse_rules(RULES.read_text())
    labels = {p.value for rule in rules for p in rule if p.key == "LABEL"}
    gotos = {p.value for rule in rules for p in rule if p.key == "GOTO"}
    assert gotos
    assert gotos <= labels
    assigned = {p.attribute for rule in rules for p in rule if p.key == "ENV" and p.op in ASSIGN_OPS}
    used = {p.attribute for rule in rules for p in rule if p.key == "ENV" and p.op in MATCH_OPS}
    used |= {name for rule in rules for p in rule for name in re.findall(r"\$env\{([A-Z_]+)\}", p.value)}
    assert used - assigned <= UDEV_PROVIDED, used - assigned - UDEV_PROVIDED


def test_permissions_are_group_based_never_world() -> None:
    rules = parse_rules(RULES.read_text())
    modes = [p.value for rule in rules for p in rule if p.key == "MODE"]
    assert modes
    for mode in modes:
        assert int(mode, 8) & 0o007 == 0, f"MODE {mode} gives access to everyone"
    assert not [line for line in RULES.read_text().splitlines() if "0666" in line and not line.startswith("#")]
    groups = {p.value for rule in rules for p in rule if p.key == "GROUP"}
    # The service user is in exactly these groups: its own (Group=posd) and SupplementaryGroups=.
    unit = UNIT.read_text()
    service_groups = set(re.search(r"^SupplementaryGroups=(.*)$", unit, re.M).group(1).split())  # type: ignore[union-attr]
    service_groups.add(re.search(r"^Group=(.*)$", unit, re.M).group(1))  # type: ignore[union-attr]
    assert groups <= service_groups, groups - service_groups
    assert not [p for rule in rules for p in rule if p.key == "OWNER"]


def test_every_known_vendor_product_pair_has_its_rule() -> None:
    rules = parse_rules(RULES.read_text())
    in_rules: dict[tuple[str, str], dict[str, str]] = {}
    for rule in rules:
        ids = {p.attribute: p.value for p in rule if p.key == "ENV" and p.op == "=="}
        if "ID_VENDOR_ID" in ids and "ID_MODEL_ID" in ids:
            pair = (ids["ID_VENDOR_ID"], ids["ID_MODEL_ID"])
            assert pair not in in_rules, f"{pair} has two rules"
            in_rules[pair] = {p.attribute or p.key: p.value for p in rule if p.op == "="}
    table = _table_pairs()
    assert set(in_rules) == set(table), set(in_rules) ^ set(table)
    for (vendor, product), entry in table.items():
        assigned = in_rules[(vendor, product)]
        assert assigned["POSD_KIND"] == entry["kind"]
        assert assigned["POSD_DRIVER"] == entry["driver"]
        assert assigned["POSD_PROFILE"] == entry["profile"]
        assert assigned["POSD_NAME"].startswith(f"{entry['kind']}-")
        assert assigned["POSD_NAME"].endswith(f"-{product}")


def test_stable_links_and_the_usblp_hand_off() -> None:
    rules = parse_rules(RULES.read_text())
    links = [p.value for rule in rules for p in rule if p.key == "SYMLINK"]
    assert links
    assert all(link.startswith("$env{POSD_LINK}") for link in links)
    link_names = [p for rule in rules for p in rule if p.key == "ENV" and p.attribute == "POSD_LINK"]
    assert {p.value for p in link_names} == {
        "posd/$env{POSD_NAME}-$env{ID_SERIAL_SHORT}",
        "posd/$env{POSD_NAME}-port-$env{ID_PATH_TAG}",
    }
    unbind = [rule for rule in rules if any(p.key == "RUN" for p in rule)]
    assert len(unbind) == 1
    matches = {(p.key, p.attribute): (p.op, p.value) for p in unbind[0] if p.op in MATCH_OPS}
    assert matches[("ACTION", None)] == ("==", "bind")
    assert matches[("DRIVER", None)] == ("==", "usblp")
    assert matches[("ENV", "POSD_KIND")] == ("==", "printer")
    assert matches[("ENV", "POSD_USBLP")] == ("!=", "keep")
    run = next(p for p in unbind[0] if p.key == "RUN")
    assert "/sys/bus/usb/drivers/usblp/unbind" in run.value


def test_parser_rejects_what_udev_would_not_take() -> None:
    for bad in ('KERNEL=="ttyUSB*" GROUP="dialout"', 'KERNEL=="x", GROUP=dialout', 'KERNEL=~"x", GROUP="g"'):
        try:
            parse_rules(bad)
        except AssertionError:
            continue
        raise AssertionError(f"parsed {bad!r}")


def test_udevadm_verify_where_available() -> None:
    """udevadm verify exists from systemd 253 on; Debian 12 has 252, so there the parse checks above stand in."""
    udevadm = shutil.which("udevadm")
    if udevadm is not None:
        probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode == 0:
            result = subprocess.run(
                [udevadm, "verify", str(RULES)], capture_output=True, text=True, timeout=30, check=False
            )
            assert result.returncode == 0, result.stdout + result.stderr
            return
    assert parse_rules(RULES.read_text())
