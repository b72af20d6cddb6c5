"""The peer network: membership, authenticated messages, polls and repair between nodes, and the simulation
that sizes the network's policy with the same tally code."""
