"""Report writers: text, JSON, SARIF, JUnit, CI formats, HTML, and the auditors' pandas frames and charts."""
