"""Spreadsheet import and export, shared by every app.

An *import kind* (:class:`core.imports.spec.ImportKind`) declares its columns
and how to validate and apply rows; this package does the rest for every kind:
reading ``.xlsx`` (openpyxl) and CSV, a downloadable template, row-by-row
typed errors naming the row and column, all-or-nothing application in one
transaction, an :class:`~core.imports.models.ImportJob` with status and
progress that a Celery task advances (the console polls it), and export in the
same columns (so an export, edited, imports back).

Register a kind in your app's ``AppConfig.ready``::

    from core.imports.registry import register
    register(PriceImport())

Built-in kinds: ``products`` and ``dealers`` (:mod:`core.imports.kinds`).
"""
