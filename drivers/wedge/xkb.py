"""A small ctypes binding to libxkbcommon: keymaps by layout name, key state, compose (dead keys).

libxkbcommon (Debian ``libxkbcommon0``) compiles any layout and variant that xkeyboard-config
(``xkb-data``) ships, without an X server; the compose table (dead keys) comes from libX11's locale
data (``libx11-data``). Only the calls posd needs are bound. xkb keycode = evdev key code + 8.

Besides decoding (:class:`KeyState`), :meth:`Keymap.strokes_for` answers the reverse question — which
keys, with which modifiers, type a character on this layout — from the same library. Simulators use it
to type like a real scanner set to that layout.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
from dataclasses import dataclass

EVDEV_OFFSET = 8
XKB_KEY_UP = 0
XKB_KEY_DOWN = 1
XKB_STATE_MODS_DEPRESSED = 1 << 0
XKB_STATE_MODS_LATCHED = 1 << 1
XKB_STATE_MODS_LOCKED = 1 << 2
XKB_STATE_MODS_EFFECTIVE = 1 << 3
XKB_CONTEXT_NO_ENVIRONMENT_NAMES = 1 << 1
XKB_LOG_LEVEL_CRITICAL = 10
XKB_COMPOSE_NOTHING = 0
XKB_COMPOSE_COMPOSING = 1
XKB_COMPOSE_COMPOSED = 2
XKB_COMPOSE_CANCELLED = 3
XKB_MOD_INVALID = 0xFFFFFFFF
XKB_STATE_LAYOUT_EFFECTIVE = 1 << 7
_UNKNOWN = -1  # modifier signature not computed since the last change
_UNCACHEABLE = -2  # a latched modifier: the next key changes the state

#: evdev codes of the keys a typist uses for modifiers, in order of preference (linux/input-event-codes.h).
KEY_LEFTCTRL = 29
KEY_LEFTSHIFT = 42
KEY_CAPSLOCK = 58
KEY_NUMLOCK = 69
KEY_RIGHTALT = 100
_MODIFIER_KEY_PREFERENCE = (KEY_LEFTSHIFT, KEY_RIGHTALT, KEY_LEFTCTRL, KEY_CAPSLOCK)


class XkbUnavailable(RuntimeError):
    """libxkbcommon is not installed (Debian: libxkbcommon0 xkb-data)."""


class UnknownLayout(ValueError):
    """The layout/variant/model is not one xkeyboard-config knows."""


class _RuleNames(ctypes.Structure):
    _fields_ = [
        ("rules", ctypes.c_char_p),
        ("model", ctypes.c_char_p),
        ("layout", ctypes.c_char_p),
        ("variant", ctypes.c_char_p),
        ("options", ctypes.c_char_p),
    ]


def _bind(lib: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> None:
    function = getattr(lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)


@functools.cache
def library() -> ctypes.CDLL:
    path = ctypes.util.find_library("xkbcommon") or "libxkbcommon.so.0"
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise XkbUnavailable(f"libxkbcommon is not installed ({err}); install libxkbcommon0 and xkb-data") from err
    p, u32, i, sz = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_size_t
    _bind(lib, "xkb_context_new", p, i)
    _bind(lib, "xkb_context_set_log_level", None, p, i)
    _bind(lib, "xkb_keymap_new_from_names", p, p, ctypes.POINTER(_RuleNames), i)
    _bind(lib, "xkb_keymap_min_keycode", u32, p)
    _bind(lib, "xkb_keymap_max_keycode", u32, p)
    _bind(lib, "xkb_keymap_num_levels_for_key", u32, p, u32, u32)
    _bind(lib, "xkb_keymap_key_get_syms_by_level", i, p, u32, u32, u32, ctypes.POINTER(ctypes.POINTER(u32)))
    _bind(lib, "xkb_keymap_key_get_mods_for_level", sz, p, u32, u32, u32, ctypes.POINTER(u32), sz)
    _bind(lib, "xkb_keymap_mod_get_index", u32, p, ctypes.c_char_p)
    _bind(lib, "xkb_keymap_layout_get_name", ctypes.c_char_p, p, u32)
    _bind(lib, "xkb_state_new", p, p)
    _bind(lib, "xkb_state_unref", None, p)
    _bind(lib, "xkb_state_update_key", i, p, u32, i)
    _bind(lib, "xkb_state_update_mask", i, p, u32, u32, u32, u32, u32, u32)
    _bind(lib, "xkb_state_serialize_mods", u32, p, i)
    _bind(lib, "xkb_state_serialize_layout", u32, p, i)
    _bind(lib, "xkb_state_key_get_one_sym", u32, p, u32)
    _bind(lib, "xkb_state_key_get_utf8", i, p, u32, ctypes.c_char_p, sz)
    _bind(lib, "xkb_keysym_to_utf32", u32, u32)
    _bind(lib, "xkb_keysym_get_name", i, u32, ctypes.c_char_p, sz)
    _bind(lib, "xkb_compose_table_new_from_locale", p, p, ctypes.c_char_p, i)
    _bind(lib, "xkb_compose_state_new", p, p, i)
    _bind(lib, "xkb_compose_state_unref", None, p)
    _bind(lib, "xkb_compose_state_feed", i, p, u32)
    _bind(lib, "xkb_compose_state_reset", None, p)
    _bind(lib, "xkb_compose_state_get_status", i, p)
    _bind(lib, "xkb_compose_state_get_utf8", i, p, ctypes.c_char_p, sz)
    return lib


@functools.cache
def _context() -> int:
    lib = library()
    # Ignore XKB_DEFAULT_* in the environment: the configured names alone decide the keymap.
    context = lib.xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES)
    if not context:
        raise XkbUnavailable("xkb_context_new failed (is xkb-data installed?)")
    # Unknown names are reported as UnknownLayout, not as library noise on stderr.
    lib.xkb_context_set_log_level(context, XKB_LOG_LEVEL_CRITICAL)
    return int(context)


_LOCK = threading.Lock()


def keysym_name(keysym: int) -> str:
    buffer = ctypes.create_string_buffer(64)
    length = library().xkb_keysym_get_name(keysym, buffer, 64)
    return buffer.value.decode() if length > 0 else f"0x{keysym:x}"


@dataclass(frozen=True, slots=True)
class Stroke:
    """One key to press (evdev code) with the modifier keys held for it (evdev codes, pressed in order)."""

    code: int
    modifiers: tuple[int, ...] = ()


class Keymap:
    """A compiled keymap for one layout/variant. Immutable and shared; states are per decoder."""

    def __init__(
        self, layout: str, variant: str = "", model: str = "pc105", options: str = "", compose_locale: str = ""
    ) -> None:
        lib = library()
        self.layout, self.variant, self.model, self.options = layout, variant, model, options
        names = _RuleNames(b"evdev", model.encode(), layout.encode(), variant.encode(), options.encode())
        with _LOCK:
            keymap = lib.xkb_keymap_new_from_names(_context(), ctypes.byref(names), 0)
        if not keymap:
            described = f"{layout}({variant})" if variant else layout
            raise UnknownLayout(f"unknown keyboard layout {described!r} (model {model!r}, options {options!r})")
        self.handle = int(keymap)
        self.compose_table = 0
        if compose_locale:
            with _LOCK:
                table = lib.xkb_compose_table_new_from_locale(_context(), compose_locale.encode(), 0)
            if not table:
                raise UnknownLayout(f"no compose table for locale {compose_locale!r} (is libx11-data installed?)")
            self.compose_table = int(table)
        self._strokes: dict[str, tuple[Stroke, ...]] | None = None

    @property
    def layout_id(self) -> str:
        """The configured names, e.g. ``br(abnt2)``."""
        return f"{self.layout}({self.variant})" if self.variant else self.layout

    @property
    def name(self) -> str:
        raw = library().xkb_keymap_layout_get_name(self.handle, 0)
        return raw.decode() if raw else self.layout

    def mod_mask(self, name: str) -> int:
        index = library().xkb_keymap_mod_get_index(self.handle, name.encode())
        return 0 if index == XKB_MOD_INVALID else 1 << index

    # -- the reverse question: how to type a character ----------------------------------------------
    def strokes_for(self, char: str) -> tuple[Stroke, ...] | None:
        """The keys that type ``char`` on this layout (one stroke, or dead key + base), or None."""
        if self._strokes is None:
            self._strokes = _StrokeFinder(self).find_all()
        return self._strokes.get(char)

    def typable(self) -> frozenset[str]:
        if self._strokes is None:
            self._strokes = _StrokeFinder(self).find_all()
        return frozenset(self._strokes)


@functools.lru_cache(maxsize=32)
def keymap_for(
    layout: str, variant: str = "", model: str = "pc105", options: str = "", compose_locale: str = "en_US.UTF-8"
) -> Keymap:
    """Compiled keymaps are cached: compiling one takes ~10 ms, and configs validate and run with the same."""
    return Keymap(layout, variant, model, options, compose_locale)


class KeyState:
    """The live state of one keyboard: modifiers, locks, levels, and a compose (dead-key) sequence."""

    def __init__(self, keymap: Keymap, *, numlock: bool = True) -> None:
        lib = library()
        self._lib = lib
        self.keymap = keymap
        self._state = lib.xkb_state_new(keymap.handle)
        self._compose = lib.xkb_compose_state_new(keymap.compose_table, 0) if keymap.compose_table else None
        self._buffer = ctypes.create_string_buffer(64)
        self._numlock_mask = keymap.mod_mask("Mod2") if numlock else 0
        self.cancelled = False
        """True when the last press ended a dead-key sequence that composes nothing."""
        self._composing = False
        self._signature = _UNKNOWN
        self._typed: dict[tuple[int, int], tuple[str, int]] = {}
        """(key, modifier signature) → (text, keysym) of ordinary keys already typed once."""
        self._virtual: set[int] = set()
        """Keys pressed through the fast path (their release is not fed to the state either)."""
        self.reset()

    def close(self) -> None:
        if self._state:
            self._lib.xkb_state_unref(self._state)
            self._state = None
        if self._compose:
            self._lib.xkb_compose_state_unref(self._compose)
            self._compose = None

    def __del__(self) -> None:
        self.close()

    def reset(self) -> None:
        """No key held, no latch; Num Lock on (scanners in keypad mode expect digits), no compose pending."""
        self._lib.xkb_state_update_mask(self._state, 0, 0, self._numlock_mask, 0, 0, 0)
        self.reset_compose()
        self._signature = _UNKNOWN
        self._virtual.clear()

    def _current_signature(self) -> int:
        """Effective modifiers and group, or _UNCACHEABLE while a modifier is latched (the next key unlatches)."""
        lib, state = self._lib, self._state
        if lib.xkb_state_serialize_mods(state, XKB_STATE_MODS_LATCHED):
            return _UNCACHEABLE
        mods = lib.xkb_state_serialize_mods(state, XKB_STATE_MODS_EFFECTIVE)
        return int(mods) | int(lib.xkb_state_serialize_layout(state, XKB_STATE_LAYOUT_EFFECTIVE)) << 32

    def press(self, code: int) -> tuple[str | None, int, bool]:
        """Press evdev key ``code``: (text typed or None while composing, keysym, modifier state changed).

        Text is "" for a key that types nothing (a modifier, an unmapped key, a cancelled compose).
        """
        # Fast path: an ordinary key (no action, no compose) in a modifier state seen before types what it
        # typed then; it needs no libxkbcommon call, and is not fed to the state (nor is its release).
        if not self._composing:
            if self._signature == _UNKNOWN:
                self._signature = self._current_signature()
            hit = self._typed.get((code, self._signature))
            if hit is not None:
                self._virtual.add(code)
                self.cancelled = False
                return hit[0], hit[1], False
        lib, state, keycode = self._lib, self._state, code + EVDEV_OFFSET
        keysym = lib.xkb_state_key_get_one_sym(state, keycode)
        text: str | None
        compose = self._compose
        status = XKB_COMPOSE_NOTHING
        was_idle = not self._composing
        if compose and keysym:
            lib.xkb_compose_state_feed(compose, keysym)
            status = lib.xkb_compose_state_get_status(compose)
        if status == XKB_COMPOSE_NOTHING:
            length = lib.xkb_state_key_get_utf8(state, keycode, self._buffer, 64)
            text = self._buffer.raw[:length].decode("utf-8", "replace") if length > 0 else ""
        elif status == XKB_COMPOSE_COMPOSING:
            text = None
        elif status == XKB_COMPOSE_COMPOSED:
            length = lib.xkb_compose_state_get_utf8(compose, self._buffer, 64)
            text = self._buffer.raw[:length].decode("utf-8", "replace") if length > 0 else ""
            lib.xkb_compose_state_reset(compose)
        else:  # cancelled: the dead key and this key make no character
            lib.xkb_compose_state_reset(compose)
            text = ""
        self._composing = status == XKB_COMPOSE_COMPOSING
        self.cancelled = status == XKB_COMPOSE_CANCELLED
        changed = lib.xkb_state_update_key(state, keycode, XKB_KEY_DOWN)
        if changed:
            self._signature = _UNKNOWN
        elif text and was_idle and status == XKB_COMPOSE_NOTHING and self._signature >= 0:
            self._typed[(code, self._signature)] = (text, keysym)
        return text, keysym, bool(changed)

    def repeat(self, code: int) -> str:
        """The text of an auto-repeat of a held key (the key state is not fed repeats)."""
        length = self._lib.xkb_state_key_get_utf8(self._state, code + EVDEV_OFFSET, self._buffer, 64)
        return self._buffer.raw[:length].decode("utf-8", "replace") if length > 0 else ""

    def reset_compose(self) -> None:
        if self._compose:
            self._lib.xkb_compose_state_reset(self._compose)
        self._composing = False

    def release(self, code: int) -> None:
        if code in self._virtual:
            self._virtual.discard(code)
            return
        if self._lib.xkb_state_update_key(self._state, code + EVDEV_OFFSET, XKB_KEY_UP):
            self._signature = _UNKNOWN

    def modifiers(self, components: int = XKB_STATE_MODS_EFFECTIVE) -> int:
        return int(self._lib.xkb_state_serialize_mods(self._state, components))

    @property
    def composing(self) -> bool:
        return self._composing

    def type_strokes(self, strokes: tuple[Stroke, ...]) -> str:
        """Type strokes on this state (press modifiers, tap the key, release) and return the text."""
        out = []
        for stroke in strokes:
            for modifier in stroke.modifiers:
                self._tap_or_hold(modifier, hold=True)
            text, _, _ = self.press(stroke.code)
            self.release(stroke.code)
            for modifier in reversed(stroke.modifiers):
                self._tap_or_hold(modifier, hold=False)
            out.append(text or "")
        return "".join(out)

    def _tap_or_hold(self, code: int, *, hold: bool) -> None:
        if code == KEY_CAPSLOCK:  # a lock is tapped before the key and tapped again after it
            self.press(code)
            self.release(code)
        elif hold:
            self.press(code)
        else:
            self.release(code)


_Rank = tuple[int, int, int, int]


class _StrokeFinder:
    """Builds char → strokes for a keymap by asking libxkbcommon, then checks every answer by typing it."""

    def __init__(self, keymap: Keymap) -> None:
        self.keymap = keymap
        self.lib = library()

    def _modifier_keys(self) -> dict[int, int]:
        """Real modifier bit → the evdev key that sets it on this layout (found by pressing keys)."""
        lib, handle = self.lib, self.keymap.handle
        found: dict[int, int] = {}
        low, high = lib.xkb_keymap_min_keycode(handle), lib.xkb_keymap_max_keycode(handle)
        candidates = [*_MODIFIER_KEY_PREFERENCE, *(k - EVDEV_OFFSET for k in range(low, high + 1))]
        for code in candidates:
            state = lib.xkb_state_new(handle)
            try:
                lib.xkb_state_update_key(state, code + EVDEV_OFFSET, XKB_KEY_DOWN)
                mask = lib.xkb_state_serialize_mods(
                    state, XKB_STATE_MODS_DEPRESSED | XKB_STATE_MODS_LATCHED | XKB_STATE_MODS_LOCKED
                )
            finally:
                lib.xkb_state_unref(state)
            if mask and mask & (mask - 1) == 0 and mask not in found:
                found[mask] = code
        return found

    def _direct(self, modifier_keys: dict[int, int]) -> dict[str, list[tuple[_Rank, Stroke]]]:
        lib, handle = self.lib, self.keymap.handle
        numlock = self.keymap.mod_mask("Mod2")
        lock = self.keymap.mod_mask("Lock")
        options: dict[str, list[tuple[_Rank, Stroke]]] = {}
        syms = ctypes.POINTER(ctypes.c_uint32)()
        masks = (ctypes.c_uint32 * 16)()
        for keycode in range(lib.xkb_keymap_min_keycode(handle), lib.xkb_keymap_max_keycode(handle) + 1):
            for level in range(lib.xkb_keymap_num_levels_for_key(handle, keycode, 0)):
                if lib.xkb_keymap_key_get_syms_by_level(handle, keycode, 0, level, ctypes.byref(syms)) != 1:
                    continue
                char = chr(lib.xkb_keysym_to_utf32(syms[0])) if lib.xkb_keysym_to_utf32(syms[0]) else ""
                name = keysym_name(syms[0])
                if not char and not name.startswith("dead_"):
                    continue
                count = lib.xkb_keymap_key_get_mods_for_level(handle, keycode, 0, level, masks, 16)
                for mask in masks[:count]:
                    if mask & numlock:  # keypad levels depend on the Num Lock state: main keys are unambiguous
                        continue
                    bits = [1 << b for b in range(32) if mask >> b & 1]
                    if any(bit not in modifier_keys for bit in bits):
                        continue
                    # Shift before Caps Lock, the main block before the keypad, fewer modifiers, lower key code.
                    held = tuple(modifier_keys[bit] for bit in bits)
                    rank = (1 if mask & lock else 0, 1 if name.startswith("KP_") else 0, len(bits), keycode)
                    options.setdefault(char or name, []).append((rank, Stroke(keycode - EVDEV_OFFSET, held)))
        return options

    def find_all(self) -> dict[str, tuple[Stroke, ...]]:
        modifier_keys = self._modifier_keys()
        options = self._direct(modifier_keys)
        probe = KeyState(self.keymap, numlock=False)
        try:
            result = self._verified_direct(options, probe)
            caps = modifier_keys.get(self.keymap.mod_mask("Lock"))
            if caps is not None:
                self._add_caps_lock(caps, result, probe)
            self._add_dead_keys(options, result, probe)
            control = modifier_keys.get(self.keymap.mod_mask("Control"))
            if control is not None:
                self._add_control_chars(control, result, probe)
            return result
        finally:
            probe.close()

    @staticmethod
    def _verified_direct(
        options: dict[str, list[tuple[_Rank, Stroke]]], probe: KeyState
    ) -> dict[str, tuple[Stroke, ...]]:
        result: dict[str, tuple[Stroke, ...]] = {}
        for char, ways in options.items():
            if len(char) != 1:
                continue
            for _, stroke in sorted(ways, key=lambda way: way[0]):
                probe.reset()
                if probe.type_strokes((stroke,)) == char:
                    result[char] = (stroke,)
                    break
        return result

    @staticmethod
    def _add_caps_lock(caps: int, result: dict[str, tuple[Stroke, ...]], probe: KeyState) -> None:
        """Capitals only Caps Lock makes (É on fr: Caps Lock + é), by libxkbcommon's capitalization."""
        for _, strokes in sorted(result.items()):
            (stroke,) = strokes
            if stroke.modifiers:
                continue
            locked = Stroke(stroke.code, (caps,))
            probe.reset()
            text = probe.type_strokes((locked,))
            if len(text) == 1 and text not in result:
                result[text] = (locked,)

    @staticmethod
    def _add_dead_keys(
        options: dict[str, list[tuple[_Rank, Stroke]]], result: dict[str, tuple[Stroke, ...]], probe: KeyState
    ) -> None:
        """Characters typed as dead key + base key (é on de, ê on fr, ã on br): ask the compose table."""
        dead = sorted((name, min(ways, key=lambda w: w[0])[1]) for name, ways in options.items() if len(name) > 1)
        bases = sorted(result.items())
        for _, dead_stroke in dead:
            for _, base in bases:
                probe.reset()
                text = probe.type_strokes((dead_stroke, *base))
                if len(text) == 1 and text not in result:
                    result[text] = (dead_stroke, *base)

    @staticmethod
    def _add_control_chars(control: int, result: dict[str, tuple[Stroke, ...]], probe: KeyState) -> None:
        """Control characters (FNC1 as GS = Ctrl+]): Ctrl with the key of @ … _ (or ` … ~)."""
        for target in range(0x20):
            if chr(target) in result:
                continue
            for base_char in (chr(target | 0x40), chr(target | 0x60)):
                strokes = result.get(base_char)
                if strokes is None or len(strokes) != 1:
                    continue
                stroke = Stroke(strokes[0].code, (control, *strokes[0].modifiers))
                probe.reset()
                if probe.type_strokes((stroke,)) == chr(target):
                    result[chr(target)] = (stroke,)
                    break
