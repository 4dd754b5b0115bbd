"""Prints ``uid token`` of the newest account email on the console of `make run`.

Used by tests/docs/test_walkthrough.py in place of a reader pasting the two values into a
block's ``read -p '… verification email …'`` or ``'… reset email …'`` prompt. Arguments: the
console log, the byte offset where the block started (older emails are not its own), the prompt.
Waits for the email (the worker sends it a moment after the request).
"""

import re
import sys
import time

LINE_PREFIX = re.compile(r"^\d\d:\d\d:\d\d \S+\s+\| ?", re.M)
SUBJECTS = {"verification": "Confirm your email address", "reset": "Reset your Marketplace Ratings password"}


def newest(text: str, subject: str) -> tuple[str, str] | None:
    found = None
    for email in LINE_PREFIX.sub("", text).split("\nSubject: ")[1:]:
        if email.startswith(subject):
            uid, token = re.search(r"^uid: (\S+)$", email, re.M), re.search(r"^token: (\S+)$", email, re.M)
            if uid and token:
                found = (uid[1], token[1])
    return found


def main(log: str, offset: str, prompt: str) -> int:
    kinds = [kind for kind in SUBJECTS if kind in prompt]
    if len(kinds) != 1:
        print(f"the prompt {prompt!r} names no email kind ({', '.join(SUBJECTS)})", file=sys.stderr)
        return 2
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log, "rb") as f:
            f.seek(int(offset))
            pair = newest(f.read().decode(errors="replace"), SUBJECTS[kinds[0]])
        if pair:
            print(*pair)
            return 0
        time.sleep(0.5)
    print(f"no {kinds[0]} email on the console within 60 s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
