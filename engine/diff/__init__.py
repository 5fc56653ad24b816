"""Differences between two runs: their networks (`network_diff`) and their settings (`settings_diff`).

Both work on what a run stores (the network's project JSON and the settings JSON), import neither
torch nor Qt, and return plain data the studio draws and tests read.
"""
