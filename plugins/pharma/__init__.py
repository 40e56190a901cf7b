"""Pharma (GSP): batches with expiry, FEFO allocation, shelf-life rules, dealer licences
and recall traces. A built-in Dinghuo plugin (entry point ``pharma = "plugins.pharma.plugin"``).

Nothing is imported here: the platform imports the hooks module while its settings load.
"""
