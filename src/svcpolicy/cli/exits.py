"""Exit codes shared by every command: 0 clean, 1 findings that fail the gate, 2 errors, 3 a crash, 130 stopped by
Ctrl-C, 141 output closed by its reader.

A crash has its own code so that CI can tell a bug in svcpolicy from a finding or a bad input. A reader that stops
early (``svcpolicy check … | head``) leaves the run unfinished, so it gets neither a verdict nor an error: the code
of a Unix tool stopped by SIGPIPE (128 + 13), which ``set -o pipefail`` scripts already know; a run stopped by
Ctrl-C, likewise, gets the code of a tool stopped by SIGINT (128 + 2).
"""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141
