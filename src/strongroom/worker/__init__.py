"""The worker face: the job functions (:mod:`.tasks`) and the processes that run them (:mod:`.run`).

Like the command line, a face: it opens the node and calls its services, never the catalog or the store.
"""
