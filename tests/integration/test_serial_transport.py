"""The serial transport's own termios work, on a real pseudo-terminal."""

from __future__ import annotations

import os
import termios
import tty

from drivers.transports.serial import check_input_parity


def test_input_parity_checking_is_turned_on_without_marking_or_ignoring() -> None:
    # A pty refuses PARENB (EINVAL), so parity itself cannot be exercised here; the input flags that decide
    # what a failed byte becomes (NUL: INPCK on, IGNPAR and PARMRK off) can.
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        attributes = termios.tcgetattr(slave)
        attributes[0] = (attributes[0] & ~termios.INPCK) | termios.IGNPAR | termios.PARMRK  # as pyserial may leave it
        termios.tcsetattr(slave, termios.TCSANOW, attributes)
        check_input_parity(slave)
        iflag = termios.tcgetattr(slave)[0]
        assert iflag & termios.INPCK
        assert not iflag & (termios.IGNPAR | termios.PARMRK)
    finally:
        os.close(master)
        os.close(slave)
