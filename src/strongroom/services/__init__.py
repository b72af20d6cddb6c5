"""Use cases of a node (deposit, audit, export, reindex), called by the faces through :class:`~strongroom.node.Node`."""
