"""PREMIS 3 XML for an AU's event log, written into exported bags so the history travels with the content."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
P = f"{{{PREMIS_NS}}}"


@dataclass(frozen=True)
class PremisEvent:
    uuid: str
    type: str
    time: dt.datetime
    outcome: str
    detail: str
    agent: str


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, P + name)
    if text is not None:
        el.text = text
    return el


def premis_xml(object_id: str, events: Sequence[PremisEvent]) -> bytes:
    """A PREMIS document: the intellectual entity (the OCFL object), its events in time order, their agents."""
    root = etree.Element(P + "premis", nsmap={"premis": PREMIS_NS, "xsi": XSI_NS})
    root.set("version", "3.0")
    obj = _sub(root, "object")
    obj.set(f"{{{XSI_NS}}}type", "premis:intellectualEntity")
    oid = _sub(obj, "objectIdentifier")
    _sub(oid, "objectIdentifierType", "OCFL object id")
    _sub(oid, "objectIdentifierValue", object_id)
    for ev in sorted(events, key=lambda e: (e.time, e.uuid)):
        el = _sub(root, "event")
        eid = _sub(el, "eventIdentifier")
        _sub(eid, "eventIdentifierType", "UUID")
        _sub(eid, "eventIdentifierValue", ev.uuid)
        _sub(el, "eventType", ev.type)
        _sub(el, "eventDateTime", ev.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"))
        if ev.detail:
            _sub(_sub(el, "eventDetailInformation"), "eventDetail", ev.detail)
        _sub(_sub(el, "eventOutcomeInformation"), "eventOutcome", ev.outcome)
        agent = _sub(el, "linkingAgentIdentifier")
        _sub(agent, "linkingAgentIdentifierType", "local")
        _sub(agent, "linkingAgentIdentifierValue", ev.agent)
        link = _sub(el, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", "OCFL object id")
        _sub(link, "linkingObjectIdentifierValue", object_id)
    for name in sorted({ev.agent for ev in events}):
        agent_el = _sub(root, "agent")
        aid = _sub(agent_el, "agentIdentifier")
        _sub(aid, "agentIdentifierType", "local")
        _sub(aid, "agentIdentifierValue", name)
        _sub(agent_el, "agentName", name)
        _sub(agent_el, "agentType", "software")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
