"""The application layer: every use case of a node, one class each (or a plain function for administrators'
tasks that need no node), built by the composition root (:class:`~strongroom.node.Node`) with the narrow
dependencies it needs. Faces reach them as ``node.<service>.<use case>(...)``.

Must not import: the composition root, any face.
"""
