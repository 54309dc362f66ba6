"""Exit codes shared by every command: 0 clean, 1 findings that fail the gate, 2 errors, 3 a crash.

A crash has its own code so that CI can tell a bug in svcpolicy from a finding or a bad input.
"""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
