"""syndication-worker: partner articles in, one clean canonical article out, delivered once per version."""

__version__ = "0.1.0"
