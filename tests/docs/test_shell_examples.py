"""The shell examples of README.md and docs/ run as written.

Every variable a block uses is set in that block (no ``$API`` or ``$TOKEN`` from nowhere), every
curl that sends a body says ``Content-Type: application/json`` and sends valid JSON, and no URL
holds a placeholder to fill in. test_walkthrough.py runs them against a fresh `make run`.
"""

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
SHELL = {"sh", "bash", "shell"}
# Set by the shell or by whoever runs the snippet, never by the snippet itself.
ENVIRONMENT = {"RANDOM", "HOME", "PATH", "PWD", "PORT"}
DATA_FLAGS = {"-d", "--data", "--data-raw", "--data-binary"}
JSON_CONTENT_TYPE = re.compile(r"content-type:\s*application/json", re.I)
PLACEHOLDER = re.compile(r"<[A-Za-z_][\w-]*>")
ASSIGNMENT = re.compile(r"(?:^|[\s;(])(?:export\s+)?([A-Za-z_]\w*)=(\"[^\"]*\"|'[^']*'|\S*)")
USE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def _blocks():
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            indent = len(match["indent"])
            body = "\n".join(line[indent:] for line in match["body"].splitlines())
            line = text[: match.start()].count("\n") + 1
            yield f"{doc.relative_to(ROOT)}:{line}", match["lang"], body


SHELL_BLOCKS = [(where, body) for where, lang, body in _blocks() if lang in SHELL]


def _commands(body: str) -> list[str]:
    """Logical lines: continuations joined, comment lines and trailing comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", body)
    lines = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            lines.append(line)
    return lines


def _curls(command: str) -> list[list[str]]:
    """The arguments of each curl in a command line (one may sit inside ``$(...)`` or a pipe)."""
    found = []
    for start in (m.start() for m in re.finditer(r"\bcurl\s", command)):
        quote, depth, end = "", 0, len(command)
        for i in range(start, len(command)):
            char = command[i]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif command.startswith("$(", i):
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char in "|;&)" and not depth:
                end = i
                break
        found.append(shlex.split(command[start:end])[1:])
    return found


def _option_values(args: list[str], names: set[str]) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in names]


def shell_problems(body: str) -> list[str]:
    problems = []
    commands = _commands(body)
    defined: dict[str, str] = {}
    for command in commands:
        uses = {m.group(1): m.start() for m in USE.finditer(command)}
        for name, position in uses.items():
            set_here_before = any(m.group(1) == name and m.start() < position for m in ASSIGNMENT.finditer(command))
            read_here = re.search(rf"\bread\b[^;|]*\b{name}\b", command) and position > command.index("read")
            if name not in defined and name not in ENVIRONMENT and not set_here_before and not read_here:
                problems.append(f"${name} is not set in the block: {command}")
        for match in ASSIGNMENT.finditer(command):
            defined[match.group(1)] = match.group(2).strip("'\"")
        if reads := re.search(r"\bread\b(.*)", command):
            words = re.sub(r"'[^']*'|\"[^\"]*\"", "", reads.group(1)).split()
            defined.update({word: "" for word in words if re.fullmatch(r"[A-Za-z_]\w*", word)})
        for args in _curls(command):
            headers = [
                defined.get(h[1:].strip("{}"), "") if h.startswith("$") else h
                for h in _option_values(args, {"-H", "--header"})
            ]
            bodies = _option_values(args, DATA_FLAGS)
            if bodies and "--json" not in args and not any(JSON_CONTENT_TYPE.search(h) for h in headers):
                problems.append(f"a body without Content-Type: application/json: curl {' '.join(args)}")
            for data in bodies:
                if "$" not in data:
                    try:
                        json.loads(data)
                    except ValueError:
                        problems.append(f"not JSON: {data}")
            for arg in args:
                if PLACEHOLDER.search(arg):
                    problems.append(f"a placeholder to fill in: {arg}")
    return problems


def test_curl_appears_only_in_shell_blocks():
    untagged = [where for where, lang, body in _blocks() if lang not in SHELL and re.search(r"^\s*curl\s", body, re.M)]
    assert untagged == []


@pytest.mark.parametrize(("where", "body"), SHELL_BLOCKS, ids=[where for where, _ in SHELL_BLOCKS])
def test_shell_blocks_run_as_written(where, body):
    assert shell_problems(body) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("curl -s $API/providers/", "$API is not set in the block: curl -s $API/providers/"),
        (
            "API=http://x/api/v1\ncurl -X POST $API/ratings/ -d '{\"score\": 5}'",
            'a body without Content-Type: application/json: curl -X POST $API/ratings/ -d {"score": 5}',
        ),
        (
            "API=http://x\ncurl -X PATCH $API/me/ -H 'Content-Type: application/json' -d '{\"name\": }'",
            'not JSON: {"name": }',
        ),
        ("API=http://x\ncurl -s $API/providers/<id>/", "a placeholder to fill in: $API/providers/<id>/"),
    ],
)
def test_the_rules_catch_what_they_are_for(body, problem):
    assert shell_problems(body) == [problem]


def test_the_rules_accept_a_content_type_held_in_a_variable_and_values_read_from_the_user():
    body = """
JSON="Content-Type: application/json"
read -r -p 'uid token: ' UID_ TOKEN
curl -s -X POST http://x/confirm/ -H "$JSON" -d "{\\"uid\\":\\"$UID_\\",\\"token\\":\\"$TOKEN\\"}"
"""
    assert shell_problems(body) == []
