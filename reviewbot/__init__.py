"""reviewbot: an AI pull-request reviewer for GitHub."""

__version__ = "0.1.0"
