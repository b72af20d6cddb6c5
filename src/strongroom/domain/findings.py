"""The registry of finding codes: every problem a package check or an audit can report has a stable code.

``docs/findings.md`` documents each code; a test fails when the two drift apart.
"""

from __future__ import annotations

FINDING_CODES: dict[str, str] = {
    # Package safety (checked before anything else is read).
    "P001": "a path in the package escapes it (`..`, an absolute path, or a drive letter)",
    "P002": "the package holds a symbolic link, hard link, device or other special file",
    "P003": "the archive would expand beyond the size or ratio limits (a zip bomb)",
    "P004": "the archive is truncated or corrupt and cannot be read",
    "P005": "the archive holds more entries than the limit",
    "P006": "two entries in the package have the same path (or differ only in case)",
    "P007": "a name in the package is not UTF-8 text",
    # Package form.
    "P010": "the path is not a package Strongroom recognises (BagIt bag, JASPER ZIP, or JATS directory)",
    "P011": "the package holds no payload files",
    # Checksums and manifests.
    "P020": "a file's checksum does not match the manifest",
    "P021": "a file listed in the manifest is missing from the payload",
    "P022": "a payload file is not listed in the manifest",
    "P023": "the bag's declaration or manifest is missing or malformed",
    "P024": "the manifest uses a checksum algorithm Strongroom does not accept",
    # XML and JATS.
    "P030": "an XML file is not well-formed",
    "P031": "an XML file declares entities or a DTD subset (forbidden: entity expansion and external entities)",
    "P032": "a JATS file lacks required metadata",
    "P033": "a JATS file is not a JATS article",
    # Formats.
    "P040": "a file's content does not match its name (for example a `.pdf` that is not a PDF)",
    "P041": "a PDF is truncated or damaged",
    # JASPER and metadata.
    "P050": "`identifiers.csv` is missing or malformed",
    "P051": "the package lacks metadata that no option supplied",
    "P052": "an identifier in the package is invalid (ISSN, ISBN, DOI or ORCID)",
    "P053": "a Strongroom export's deposit record is unreadable or does not describe the bag's files",
    "P060": "an OJS package's Native XML fails the schema bundled in the package (or that schema is missing or "
    "cannot be loaded)",
    "P061": "a file the OJS Native XML references is missing from the bag",
    "P062": "an OJS PKP Preservation Network bag holds no Native XML export",
    "P054": "a package a publisher's staff deposit names another publisher, or adds to a title held under another",
    # Audit.
    "A001": "a stored file's digest differs from the inventory (damaged)",
    "A002": "a file named in the inventory is missing from storage",
    "A003": "a stored file could not be read",
    "A004": "a file in the object is not named in any inventory (unexpected)",
    "A005": "an inventory does not match its sidecar digest, or cannot be parsed",
    "A006": "the catalog's digest or size for a file differs from the inventory",
    "A007": "the catalog lists a file that the inventory's head version lacks, or the other way round",
    "A008": "the AU is in the catalog but its OCFL object is missing",
    "A009": "an OCFL object in storage was not in the catalog (catalogued by the audit, or flagged if it cannot be)",
    "A010": "an object's root inventory differs from its head version's copy (OCFL E064)",
}
