"""The ``strongroom`` command line: translates arguments to Node calls and results to text or JSON."""
