"""lightly-run: GitOps for the Lightly data-curation platform."""

__version__ = "0.1.0"
