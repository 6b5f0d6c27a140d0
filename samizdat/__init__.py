"""samizdat: preserve campaign blogs and online magazines, and make them searchable."""

__version__ = "0.1.0"
