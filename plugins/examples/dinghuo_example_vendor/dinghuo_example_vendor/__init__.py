"""An example Dinghuo plugin from a third-party vendor.

Nothing is imported here: the platform imports the hooks module
(``dinghuo_example_vendor.plugin``) while its settings load, before Django is
set up.
"""
