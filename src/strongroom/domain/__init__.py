"""The pure core: identifiers, the model's vocabularies, fixity outcomes and metadata records.

Nothing in this package performs I/O or imports from the rest of ``strongroom`` (a test enforces it).
"""
