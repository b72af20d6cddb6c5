"""Harvesting publishers' web sites into WARC files inside OCFL objects, as CLOCKSS collects."""
