"""Search backends: :mod:`.postgres` (default) and :mod:`.elasticsearch`."""
