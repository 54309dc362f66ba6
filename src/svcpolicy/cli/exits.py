"""Exit codes shared by every command: 0 clean, 1 findings that fail the gate, 2 errors."""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
