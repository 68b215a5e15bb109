"""The addresses a browser can open for a page listening on every interface (0.0.0.0, ::).

``http://0.0.0.0:8765/`` cannot be typed into a browser on another machine, so the page
names this machine's own addresses instead, found from its interfaces without sending a
packet (no DNS lookup of the host name).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys

ANY_HOSTS = ("0.0.0.0", "::", "")
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def openable_hosts(host: str) -> list[str]:
    """``host`` itself, or for an any-address: loopback first, then the machine's own."""
    if host not in ANY_HOSTS:
        return [host]
    return ["127.0.0.1", *(a for a in own_addresses() if not a.startswith("127."))]


def own_addresses() -> list[str]:
    """This machine's IPv4 addresses, in interface order, without network traffic."""
    found = _interface_addresses() if sys.platform.startswith("linux") else []
    if not found:
        found = [address for address in (_routed_address(),) if address]
    return list(dict.fromkeys(found))


def _interface_addresses() -> list[str]:
    import fcntl

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name[:15].encode())
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # no IPv4 address on this interface
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def _routed_address() -> str:
    """The address the default route leaves from: connecting a UDP socket sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
        return str(probe.getsockname()[0])
    return ""
