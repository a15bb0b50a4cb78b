"""The relay's two openings of RFB: authenticating to a display, and greeting a browser with security None.

The display side is checked here against RFC 6143's bytes over a socket pair, played by the test
as a VNC server would; on the real QEMU display it is checked in tests/integration.
"""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from hypervisors.drivers.rfb import ClientGreeting, RfbError, server_authenticate, vnc_auth_response
from hypervisors.vms.consumers import VMGraphicsConsumer

#: A challenge and the answer for password "password"; QEMU's display accepts this scheme (tests/integration).
CHALLENGE, ANSWER = bytes(range(16)), bytes.fromhex("b866924125c8eebb9debc1db61c538e2")


def test_the_vnc_auth_response_is_des_with_mirrored_key_bits():
    assert vnc_auth_response(CHALLENGE, "password") == ANSWER
    # Only the first 8 characters count, as in every VNC server.
    assert vnc_auth_response(CHALLENGE, "password-and-more") == ANSWER
    assert vnc_auth_response(CHALLENGE, "a") != vnc_auth_response(CHALLENGE, "b")


def serve(script) -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A socket pair whose far end runs ``script(far, received)`` in a thread, as a display would."""
    near, far = socket.socketpair()
    received: list[bytes] = []
    thread = threading.Thread(target=script, args=(far, received), daemon=True)
    thread.start()
    return near, thread, received


def read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += sock.recv(count - len(data))
    return data


def test_the_relay_answers_a_vnc_challenge_with_the_password():
    challenge = bytes(range(16, 32))

    def display(far, received):
        far.sendall(b"RFB 003.008\n")
        received.append(read(far, 12))
        far.sendall(bytes([2, 16, 2]))  # offers VeNCrypt and VNC auth
        received.append(read(far, 1))
        far.sendall(challenge)
        received.append(read(far, 16))
        far.sendall(struct.pack(">I", 0))

    near, thread, received = serve(display)
    server_authenticate(near, "s3cret")
    thread.join(5)
    assert received == [b"RFB 003.008\n", bytes([2]), vnc_auth_response(challenge, "s3cret")]


def test_a_refused_password_is_an_error_with_the_displays_reason():
    def display(far, received):
        far.sendall(b"RFB 003.008\n")
        read(far, 12)
        far.sendall(bytes([1, 2]))
        read(far, 1)
        far.sendall(bytes(16))
        read(far, 16)
        far.sendall(struct.pack(">I", 1) + struct.pack(">I", 20) + b"Authentication failed")

    near, _thread, _received = serve(display)
    with pytest.raises(RfbError, match="refused the authentication: Authentication faile"):
        server_authenticate(near, "wrong")


def test_a_display_of_an_older_protocol_is_refused():
    near, _thread, _received = serve(lambda far, _r: far.sendall(b"RFB 003.003\n"))
    with pytest.raises(RfbError, match=r"3\.8"):
        server_authenticate(near, "x")


def test_the_browser_is_greeted_with_security_none_and_the_rest_passes_through():
    replies: list[bytes] = []
    greeting = ClientGreeting(replies.append)
    greeting.start()
    assert replies == [b"RFB 003.008\n"]
    # The browser's bytes may arrive split anywhere and joined with ClientInit.
    assert greeting.feed(b"RFB 003") == b""
    assert greeting.feed(b".008\n") == b""
    assert replies[1:] == [bytes([1, 1])]
    assert greeting.feed(bytes([1, 1])) == bytes([1])  # security None chosen; ClientInit (shared) follows
    assert replies[2:] == [b"\0\0\0\0"] and greeting.done
    assert greeting.feed(b"\x03rest") == b"\x03rest"


@pytest.mark.parametrize("opening", [b"GET / HTTP/1.1\r\n", b"RFB 003.008\n\x02"])
def test_a_browser_that_speaks_something_else_is_refused(opening):
    greeting = ClientGreeting(lambda _data: None)
    with pytest.raises(RfbError):
        greeting.feed(opening)


@pytest.mark.parametrize(
    ("frame", "is_input"),
    [
        (struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 480), False),
        (struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 480) * 2, False),
        (struct.pack(">BBHI", 4, 1, 0, 0x61), True),  # a key
        (struct.pack(">BBHH", 5, 0, 10, 20), True),  # the pointer
        (struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 480) + struct.pack(">BBHH", 5, 0, 10, 20), True),
    ],
)
def test_only_a_persons_messages_keep_a_graphical_console_from_idling(frame, is_input):
    assert VMGraphicsConsumer().is_input(frame) is is_input
