"""The exit codes every command uses, documented in the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # nothing unwaived at or above --fail-on
    FINDINGS = 1  # at least one unwaived finding at or above --fail-on
    ACTION_FAILED = 1  # a node action was refused, failed or timed out (same code, other commands)
    DRILL_FAILED = 1  # a drill missed an expectation, was aborted, or its steady state did not hold
    USAGE = 2  # bad flags, unreadable or malformed input, bad config or waiver file
    INTERNAL = 3  # a bug in nodewarden; the message says how to report it
