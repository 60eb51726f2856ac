#!/usr/bin/env bash
# Kept for older instructions: the set-up is now split in two.
#   Tests/Scripts/setup-build.sh  what building and running `wirecodec` needs (README's first command)
#   Tests/Scripts/setup-tests.sh  that, plus the test peers (the test command runs it)
exec bash "$(dirname "$0")/setup-tests.sh" "$@"
