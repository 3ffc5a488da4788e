#!/usr/bin/env python3
"""The README's commands still parse: every modeconn command line in a code block is run with --help added
(the options are parsed, names and values, and nothing runs); every option the prose names for a command
(`modeconn sweep --models M... --out-dir DIR`) is one that command lists in its --help; every script the
README names exists; plots are drawn with an interpreter that has matplotlib.

usage: readme_test.py --modeconn BIN --readme README.md
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

COMMANDS = {"inspect", "train", "path", "align", "symmetry", "fit-curve", "analyze", "sweep", "merge", "demo"}


def code_lines(text):
    """Lines inside ``` blocks, with their line numbers."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            inside = not inside
            continue
        if inside:
            yield number, line


def invocations(line):
    """(command, argument words) for each modeconn run on a shell line: `$M cmd ...`,
    `build/host/modeconn cmd ...`, `modeconn cmd ...`."""
    found = []
    for part in re.split(r"&&|\|\||;|\|", line.split(" #", 1)[0]):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        for k, w in enumerate(words[:-1]):
            if (w == "$M" or w == "modeconn" or w.endswith("/modeconn")) and words[k + 1] in COMMANDS:
                found.append((words[k + 1], words[k + 2:]))
                break
    return found


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--modeconn", required=True)
    p.add_argument("--readme", required=True)
    a = p.parse_args()
    root = os.path.dirname(os.path.abspath(a.readme))
    text = open(a.readme, encoding="utf-8").read()
    failures = []
    helps = {}

    def help_of(command):
        if command not in helps:
            r = subprocess.run([a.modeconn, command, "--help"], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"modeconn {command} --help exits {r.returncode}: {r.stderr.strip()}")
            helps[command] = r.stdout
        return helps[command]

    checked = 0
    # Whole command lines in code blocks: parsed by modeconn itself.
    for number, line in code_lines(text):
        for command, args in invocations(line):
            r = subprocess.run([a.modeconn, command, *args, "--help"], capture_output=True, text=True, cwd=root)
            checked += 1
            if r.returncode != 0:
                failures.append(f"README.md:{number}: `modeconn {command} {' '.join(args)}` no longer parses: "
                                f"{r.stderr.strip()}")
        interpreter = re.search(r"(\S*python3?)\s+\S*plot\.py", line)
        if interpreter and interpreter.group(1) != "/usr/bin/python3":
            failures.append(f"README.md:{number}: plot.py run with an interpreter that may lack matplotlib "
                            "(use /usr/bin/python3)")

    # Options the prose names for a command, in inline code: each must be one the command has.
    for number, line in enumerate(text.splitlines(), 1):
        for span in re.findall(r"`([^`]*)`", line):
            m = re.search(r"(?:modeconn|\$M) ([a-z-]+)(.*)", span)
            if not m or m.group(1) not in COMMANDS:
                continue
            listed = help_of(m.group(1))
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", m.group(2)):
                checked += 1
                if not re.search(rf"(?m)^\s+(-\w, )?{re.escape(option)}\b", listed):
                    failures.append(f"README.md:{number}: `{span}` names {option}, which modeconn "
                                    f"{m.group(1)} does not have")

    # Scripts and files the README points at.
    for number, line in enumerate(text.splitlines(), 1):
        for path in re.findall(r"(?<![\w/.-])((?:scripts|bench|docker|tests|docs)/[\w./-]*\w)", line):
            checked += 1
            if not os.path.exists(os.path.join(root, path)):
                failures.append(f"README.md:{number}: {path} does not exist")

    for f in failures:
        print(f, file=sys.stderr)
    print(f"readme_test: {checked} checks, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
