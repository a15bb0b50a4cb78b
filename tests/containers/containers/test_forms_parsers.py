"""The container form's parsers: typed command, environment and ports become plain values, or a clear error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from containers.containers.forms import (
    MAX_ENV_VARS,
    parse_command,
    parse_environment,
    parse_ports,
)


def message_of(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(error.value.messages)


# --- parse_command ---


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("", []),
        ("   ", []),
        ("sleep 3600", ["sleep", "3600"]),
        ("echo \"hello world\" 'a b' c\\ d", ["echo", "hello world", "a b", "c d"]),
        ("sh -c 'echo $HOME; rm -rf / && ls | wc'", ["sh", "-c", "echo $HOME; rm -rf / && ls | wc"]),
        ("httpd -f -p 8080 -h /var/www", ["httpd", "-f", "-p", "8080", "-h", "/var/www"]),
        ('echo "it\'s"', ["echo", "it's"]),
    ],
)
def test_parse_command_splits_like_a_shell_without_one(text, arguments):
    assert parse_command(text) == arguments


@pytest.mark.parametrize("text", ["echo 'unclosed", 'echo "unclosed', "echo \"a'", "echo trailing\\"])
def test_parse_command_refuses_bad_quoting(text):
    with pytest.raises(ValidationError) as error:
        parse_command(text)
    assert message_of(error).startswith("The command cannot be split into arguments:")


# --- parse_environment ---


def test_parse_environment_reads_name_value_lines():
    text = "A=1\n\nB=two words\n   \nC=\nD=x=y\n  E =spaced name\r\nF='quoted'"
    assert parse_environment(text) == {
        "A": "1",
        "B": "two words",
        "C": "",
        "D": "x=y",
        "E": "spaced name",
        "F": "'quoted'",
    }


def test_parse_environment_empty():
    assert parse_environment("") == {}
    assert parse_environment("\n\n  \n") == {}


@pytest.mark.parametrize(
    "line", ["1A=x", "A-B=x", "=x", "NOVALUE", "A B=1", "ÄPFEL=1", "A.B=1", "$(id)=1", "A" * 129 + "=x"]
)
def test_parse_environment_refuses_bad_names(line):
    with pytest.raises(ValidationError) as error:
        parse_environment(f"OK=1\n\n{line}")
    assert message_of(error) == "Line 3: write NAME=value, with a name of letters, digits and _."


def test_parse_environment_refuses_duplicates():
    with pytest.raises(ValidationError) as error:
        parse_environment("A=1\nB=2\nA=3")
    assert message_of(error) == "Line 3: A is set twice."


@pytest.mark.parametrize("value", ["x\x00y", "\x00", "v" * 4097])
def test_parse_environment_refuses_nul_and_huge_values(value):
    with pytest.raises(ValidationError) as error:
        parse_environment(f"A={value}")
    assert message_of(error) == "Line 1: the value of A is not allowed (too long or a NUL byte)."


def test_parse_environment_keeps_a_value_of_the_longest_allowed_length():
    assert parse_environment("A=" + "v" * 4096) == {"A": "v" * 4096}


def test_parse_environment_limits_the_number_of_variables():
    at_limit = "\n".join(f"V{i}=x" for i in range(MAX_ENV_VARS))
    assert len(parse_environment(at_limit)) == MAX_ENV_VARS
    with pytest.raises(ValidationError) as error:
        parse_environment(at_limit + "\nONE_MORE=x")
    assert message_of(error) == f"At most {MAX_ENV_VARS} variables."


# --- parse_ports ---


def test_parse_ports_formats():
    assert parse_ports("8080:80\n\n  5353:53/udp  \n9000:9000/tcp\n5353:53") == [
        {"host_port": 8080, "container_port": 80, "protocol": "tcp"},
        {"host_port": 5353, "container_port": 53, "protocol": "udp"},
        {"host_port": 9000, "container_port": 9000, "protocol": "tcp"},
        {"host_port": 5353, "container_port": 53, "protocol": "tcp"},
    ]
    assert parse_ports("") == []


@pytest.mark.parametrize(
    "line",
    [
        "80",
        "a:b",
        "8080:80/sctp",
        "8080:80/TCP",
        "127.0.0.1:8080:80",
        "0.0.0.0:8080:80",
        "8080-8090:80",
        ":80",
        "8080:",
        "8080:80/",
        "-8080:80",
        "8080:80 9090:90",
        "123456:80",
    ],
)
def test_parse_ports_refuses_other_formats(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(f"8080:80\n{line}")
    assert message_of(error) == "Line 2: write HOST:CONTAINER or HOST:CONTAINER/udp, e.g. 8080:80."


@pytest.mark.parametrize("line", ["0:80", "22:22", "80:80", "443:443", "1023:80", "65536:80", "99999:80"])
def test_parse_ports_refuses_host_ports_out_of_range(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(line)
    assert message_of(error) == "Line 1: host ports go from 1024 to 65535."


@pytest.mark.parametrize("line", ["8080:0", "8080:65536", "8080:99999"])
def test_parse_ports_refuses_container_ports_out_of_range(line):
    with pytest.raises(ValidationError) as error:
        parse_ports(line)
    assert message_of(error) == "Line 1: container ports go from 1 to 65535."


@pytest.mark.parametrize("line", ["1024:1", "65535:65535"])
def test_parse_ports_range_edges_pass(line):
    assert len(parse_ports(line)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8080:80\n8080:81", "Line 2: host port 8080/tcp is listed twice."),
        ("8080:80/tcp\n\n8080:80", "Line 3: host port 8080/tcp is listed twice."),
        ("5353:53/udp\n5353:54/udp", "Line 2: host port 5353/udp is listed twice."),
    ],
)
def test_parse_ports_refuses_duplicates(text, message):
    with pytest.raises(ValidationError) as error:
        parse_ports(text)
    assert message_of(error) == message
