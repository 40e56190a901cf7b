"""The built-in auto parts plugin: vehicles, fitment, OE numbers and cross-references,
and look-ups by vehicle, part number or VIN returning the dealer's orderable parts.

Nothing is imported here: the platform imports the hooks module
(``plugins.autoparts.plugin``) while its settings load, before Django is set up.
"""
