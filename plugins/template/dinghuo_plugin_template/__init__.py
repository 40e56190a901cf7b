"""A Dinghuo plugin. Keep this file free of imports: the platform imports
``plugin.py`` while its settings load, before Django is set up."""
