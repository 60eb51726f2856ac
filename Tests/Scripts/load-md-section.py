#!/usr/bin/env python3
"""The "Many connections" section of Spec/realtime/load.md, between its two markers, which
feed-load-report.sh (SCALE=...) writes and feed-scaleout-report.sh adds to, and which the
other runs of feed-load-report.sh keep when they rewrite the rest of the file.

    load-md-section.py get FILE               # prints the section with its markers ("" if none)
    load-md-section.py set FILE CONTENT       # replaces the section (appended if there is none)
    load-md-section.py append FILE CONTENT    # adds CONTENT at the end of the section
"""
import sys

BEGIN, END = "<!-- many-connections -->", "<!-- /many-connections -->"


def main():
    action, path = sys.argv[1], sys.argv[2]
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        body, tail = rest.split(END, 1)
    else:
        head, body, tail = text, "", ""
    if action == "get":
        sys.stdout.write(BEGIN + body + END + "\n" if body else "")
        return
    content = open(sys.argv[3]).read().strip("\n")
    if action == "set":
        body = "\n" + content + "\n"
    elif action == "append":
        body = body.rstrip("\n") + "\n\n" + content + "\n"
    else:
        sys.exit("load-md-section.py: get, set or append")
    open(path, "w").write(head.rstrip("\n") + "\n\n" + BEGIN + body + END + "\n" + tail.lstrip("\n"))


if __name__ == "__main__":
    main()
