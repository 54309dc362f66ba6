"""The release number, in one place: the package, the CLI and every report writer read it from here."""

__version__ = "0.1.0"
