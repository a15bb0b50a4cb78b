"""The opening of the RFB (VNC) protocol, spoken by the relay on both of its sides.

The relay authenticates to the VM's display itself, with a password that lives only for that
session, and offers the browser a display that needs no authentication (security type None):
the browser holds the websocket the ticket opened, and the password never leaves the server.
After these openings every byte passes through unchanged, ClientInit onwards.

RFC 6143: the server sends its version, the client answers with its own, the server lists its
security types, the client picks one, then (3.8) the server sends a SecurityResult.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

#: The only version the relay speaks: what QEMU and noVNC both speak.
VERSION_38 = b"RFB 003.008\n"
VERSION_37 = b"RFB 003.007\n"
SECURITY_NONE = 1
SECURITY_VNC = 2
#: Bytes of a version message, of a VNC authentication challenge.
VERSION_LENGTH = 12
CHALLENGE_LENGTH = 16


class RfbError(Exception):
    """The other side did not speak RFB as expected, or refused the authentication."""


class RfbRefused(RfbError):
    """The display refused the password."""


def vnc_auth_response(challenge: bytes, password: str) -> bytes:
    """The answer to a VNC authentication challenge: the challenge DES-encrypted with the password as key.

    The key is the password's first 8 bytes, zero-padded, each byte's bits mirrored (as the
    original VNC did). DES is three-key TripleDES with three equal keys.
    """
    key = bytes(int(f"{byte:08b}"[::-1], 2) for byte in password.encode("latin-1")[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305 - RFB's own scheme
    return encryptor.update(challenge) + encryptor.finalize()


def _receive(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise RfbError("The display closed the connection during the handshake.")
        data += chunk
    return data


def _reason(sock: socket.socket) -> str:
    (length,) = struct.unpack(">I", _receive(sock, 4))
    return _receive(sock, min(length, 1024)).decode("utf-8", "replace")


def server_authenticate(sock: socket.socket, password: str) -> None:
    """Open an RFB 3.8 session on ``sock`` up to the point where ClientInit is due (VNC auth or None).

    Raises ``RfbError`` when the server speaks another protocol, offers no usable security type or
    refuses the password.
    """
    version = _receive(sock, VERSION_LENGTH)
    if not version.startswith(b"RFB 003.") or version < VERSION_38:
        raise RfbError("The display does not speak RFB 3.8.")
    sock.sendall(VERSION_38)
    (count,) = _receive(sock, 1)
    if count == 0:
        raise RfbError(f"The display refused the connection: {_reason(sock)}")
    offered = set(_receive(sock, count))
    if SECURITY_VNC in offered:
        sock.sendall(bytes([SECURITY_VNC]))
        sock.sendall(vnc_auth_response(_receive(sock, CHALLENGE_LENGTH), password))
    elif SECURITY_NONE in offered:
        sock.sendall(bytes([SECURITY_NONE]))
    else:
        raise RfbError(f"The display offers no security type the relay speaks ({sorted(offered)}).")
    (result,) = struct.unpack(">I", _receive(sock, 4))
    if result != 0:
        raise RfbRefused(f"The display refused the authentication: {_reason(sock)}")


class ClientGreeting:
    """The server's side of the opening towards the browser: version, security None, SecurityResult OK.

    ``feed`` takes what the browser sent and returns what is left for the display (ClientInit
    onwards) once the opening is done; the answers go out through ``reply``.
    """

    def __init__(self, reply: Callable[[bytes], None]):
        self._reply = reply
        self._buffer = b""
        self._version = b""
        self.done = False

    def start(self) -> None:
        self._reply(VERSION_38)

    def feed(self, data: bytes) -> bytes:
        """What to forward to the display; raises ``RfbError`` on a browser that speaks something else."""
        if self.done:
            return data
        self._buffer += data
        if not self._version:
            if len(self._buffer) < VERSION_LENGTH:
                return b""
            self._version, self._buffer = self._buffer[:VERSION_LENGTH], self._buffer[VERSION_LENGTH:]
            if self._version not in (VERSION_37, VERSION_38):
                raise RfbError("The browser does not speak RFB 3.7 or 3.8.")
            self._reply(bytes([1, SECURITY_NONE]))
        if not self._buffer:
            return b""
        choice, rest = self._buffer[0], self._buffer[1:]
        if choice != SECURITY_NONE:
            raise RfbError("The browser chose a security type that was not offered.")
        if self._version == VERSION_38:
            self._reply(struct.pack(">I", 0))
        self.done, self._buffer = True, b""
        return rest
