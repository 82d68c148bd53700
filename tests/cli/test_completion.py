"""Shell completion: `--show-completion SHELL` prints a script, and the script's protocol completes commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NODEWARDEN = Path(sys.executable).parent / "nodewarden"  # the console script, as a shell runs it


def test_the_bash_completion_script_is_printed() -> None:
    shown = subprocess.run([str(NODEWARDEN), "--show-completion", "bash"], capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "_nodewarden_completion()" in shown.stdout
    assert "complete " in shown.stdout


def test_the_completion_protocol_completes_commands_and_subcommands() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_NODEWARDEN_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
        done = subprocess.run([str(NODEWARDEN)], capture_output=True, text=True, env=env, timeout=60, check=False)
        return done.stdout.split()

    assert complete("nodewarden au") == ["audit"]
    assert set(complete("nodewarden incidents ")) >= {"list", "show", "report"}
